// rapportctl health and hash-key: used by the quick start, scripts/run.sh
// and the end-to-end tests; their output and exit codes are relied on.

#include <grpcpp/grpcpp.h>

#include <cstdio>
#include <string>
#include <vector>

#include "common/auth/auth.h"
#include "common/server/server.h"
#include "health.grpc.pb.h"
#include "tools/rapportctl/commands.h"

namespace rapport::ctl {

int RunHealth(const config::Config& config, Args args) {
  const std::string target = args.Flag("target", config.grpc_addr);
  const std::string service = args.Flag("service");
  const absl::Duration timeout = args.TakeTimeout(absl::Milliseconds(2000));
  std::vector<std::string> rest;
  if (!args.Finish(&rest)) return 2;

  auto channel = server::MakeChannel(config, target);
  if (!channel.ok()) {
    std::fprintf(stderr, "rapportctl: %s\n",
                 Str(channel.status().message()).c_str());
    return 2;
  }
  auto stub = grpc::health::v1::Health::NewStub(*channel);
  grpc::ClientContext ctx;
  ctx.set_deadline(absl::ToChronoTime(absl::Now() + timeout));
  auth::AttachApiKey(&ctx, config.api_key);
  grpc::health::v1::HealthCheckRequest request;
  request.set_service(service);
  grpc::health::v1::HealthCheckResponse response;
  const grpc::Status status = stub->Check(&ctx, request, &response);
  if (!status.ok()) {
    std::printf("%s: %s\n", target.c_str(),
                status.error_code() == grpc::StatusCode::UNAVAILABLE
                    ? "UNREACHABLE"
                    : status.error_message().c_str());
    return 1;
  }
  const std::string& name =
      grpc::health::v1::HealthCheckResponse::ServingStatus_Name(
          response.status());
  std::printf("%s\n", name.c_str());
  return response.status() == grpc::health::v1::HealthCheckResponse::SERVING
             ? 0
             : 1;
}

int RunHashKey(Args args) {
  const std::string tenant = args.Flag("tenant", "default");
  const std::string team = args.Flag("team");
  const std::string role = args.Flag("role", "writer");
  const std::string name = args.Flag("name");
  std::vector<std::string> rest;
  if (!args.Finish(&rest)) return 2;
  if (rest.size() != 1) {
    std::fprintf(stderr,
                 "usage: rapportctl hash-key API_KEY [--tenant T] "
                 "[--team TEAM] [--role ROLE] [--name LABEL]\n");
    return 2;
  }
  std::printf(
      "{\"sha256\": \"%s\", \"tenant\": \"%s\", \"team\": \"%s\", \"role\": "
      "\"%s\", \"name\": \"%s\"}\n",
      auth::Sha256Hex(rest[0]).c_str(), tenant.c_str(), team.c_str(),
      role.c_str(), name.c_str());
  return 0;
}

}  // namespace rapport::ctl
