// rapportctl: the command-line client of the Rapport platform.
//
//   rapportctl health [--target host:port] [--service NAME]
//   rapportctl hash-key API_KEY [--tenant T --team TEAM --role ROLE]
//   rapportctl version
//
// Connection settings (TLS, API key) come from the same RAPPORT_* variables
// and flags as the services: --tls-ca-file, --tls-cert-file, --api-key, ...

#include <grpcpp/grpcpp.h>

#include <cstdio>
#include <iostream>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "common/auth/auth.h"
#include "common/config/config.h"
#include "common/server/server.h"
#include "health.grpc.pb.h"

namespace {

constexpr char kUsage[] = R"(usage: rapportctl COMMAND [flags]

commands:
  health [--target host:port] [--service NAME] [--timeout-ms N]
      grpc.health.v1 status of a server; exit 0 only when SERVING
  hash-key API_KEY [--tenant T] [--team TEAM] [--role ROLE] [--name LABEL]
      the keys-file entry (sha256 of the key) for RAPPORT_API_KEYS_FILE
  version
      the rapportctl version

connection flags (also from the environment, see the README):
  --api-key, --tls-ca-file, --tls-cert-file, --tls-key-file, --tls-server-name
)";

// Flags of a subcommand: "--name=value" or "--name value".
class Args {
 public:
  explicit Args(std::vector<std::string> args) : args_(std::move(args)) {}

  std::string Flag(absl::string_view name, std::string fallback = "") {
    const std::string prefix = absl::StrCat("--", name);
    for (size_t i = 0; i < args_.size(); ++i) {
      if (args_[i] == prefix && i + 1 < args_.size()) {
        std::string v = args_[i + 1];
        args_.erase(args_.begin() + static_cast<long>(i),
                    args_.begin() + static_cast<long>(i) + 2);
        return v;
      }
      if (absl::StartsWith(args_[i], prefix + "=")) {
        std::string v = args_[i].substr(prefix.size() + 1);
        args_.erase(args_.begin() + static_cast<long>(i));
        return v;
      }
    }
    return fallback;
  }

  // Remaining positional arguments; an unknown flag left over is an error.
  bool Positional(std::vector<std::string>* out) const {
    for (const std::string& a : args_) {
      if (absl::StartsWith(a, "--")) {
        std::fprintf(stderr, "rapportctl: unknown flag %s (see --help)\n",
                     a.c_str());
        return false;
      }
      out->push_back(a);
    }
    return true;
  }

 private:
  std::vector<std::string> args_;
};

int Health(const rapport::config::Config& config, Args args) {
  const std::string target = args.Flag("target", config.grpc_addr);
  const std::string service = args.Flag("service");
  int timeout_ms = 2000;
  if (const std::string t = args.Flag("timeout-ms"); !t.empty()) {
    timeout_ms = std::atoi(t.c_str());
    if (timeout_ms <= 0) {
      std::fprintf(stderr,
                   "rapportctl: --timeout-ms must be a positive "
                   "number of milliseconds\n");
      return 2;
    }
  }
  std::vector<std::string> rest;
  if (!args.Positional(&rest)) return 2;

  auto channel = rapport::server::MakeChannel(config, target);
  if (!channel.ok()) {
    std::fprintf(stderr, "rapportctl: %s\n",
                 std::string(channel.status().message()).c_str());
    return 2;
  }
  auto stub = grpc::health::v1::Health::NewStub(*channel);
  grpc::ClientContext ctx;
  ctx.set_deadline(std::chrono::system_clock::now() +
                   std::chrono::milliseconds(timeout_ms));
  rapport::auth::AttachApiKey(&ctx, config.api_key);
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

int HashKey(Args args) {
  const std::string tenant = args.Flag("tenant", "default");
  const std::string team = args.Flag("team");
  const std::string role = args.Flag("role", "writer");
  const std::string name = args.Flag("name");
  std::vector<std::string> rest;
  if (!args.Positional(&rest)) return 2;
  if (rest.size() != 1) {
    std::fprintf(stderr,
                 "usage: rapportctl hash-key API_KEY [--tenant T] "
                 "[--team TEAM] [--role ROLE] [--name LABEL]\n");
    return 2;
  }
  std::printf(
      "{\"sha256\": \"%s\", \"tenant\": \"%s\", \"team\": \"%s\", \"role\": "
      "\"%s\", \"name\": \"%s\"}\n",
      rapport::auth::Sha256Hex(rest[0]).c_str(), tenant.c_str(), team.c_str(),
      role.c_str(), name.c_str());
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  std::vector<std::string> rest;
  const rapport::config::Config config = rapport::config::LoadOrDie(
      rapport::config::Service::kClient, argc, argv, &rest);
  if (rest.empty() || rest[0] == "--help" || rest[0] == "-h" ||
      rest[0] == "help") {
    std::fputs(kUsage, rest.empty() ? stderr : stdout);
    return rest.empty() ? 2 : 0;
  }
  const std::string command = rest[0];
  Args args(std::vector<std::string>(rest.begin() + 1, rest.end()));
  if (command == "health") return Health(config, std::move(args));
  if (command == "hash-key") return HashKey(std::move(args));
  if (command == "version") {
    std::printf("rapportctl %s\n", RAPPORT_VERSION);
    return 0;
  }
  std::fprintf(stderr, "rapportctl: unknown command \"%s\"\n\n%s",
               command.c_str(), kUsage);
  return 2;
}
