// rapport-loadgen: closed-loop load for any unary RPC of the project.
// See bench/README.md and `rapport-loadgen --help`.

#include <grpcpp/grpcpp.h>

#include <cstdio>
#include <fstream>
#include <iomanip>
#include <iostream>
#include <iterator>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "bench/loadgen/method.h"
#include "bench/loadgen/options.h"
#include "bench/loadgen/report.h"
#include "bench/loadgen/runner.h"
#include "bench/loadgen/stats.h"
#include "common/config/config.h"
#include "common/log/log.h"
#include "common/server/server.h"

namespace rapport::loadgen {
namespace {

constexpr int kExitAllFailed = 1;
constexpr int kExitUsage = 2;
constexpr absl::Duration kConnectTimeout = absl::Seconds(10);

int Fail(int code, absl::string_view message) {
  std::fprintf(stderr, "rapport-loadgen: %.*s\n",
               static_cast<int>(message.size()), message.data());
  return code;
}

void PrintHelp() {
  std::cout << Usage();
  for (const config::SettingInfo& s : config::Settings()) {
    // The rest of the table configures servers.
    const bool client_side =
        (absl::StartsWith(s.flag, "tls-") && s.flag != "tls-client-ca-file") ||
        s.flag == "api-key" || s.flag == "log-level" ||
        s.flag == "max-message-bytes";
    if (!client_side) continue;
    std::cout << "  --" << std::left << std::setw(20) << s.flag << " "
              << std::setw(28) << s.env << " " << s.help << "\n";
  }
}

absl::StatusOr<std::string> ReadRequestFile(const std::string& path) {
  if (path == "-") {
    return std::string(std::istreambuf_iterator<char>(std::cin), {});
  }
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    return absl::InvalidArgumentError(
        absl::StrCat("--request-file: cannot read \"", path, "\""));
  }
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

// The serialized request the options describe.
absl::StatusOr<std::string> BuildRequest(
    const Options& options, const google::protobuf::MethodDescriptor& method) {
  if (options.request_file.has_value()) {
    auto json = ReadRequestFile(*options.request_file);
    if (!json.ok()) return json.status();
    auto wire = SerializeJsonRequest(method, *json);
    if (!wire.ok()) {
      // Same parser, but the user should fix the file, not --request.
      return absl::InvalidArgumentError(absl::StrCat(
          "--request-file: ",
          wire.status().message().substr(sizeof("--request: ") - 1)));
    }
    return wire;
  }
  if (options.request_json.has_value()) {
    return SerializeJsonRequest(method, *options.request_json);
  }
  if (options.payload_bytes.has_value()) {
    return SerializePayloadRequest(method, *options.payload_bytes);
  }
  return std::string();  // the input type with every field at its default
}

// Distinct connections: gRPC shares subchannels (and so TCP connections)
// between channels with equal arguments unless each has its own pool; the
// per-channel index makes the arguments differ as well.
absl::StatusOr<std::vector<std::shared_ptr<grpc::Channel>>> MakeChannels(
    const config::Config& config, const Options& options) {
  std::vector<std::shared_ptr<grpc::Channel>> channels;
  const int n = std::min(options.channels, options.concurrency);
  for (int i = 0; i < n; ++i) {
    grpc::ChannelArguments args;
    args.SetInt(GRPC_ARG_USE_LOCAL_SUBCHANNEL_POOL, 1);
    args.SetInt("rapport.loadgen.channel_index", i);
    // No retries: the load generator reports every failed call as it
    // happened (MakeChannel's default config would retry UNAVAILABLE).
    args.SetServiceConfigJSON(
        R"({"loadBalancingConfig": [{"pick_first": {}}]})");
    auto channel = server::MakeChannel(config, options.target, args);
    if (!channel.ok()) {
      return absl::InvalidArgumentError(
          absl::StrCat("--target: ", channel.status().message()));
    }
    channels.push_back(*std::move(channel));
  }
  for (auto& channel : channels) channel->GetState(/*try_to_connect=*/true);
  const auto deadline = absl::ToChronoTime(absl::Now() + kConnectTimeout);
  for (auto& channel : channels) {
    if (!channel->WaitForConnected(deadline)) {
      return absl::UnavailableError(
          absl::StrCat("--target: no connection to ", options.target,
                       " within ", absl::FormatDuration(kConnectTimeout),
                       " (is the server up? do the TLS settings match?)"));
    }
  }
  return channels;
}

int Main(int argc, char** argv) {
  std::vector<std::string> rest;
  const config::Config config =
      config::LoadOrDie(config::Service::kClient, argc, argv, &rest);
  auto parsed = ParseOptions(rest);
  if (!parsed.ok()) return Fail(kExitUsage, parsed.status().message());
  const Options& options = *parsed;
  if (options.help) {
    PrintHelp();
    return 0;
  }
  log::Init("rapport-loadgen", config.log_level);
  if (options.list_methods) {
    for (const std::string& m : CompiledInUnaryMethods()) {
      std::cout << m << "\n";
    }
    return 0;
  }

  auto method = ResolveUnaryMethod(options.method);
  if (!method.ok()) return Fail(kExitUsage, method.status().message());
  auto request = BuildRequest(options, *method->descriptor);
  if (!request.ok()) return Fail(kExitUsage, request.status().message());

  RunConfig run;
  run.method_path = method->path;
  run.request = *std::move(request);
  run.concurrency = options.concurrency;
  run.warmup = options.warmup;
  run.duration = options.duration;
  run.deadline = options.deadline;
  run.api_key = config.api_key;

  auto channels = MakeChannels(config, options);
  if (!channels.ok()) {
    return Fail(channels.status().code() == absl::StatusCode::kUnavailable
                    ? kExitAllFailed
                    : kExitUsage,
                channels.status().message());
  }

  // One call first, its response parsed: a wrong --method fails here with a
  // message instead of as a run full of errors.
  std::string response;
  const grpc::Status first =
      CallOnce(channels->front(), run, kConnectTimeout, &response);
  if (first.error_code() == grpc::StatusCode::UNIMPLEMENTED) {
    return Fail(kExitUsage,
                absl::StrCat("--method: ", options.target, " does not serve ",
                             run.method_path,
                             " (UNIMPLEMENTED: ", first.error_message(), ")"));
  }
  if (first.ok()) {
    if (absl::Status st = CheckResponse(*method->descriptor, response);
        !st.ok()) {
      return Fail(kExitUsage, st.message());
    }
  } else {
    std::fprintf(stderr,
                 "rapport-loadgen: warning: the first call failed (%s: %s); "
                 "running anyway\n",
                 StatusCodeName(first.error_code()).c_str(),
                 first.error_message().c_str());
  }

  const RunResult result = RunClosedLoop(*channels, run);
  const RunSummary summary = Merge(result.workers, result.measured_seconds);

  RunInfo info;
  info.method = run.method_path;
  info.target = options.target;
  info.concurrency = options.concurrency;
  info.channels = static_cast<int>(channels->size());
  info.warmup_s = absl::ToDoubleSeconds(options.warmup);
  info.duration_s = absl::ToDoubleSeconds(options.duration);
  info.request_bytes = static_cast<int64_t>(run.request.size());
  std::cout << (options.json ? FormatJson(info, summary)
                             : FormatText(info, summary))
            << std::flush;

  if (summary.ok == 0) {
    return Fail(kExitAllFailed, summary.calls == 0
                                    ? "no call completed in the window"
                                    : "every call failed");
  }
  return 0;
}

}  // namespace
}  // namespace rapport::loadgen

int main(int argc, char** argv) { return rapport::loadgen::Main(argc, argv); }
