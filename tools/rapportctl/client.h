#pragma once

// What every RPC command shares: where to connect (--target, defaulting to
// RAPPORT_PROFILE_ADDR / --profile-addr), the per-call deadline
// (--timeout-ms), --json, a client context carrying the API key, and the
// one-line error report ("NOT_FOUND: ...", exit 1).

#include <grpcpp/grpcpp.h>

#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "common/config/config.h"
#include "rapport/profile/v1/profile.grpc.pb.h"
#include "tools/rapportctl/flags.h"

namespace rapport::ctl {

inline constexpr absl::Duration kDefaultTimeout = absl::Seconds(10);

struct CallOptions {
  std::string target;
  absl::Duration timeout = kDefaultTimeout;
  bool json = false;
};

// Takes --target, --timeout-ms and --json out of `args`.
CallOptions TakeCallOptions(Args* args, const config::Config& config,
                            absl::Duration default_timeout = kDefaultTimeout);

// A ProfileService stub on a channel built with the configured TLS settings.
class ProfileClient {
 public:
  // Fails only on bad TLS settings (unreadable files); connecting is lazy.
  static absl::StatusOr<ProfileClient> Connect(const config::Config& config,
                                               const CallOptions& options);

  // A context with the deadline (now + timeout) and the API key.
  std::unique_ptr<grpc::ClientContext> NewContext() const;

  rapport::profile::v1::ProfileService::Stub& stub() const { return *stub_; }
  const CallOptions& options() const { return options_; }

 private:
  ProfileClient(
      const config::Config& config, CallOptions options,
      std::unique_ptr<rapport::profile::v1::ProfileService::Stub> stub)
      : api_key_(config.api_key),
        options_(std::move(options)),
        stub_(std::move(stub)) {}

  std::string api_key_;
  CallOptions options_;
  std::unique_ptr<rapport::profile::v1::ProfileService::Stub> stub_;
};

// "NOT_FOUND", "INVALID_ARGUMENT", ...
std::string StatusCodeName(grpc::StatusCode code);

// "NOT_FOUND: contact \"x\" does not exist" on one line.
std::string FormatRpcError(const grpc::Status& status);

// Prints FormatRpcError to stderr; returns the exit code 1.
int ReportRpcError(const grpc::Status& status);

// Prints `message` as JSON to stdout; returns the exit code (1 if it could
// not be printed).
int PrintJson(const google::protobuf::Message& message);

}  // namespace rapport::ctl
