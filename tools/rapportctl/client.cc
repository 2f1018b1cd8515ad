#include "tools/rapportctl/client.h"

#include <cstdio>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_replace.h"
#include "common/auth/auth.h"
#include "common/server/server.h"
#include "tools/rapportctl/print.h"

namespace rapport::ctl {

CallOptions TakeCallOptions(Args* args, const config::Config& config,
                            absl::Duration default_timeout) {
  CallOptions options;
  options.target = args->Flag("target", config.profile_addr);
  options.timeout = args->TakeTimeout(default_timeout);
  options.json = args->Switch("json");
  return options;
}

absl::StatusOr<ProfileClient> ProfileClient::Connect(
    const config::Config& config, const CallOptions& options) {
  absl::StatusOr<std::shared_ptr<grpc::Channel>> channel =
      server::MakeChannel(config, options.target);
  if (!channel.ok()) return channel.status();
  return ProfileClient(config, options,
                       rapport::profile::v1::ProfileService::NewStub(*channel));
}

std::unique_ptr<grpc::ClientContext> ProfileClient::NewContext() const {
  auto ctx = std::make_unique<grpc::ClientContext>();
  ctx->set_deadline(absl::ToChronoTime(absl::Now() + options_.timeout));
  auth::AttachApiKey(ctx.get(), api_key_);
  return ctx;
}

std::string StatusCodeName(grpc::StatusCode code) {
  // grpc::StatusCode and absl::StatusCode share their numbering.
  return absl::StatusCodeToString(static_cast<absl::StatusCode>(code));
}

std::string FormatRpcError(const grpc::Status& status) {
  std::string message =
      absl::StrReplaceAll(status.error_message(), {{"\r", " "}, {"\n", " "}});
  if (message.empty()) {
    message = status.error_code() == grpc::StatusCode::DEADLINE_EXCEEDED
                  ? "no answer before the deadline (see --timeout-ms)"
                  : "no message";
  }
  return absl::StrCat(StatusCodeName(status.error_code()), ": ", message);
}

int ReportRpcError(const grpc::Status& status) {
  std::fprintf(stderr, "%s\n", FormatRpcError(status).c_str());
  return 1;
}

int PrintJson(const google::protobuf::Message& message) {
  absl::StatusOr<std::string> json = ToJson(message);
  if (!json.ok()) {
    std::fprintf(stderr, "rapportctl: %s\n",
                 Str(json.status().message()).c_str());
    return 1;
  }
  std::fputs(json->c_str(), stdout);
  if (json->empty() || json->back() != '\n') std::fputc('\n', stdout);
  return 0;
}

}  // namespace rapport::ctl
