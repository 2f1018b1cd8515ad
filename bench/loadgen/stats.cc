#include "bench/loadgen/stats.h"

#include <algorithm>
#include <cmath>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"

namespace rapport::loadgen {

std::string StatusCodeName(int code) {
  if (code < 0 || code >= kNumStatusCodes) return absl::StrCat("CODE_", code);
  // gRPC and absl share the numbering; absl spells the names the way gRPC's
  // documentation and every other tool print them.
  return absl::StatusCodeToString(static_cast<absl::StatusCode>(code));
}

int64_t NearestRank(std::span<const int64_t> sorted, double quantile) {
  if (sorted.empty()) return 0;
  const auto n = static_cast<double>(sorted.size());
  // Rank r (1-based) is the smallest with r >= quantile * n. The epsilon
  // keeps 0.99 * 100 (= 99.00000000000001 in binary) at rank 99.
  auto rank = static_cast<int64_t>(std::ceil(quantile * n - 1e-9));
  rank = std::clamp<int64_t>(rank, 1, static_cast<int64_t>(sorted.size()));
  return sorted[static_cast<size_t>(rank - 1)];
}

LatencySummary Summarize(std::vector<int64_t>& samples) {
  LatencySummary s;
  if (samples.empty()) return s;
  std::sort(samples.begin(), samples.end());
  s.count = static_cast<int64_t>(samples.size());
  double sum = 0;
  for (int64_t v : samples) sum += static_cast<double>(v);
  s.mean_ns = sum / static_cast<double>(samples.size());
  s.min_ns = samples.front();
  s.max_ns = samples.back();
  s.p50_ns = NearestRank(samples, 0.50);
  s.p90_ns = NearestRank(samples, 0.90);
  s.p99_ns = NearestRank(samples, 0.99);
  s.p999_ns = NearestRank(samples, 0.999);
  return s;
}

RunSummary Merge(std::span<const WorkerStats> workers, double seconds) {
  RunSummary r;
  r.seconds = seconds;
  size_t total = 0;
  for (const WorkerStats& w : workers) total += w.latencies_ns.size();
  std::vector<int64_t> all;
  all.reserve(total);
  std::array<int64_t, kNumStatusCodes> errors{};
  std::array<int64_t, kNumStatusCodes> item_errors{};
  int64_t other = 0;
  int64_t item_other = 0;
  int64_t protocol = 0;
  for (const WorkerStats& w : workers) {
    all.insert(all.end(), w.latencies_ns.begin(), w.latencies_ns.end());
    for (int c = 0; c < kNumStatusCodes; ++c) {
      errors[c] += w.errors_by_code[c];
      item_errors[c] += w.item_errors_by_code[c];
    }
    other += w.errors_other;
    item_other += w.item_errors_other;
    protocol += w.protocol_errors;
    r.streams += w.streams;
    r.streams_failed += w.streams_failed;
  }
  r.ok = static_cast<int64_t>(all.size());
  for (int c = 0; c < kNumStatusCodes; ++c) {
    if (errors[c] == 0) continue;
    r.errors += errors[c];
    r.errors_by_code.emplace_back(StatusCodeName(c), errors[c]);
  }
  if (other > 0) {
    r.errors += other;
    r.errors_by_code.emplace_back("OTHER", other);
  }
  for (int c = 0; c < kNumStatusCodes; ++c) {
    if (item_errors[c] == 0) continue;
    r.item_errors += item_errors[c];
    r.errors_by_code.emplace_back("ITEM_" + StatusCodeName(c), item_errors[c]);
  }
  if (item_other > 0) {
    r.item_errors += item_other;
    r.errors_by_code.emplace_back("ITEM_OTHER", item_other);
  }
  r.errors += r.item_errors;
  if (protocol > 0) {
    r.errors += protocol;
    r.errors_by_code.emplace_back("PROTOCOL", protocol);
  }
  r.calls = r.ok + r.errors;
  r.qps = seconds > 0 ? static_cast<double>(r.calls) / seconds : 0;
  r.latency = Summarize(all);
  return r;
}

}  // namespace rapport::loadgen
