#include "bench/loadgen/report.h"

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "common/log/log.h"

namespace rapport::loadgen {
namespace {

double Micros(int64_t ns) { return static_cast<double>(ns) / 1000.0; }

}  // namespace

std::string FormatText(const RunInfo& info, const RunSummary& s) {
  const LatencySummary& l = s.latency;
  std::string out = absl::StrFormat(
      "method    %s\n"
      "target    %s  (channels %d, concurrency %d, request %d bytes)\n"
      "window    %.3g s measured after %.3g s warmup\n"
      "calls     %d  (ok %d, errors %d)\n"
      "qps       %.1f\n"
      "latency   p50 %.1f us  p90 %.1f us  p99 %.1f us  p99.9 %.1f us  "
      "max %.1f us  (exact, ok calls; min %.1f, mean %.1f)\n",
      info.method, info.target, info.channels, info.concurrency,
      info.request_bytes, s.seconds, info.warmup_s, s.calls, s.ok, s.errors,
      s.qps, Micros(l.p50_ns), Micros(l.p90_ns), Micros(l.p99_ns),
      Micros(l.p999_ns), Micros(l.max_ns), Micros(l.min_ns),
      l.mean_ns / 1000.0);
  if (!s.errors_by_code.empty()) {
    absl::StrAppend(&out, "errors   ");
    for (const auto& [code, count] : s.errors_by_code) {
      absl::StrAppend(&out, " ", code, " ", count);
    }
    absl::StrAppend(&out, "\n");
  }
  if (info.bidi_streaming) {
    absl::StrAppend(
        &out,
        absl::StrFormat("stream    window %d, %d streams opened (%d failed); "
                        "calls are messages; item errors %d (field %s)\n",
                        info.window, s.streams, s.streams_failed, s.item_errors,
                        info.item_error_field.empty() ? "none: not checked"
                                                      : info.item_error_field));
  }
  if (!info.vary.empty()) {
    absl::StrAppend(&out, "vary      ", absl::StrJoin(info.vary, ", "),
                    info.variants == 0
                        ? std::string(" (unique per call)")
                        : absl::StrCat(" (", info.variants, " variants)"),
                    "\n");
  }
  if (info.request_lines > 0) {
    absl::StrAppend(&out, "requests  ", info.request_lines,
                    " lines, rotated per call (request bytes: their mean)\n");
  }
  return out;
}

std::string FormatJson(const RunInfo& info, const RunSummary& s) {
  const LatencySummary& l = s.latency;
  std::string out = "{\"method\":";
  log::AppendJsonString(out, info.method);
  absl::StrAppend(&out, ",\"target\":");
  log::AppendJsonString(out, info.target);
  absl::StrAppend(
      &out,
      absl::StrFormat(
          ",\"concurrency\":%d,\"channels\":%d,\"warmup_s\":%g,\"duration_s\":%"
          "g,"
          "\"request_bytes\":%d,\"calls\":%d,\"ok\":%d,\"errors\":%d,"
          "\"qps\":%.1f,\"latency_us\":{\"min\":%.1f,\"mean\":%.1f,\"p50\":%."
          "1f,"
          "\"p90\":%.1f,\"p99\":%.1f,\"p999\":%.1f,\"max\":%.1f},"
          "\"errors_by_code\":{",
          info.concurrency, info.channels, info.warmup_s, info.duration_s,
          info.request_bytes, s.calls, s.ok, s.errors, s.qps, Micros(l.min_ns),
          l.mean_ns / 1000.0, Micros(l.p50_ns), Micros(l.p90_ns),
          Micros(l.p99_ns), Micros(l.p999_ns), Micros(l.max_ns)));
  bool first = true;
  for (const auto& [code, count] : s.errors_by_code) {
    if (!first) out += ',';
    first = false;
    log::AppendJsonString(out, code);
    absl::StrAppend(&out, ":", count);
  }
  absl::StrAppend(&out, "}");
  if (info.bidi_streaming) {
    absl::StrAppend(&out, ",\"mode\":\"bidi\",\"window\":", info.window,
                    ",\"item_error_field\":");
    log::AppendJsonString(out, info.item_error_field);
    absl::StrAppend(&out, ",\"streams\":", s.streams,
                    ",\"streams_failed\":", s.streams_failed,
                    ",\"item_errors\":", s.item_errors);
  }
  if (!info.vary.empty()) {
    absl::StrAppend(&out, ",\"vary\":[");
    for (size_t i = 0; i < info.vary.size(); ++i) {
      if (i > 0) out += ',';
      log::AppendJsonString(out, info.vary[i]);
    }
    absl::StrAppend(&out, "],\"variants\":", info.variants);
  }
  if (info.request_lines > 0) {
    absl::StrAppend(&out, ",\"request_lines\":", info.request_lines);
  }
  absl::StrAppend(&out, "}\n");
  return out;
}

}  // namespace rapport::loadgen
