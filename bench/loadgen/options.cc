#include "bench/loadgen/options.h"

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"

namespace rapport::loadgen {
namespace {

absl::Status FlagError(absl::string_view flag, absl::string_view why) {
  return absl::InvalidArgumentError(absl::StrCat("--", flag, ": ", why));
}

absl::StatusOr<int64_t> ParseInt(absl::string_view flag,
                                 absl::string_view value, int64_t min,
                                 int64_t max) {
  int64_t out = 0;
  if (!absl::SimpleAtoi(value, &out) || out < min || out > max) {
    return FlagError(
        flag, absl::StrCat("\"", value, "\" is not a whole number from ", min,
                           " to ", max));
  }
  return out;
}

// Seconds, fractions allowed ("0.5"), within [min, max].
absl::StatusOr<absl::Duration> ParseSeconds(absl::string_view flag,
                                            absl::string_view value, double min,
                                            double max) {
  double out = 0;
  if (!absl::SimpleAtod(value, &out) || !(out >= min) || out > max) {
    return FlagError(
        flag, absl::StrCat("\"", value, "\" is not a number of seconds from ",
                           min, " to ", max));
  }
  return absl::Seconds(out);
}

bool IsBoolFlag(absl::string_view name) {
  return name == "json" || name == "list-methods" || name == "help" ||
         name == "h";
}

}  // namespace

absl::StatusOr<Options> ParseOptions(const std::vector<std::string>& args) {
  Options o;
  for (size_t i = 0; i < args.size(); ++i) {
    const std::string& arg = args[i];
    if (arg == "-h") {
      o.help = true;
      continue;
    }
    if (!absl::StartsWith(arg, "--") || arg.size() == 2) {
      return absl::InvalidArgumentError(
          absl::StrCat("unexpected argument \"", arg, "\" (see --help)"));
    }
    absl::string_view name = absl::string_view(arg).substr(2);
    std::optional<std::string> value;
    if (const size_t eq = name.find('='); eq != absl::string_view::npos) {
      value.emplace(name.substr(eq + 1));
      name = name.substr(0, eq);
    }
    if (IsBoolFlag(name)) {
      if (value.has_value() && *value != "true" && *value != "1") {
        if (*value != "false" && *value != "0") {
          return FlagError(name, "takes no value (or =true/=false)");
        }
        continue;
      }
      if (name == "json") o.json = true;
      if (name == "list-methods") o.list_methods = true;
      if (name == "help" || name == "h") o.help = true;
      continue;
    }
    if (!value.has_value()) {
      if (i + 1 >= args.size()) return FlagError(name, "needs a value");
      value = args[++i];
    }
    const std::string& v = *value;
    if (name == "target") {
      if (v.empty()) return FlagError(name, "must not be empty");
      o.target = v;
    } else if (name == "method") {
      o.method = v;
    } else if (name == "request") {
      o.request_json = v;
    } else if (name == "request-file") {
      if (v.empty()) return FlagError(name, "must not be empty");
      o.request_file = v;
    } else if (name == "request-lines") {
      if (v.empty()) return FlagError(name, "must not be empty");
      o.request_lines = v;
    } else if (name == "vary") {
      if (v.empty()) return FlagError(name, "must not be empty");
      o.vary.push_back(v);
    } else if (name == "variants") {
      auto n = ParseInt(name, v, 1, int64_t{1} << 62);
      if (!n.ok()) return n.status();
      o.variants = static_cast<uint64_t>(*n);
    } else if (name == "window") {
      auto n = ParseInt(name, v, 1, 1024);
      if (!n.ok()) return n.status();
      o.window = static_cast<int>(*n);
    } else if (name == "item-error-field") {
      o.item_error_field = v;
    } else if (name == "payload-bytes") {
      auto n = ParseInt(name, v, 0, 64 << 20);
      if (!n.ok()) return n.status();
      o.payload_bytes = *n;
    } else if (name == "concurrency") {
      auto n = ParseInt(name, v, 1, 10000);
      if (!n.ok()) return n.status();
      o.concurrency = static_cast<int>(*n);
    } else if (name == "channels") {
      auto n = ParseInt(name, v, 1, 1000);
      if (!n.ok()) return n.status();
      o.channels = static_cast<int>(*n);
    } else if (name == "duration") {
      auto d = ParseSeconds(name, v, 0.001, 86400);
      if (!d.ok()) return d.status();
      o.duration = *d;
    } else if (name == "warmup") {
      auto d = ParseSeconds(name, v, 0, 3600);
      if (!d.ok()) return d.status();
      o.warmup = *d;
    } else if (name == "deadline-ms") {
      auto n = ParseInt(name, v, 0, 3'600'000);
      if (!n.ok()) return n.status();
      o.deadline = absl::Milliseconds(*n);
    } else {
      return absl::InvalidArgumentError(
          absl::StrCat("unknown flag --", name, " (see --help)"));
    }
  }
  if (o.request_json.has_value() && o.request_file.has_value()) {
    return FlagError("request-file",
                     "give --request or --request-file, not both");
  }
  if (o.request_lines.has_value() &&
      (o.request_json.has_value() || o.request_file.has_value())) {
    return FlagError("request-lines",
                     "give one of --request, --request-file, --request-lines");
  }
  if (o.payload_bytes.has_value() &&
      (o.request_json.has_value() || o.request_file.has_value() ||
       o.request_lines.has_value())) {
    return FlagError("payload-bytes",
                     "only when --request, --request-file and "
                     "--request-lines are absent");
  }
  if (o.variants > 0 && o.vary.empty()) {
    return FlagError("variants", "only with --vary");
  }
  return o;
}

std::string Usage() {
  return R"(usage: rapport-loadgen [flags]

Closed-loop load generator for any unary or bidirectional-streaming RPC of
the project: keeps --concurrency calls (or streams of up to --window
requests each) in flight over --channels connections for --warmup (not
counted) then --duration seconds, and reports calls (stream messages), QPS,
exact latency percentiles of successful calls, and errors by status code.

  --target host:port      server to load (default 127.0.0.1:50050, echo-server)
  --method NAME           pkg.Service/Method, e.g. rapport.bench.v1.EchoService/Echo
                          (the default) or /rapport.scoring.v1.ScoringService/ScoreMessage
  --request JSON          the request in proto3 JSON (bytes fields are base64)
  --request-file FILE     the same, read from FILE ("-": stdin)
  --request-lines FILE    JSON Lines: one request per line, rotated per call
  --payload-bytes N       without --request: fill the request's bytes field
                          "payload" with N bytes (Echo)
  --vary FIELD            append " [<19-digit number>]", unique per call, to
                          this string field (e.g. message.body); repeatable
  --variants K            with --vary: K distinct numbers, then they repeat
                          (default: never repeat)
  --concurrency N         calls in flight; streams for a streaming method
                          (default 16)
  --channels N            distinct connections (default 4)
  --window W              streams: requests in flight per stream (default 1)
  --item-error-field F    streams: a response with field F set is a failed
                          item (default: "error" if the response has it;
                          "none": off)
  --duration S            measured seconds, fractions allowed (default 10)
  --warmup S              seconds run before measuring (default 1)
  --deadline-ms N         per-call deadline, unary only (default 0: none)
  --json                  print one JSON object instead of text
  --list-methods          print the methods it can drive and exit

Exit status: 0 when at least one call succeeded, 1 when every call failed,
2 for a bad flag, method or request.

Project settings also apply, from the environment or these flags:
)";
}

}  // namespace rapport::loadgen
