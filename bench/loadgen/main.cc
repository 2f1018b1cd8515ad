// rapport-loadgen: closed-loop load for any unary or bidirectional-streaming
// RPC of the project.
// See bench/README.md and `rapport-loadgen --help`.

#include <google/protobuf/text_format.h>
#include <grpcpp/grpcpp.h>

#include <cstdio>
#include <fstream>
#include <iomanip>
#include <iostream>
#include <iterator>
#include <memory>
#include <random>
#include <sstream>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "bench/loadgen/item_error.h"
#include "bench/loadgen/method.h"
#include "bench/loadgen/options.h"
#include "bench/loadgen/report.h"
#include "bench/loadgen/request_source.h"
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

absl::StatusOr<std::string> ReadFile(absl::string_view flag,
                                     const std::string& path) {
  if (path == "-") {
    return std::string(std::istreambuf_iterator<char>(std::cin), {});
  }
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    return absl::InvalidArgumentError(
        absl::StrCat("--", flag, ": cannot read \"", path, "\""));
  }
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

// The serialized requests the options describe (several with
// --request-lines).
absl::StatusOr<std::vector<std::string>> BuildRequests(
    const Options& options, const google::protobuf::MethodDescriptor& method) {
  if (options.request_lines.has_value()) {
    auto text = ReadFile("request-lines", *options.request_lines);
    if (!text.ok()) return text.status();
    return ParseRequestLines(method, *text);
  }
  absl::StatusOr<std::string> wire = std::string();  // every field default
  if (options.request_file.has_value()) {
    auto json = ReadFile("request-file", *options.request_file);
    if (!json.ok()) return json.status();
    wire = SerializeJsonRequest(method, *json);
    if (!wire.ok()) {
      // Same parser, but the user should fix the file, not --request.
      return absl::InvalidArgumentError(absl::StrCat(
          "--request-file: ",
          wire.status().message().substr(sizeof("--request: ") - 1)));
    }
  } else if (options.request_json.has_value()) {
    wire = SerializeJsonRequest(method, *options.request_json);
  } else if (options.payload_bytes.has_value()) {
    wire = SerializePayloadRequest(method, *options.payload_bytes);
  }
  if (!wire.ok()) return wire.status();
  return std::vector<std::string>{*std::move(wire)};
}

// Flags that only make sense for one kind of method.
absl::Status CheckFlagsFitMethod(const Options& options, const Method& method) {
  const std::string name = method.path.substr(1);
  if (method.bidi_streaming) {
    if (options.deadline > absl::ZeroDuration()) {
      return absl::InvalidArgumentError(
          absl::StrCat("--deadline-ms: applies to unary calls; ", name,
                       " is a stream that stays open for the whole run"));
    }
    return absl::OkStatus();
  }
  for (const auto& [flag, given] :
       {std::pair<const char*, bool>{"window", options.window.has_value()},
        {"item-error-field", options.item_error_field.has_value()}}) {
    if (given) {
      return absl::InvalidArgumentError(absl::StrCat(
          "--", flag, ": applies to bidirectional-streaming methods; ", name,
          " is unary"));
    }
  }
  return absl::OkStatus();
}

// A random start for --vary's numbers, so one run does not replay another's
// requests into a warm cache.
uint64_t RandomStampOffset() {
  std::random_device device;
  const uint64_t r = (uint64_t{device()} << 32) ^ device();
  return r % 1'000'000'000'000'000'000ULL;  // < 10^18
}

// The first response reports a failed item: say what it is, since every
// later one like it will count as an error.
void WarnFirstItemError(const google::protobuf::MethodDescriptor& method,
                        const std::string& response, int code) {
  MessageHolder message(method.output_type());
  std::string text;
  if (message.get().ParseFromString(response)) {
    google::protobuf::TextFormat::Printer printer;
    printer.SetSingleLineMode(true);
    printer.SetTruncateStringFieldLongerThan(200);
    printer.PrintToString(message.get(), &text);
  }
  std::fprintf(stderr,
               "rapport-loadgen: warning: the first response reports a failed "
               "item (%s): %s; every such response counts as an error\n",
               StatusCodeName(code).c_str(), text.c_str());
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
  // As in the servers (server::Runtime): Debian's Abseil checks every lock
  // for deadlock cycles by default, a process-wide spinlock per lock that
  // the load generator would otherwise pay on every call.
#ifdef NDEBUG
  absl::SetMutexDeadlockDetectionMode(absl::OnDeadlockCycle::kIgnore);
#endif
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
    for (const std::string& m : CompiledInMethods()) {
      std::cout << m << "\n";
    }
    return 0;
  }

  auto method = ResolveMethod(options.method);
  if (!method.ok()) return Fail(kExitUsage, method.status().message());
  if (absl::Status st = CheckFlagsFitMethod(options, *method); !st.ok()) {
    return Fail(kExitUsage, st.message());
  }
  auto requests = BuildRequests(options, *method->descriptor);
  if (!requests.ok()) return Fail(kExitUsage, requests.status().message());
  const auto request_count = static_cast<int64_t>(requests->size());
  auto source = RequestSource::Create(
      *method->descriptor->input_type(), *std::move(requests),
      VaryOptions{options.vary, options.variants, RandomStampOffset()});
  if (!source.ok()) return Fail(kExitUsage, source.status().message());
  absl::StatusOr<ItemErrorDetector> item_errors = ItemErrorDetector();
  if (method->bidi_streaming) {
    item_errors = ItemErrorDetector::Create(*method->descriptor->output_type(),
                                            options.item_error_field);
    if (!item_errors.ok()) {
      return Fail(kExitUsage, item_errors.status().message());
    }
  }

  RunConfig run;
  run.method_path = method->path;
  run.requests = source->get();
  run.bidi_streaming = method->bidi_streaming;
  run.window = options.window.value_or(1);
  run.item_errors = &*item_errors;
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
    if (auto code = item_errors->Find(response); code.has_value()) {
      WarnFirstItemError(*method->descriptor, response, *code);
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
  info.request_bytes = (*source)->mean_bytes();
  info.bidi_streaming = method->bidi_streaming;
  if (method->bidi_streaming) {
    info.window = run.window;
    info.item_error_field = item_errors->field();
  }
  info.vary = options.vary;
  info.variants = options.variants;
  if (options.request_lines.has_value()) info.request_lines = request_count;
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
