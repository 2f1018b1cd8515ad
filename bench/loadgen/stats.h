#pragma once

// Statistics of a load run. Latencies are kept exactly: every successful
// call's latency is appended to the vector of the in-flight slot that made it
// (one writer per vector, so no locking on the hot path), and the vectors are
// merged and sorted once after the run. At the rates this machine reaches
// (~40k calls/s) a 10 s run holds ~400k samples, 3.2 MB: exact percentiles
// are cheaper to get right than a log-linear histogram and cost nothing
// during the run.

#include <array>
#include <cstdint>
#include <span>
#include <string>
#include <utility>
#include <vector>

namespace rapport::loadgen {

// gRPC status codes are 0..16.
inline constexpr int kNumStatusCodes = 17;

// "OK", "CANCELLED", ... "UNAUTHENTICATED"; "CODE_<n>" outside 0..16.
std::string StatusCodeName(int code);

// What one in-flight slot observed inside the measurement window. Owned and
// written by exactly one slot at a time; read after the run.
// On a stream a "call" is one request and its response.
struct WorkerStats {
  std::vector<int64_t> latencies_ns;  // successful calls only
  std::array<int64_t, kNumStatusCodes> errors_by_code{};
  int64_t errors_other = 0;  // codes outside 0..16 (never seen in practice)
  // Streams only: responses that report a failed item (ItemErrorDetector),
  // by the item's code (0 and unknown codes in item_errors_other).
  std::array<int64_t, kNumStatusCodes> item_errors_by_code{};
  int64_t item_errors_other = 0;
  // Streams only: requests the server never answered although it ended the
  // stream OK, and responses to no request (the one-response-per-request
  // contract broken).
  int64_t protocol_errors = 0;
  // Streams only, over the whole run (warmup and close included): streams
  // started, and streams that ended with a status other than OK (a stream
  // closed cleanly at the end of the window ends OK).
  int64_t streams = 0;
  int64_t streams_failed = 0;

  void RecordOk(int64_t latency_ns) { latencies_ns.push_back(latency_ns); }
  void RecordError(int code) {
    if (code > 0 && code < kNumStatusCodes) {
      ++errors_by_code[code];
    } else {
      ++errors_other;
    }
  }
  void RecordItemError(int code) {
    if (code > 0 && code < kNumStatusCodes) {
      ++item_errors_by_code[code];
    } else {
      ++item_errors_other;
    }
  }
};

// Exact order statistics of a set of latencies, in nanoseconds. All zero when
// count is 0.
struct LatencySummary {
  int64_t count = 0;
  double mean_ns = 0;
  int64_t min_ns = 0;
  int64_t p50_ns = 0;
  int64_t p90_ns = 0;
  int64_t p99_ns = 0;
  int64_t p999_ns = 0;
  int64_t max_ns = 0;
};

// Nearest-rank percentile of ascending `sorted` samples: the smallest sample
// such that at least `quantile` (0 < quantile <= 1) of all samples are <= it.
// Always one of the samples, never interpolated. 0 for an empty input.
int64_t NearestRank(std::span<const int64_t> sorted, double quantile);

// Sorts `samples` in place and summarizes them.
LatencySummary Summarize(std::vector<int64_t>& samples);

// The merged result of every slot over the measurement window.
struct RunSummary {
  double seconds = 0;  // length of the measurement window
  int64_t calls = 0;   // completed in the window: ok + errors
  int64_t ok = 0;
  int64_t errors = 0;          // including item_errors
  int64_t item_errors = 0;     // streams: responses reporting a failed item
  int64_t streams = 0;         // streams: started over the run
  int64_t streams_failed = 0;  // streams: ended with a non-OK status
  double qps = 0;              // calls / seconds
  LatencySummary latency;
  // Non-zero error counts by name, summing to `errors`: gRPC status codes
  // in code order ("UNAVAILABLE"), then "OTHER", then item errors by their
  // code ("ITEM_INVALID_ARGUMENT", "ITEM_OTHER"), then "PROTOCOL".
  std::vector<std::pair<std::string, int64_t>> errors_by_code;
};

// Merges the slots' stats (copying their samples) into one summary.
RunSummary Merge(std::span<const WorkerStats> workers, double seconds);

}  // namespace rapport::loadgen
