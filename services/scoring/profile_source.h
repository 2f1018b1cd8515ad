#pragma once

// Where scoring-service gets the recipient's profile for a contact_id.
//
// First the profile profile-service stores in the shared Redis, through the
// process-local coherent cache (profile::ProfileReader: usually no round
// trip at all, else one pipelined HMGET; DESIGN.md "Performance notes"); on
// a miss or Redis trouble, profile-service itself over gRPC with a short
// deadline (it is authoritative for NOT_FOUND). When neither can answer,
// the caller scores without a profile and says so in the report
// (degradation PROFILE_UNAVAILABLE): a profile-service outage never fails a
// scoring request.

#include <grpcpp/grpcpp.h>

#include <memory>
#include <string>

#include "absl/functional/any_invocable.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "rapport/profile/v1/profile.grpc.pb.h"
#include "services/profile/reader.h"

namespace rapport::scoring {

class ProfileSource {
 public:
  struct Fetched {
    // Null when the profile could not be obtained (degraded).
    std::shared_ptr<const profile::v1::Profile> profile;
    // Why the profile is missing, for logs and metrics (OK when present).
    absl::Status unavailable;
  };
  // NOT_FOUND when the contact does not exist; otherwise the profile or a
  // degraded result. Never fails because a peer is down.
  using Done = absl::AnyInvocable<void(absl::StatusOr<Fetched>) &&>;

  // `channel` may be null: then only Redis is consulted.
  ProfileSource(profile::ProfileReader& reader,
                std::shared_ptr<grpc::Channel> channel, absl::Duration deadline,
                std::string api_key);

  // Calls `done` exactly once: inline (cached profile), on a Redis I/O
  // thread, or on a gRPC client thread.
  void Fetch(absl::string_view tenant, absl::string_view contact_id, Done done);

 private:
  // profile-service over gRPC, after Redis could not answer (`why`).
  void AskProfileService(std::string tenant, std::string contact_id,
                         absl::Status why, Done done);

  profile::ProfileReader& reader_;
  std::unique_ptr<profile::v1::ProfileService::Stub> stub_;
  const absl::Duration deadline_;
  const std::string api_key_;
};

}  // namespace rapport::scoring
