#pragma once

// The closed loop: `concurrency` slots, each a reusable callback-API reactor
// spread over the channels round-robin.
//
// Unary: a slot starts its next call from the previous call's OnDone. With
// one constant request (no --vary, one request) it is serialized once into a
// ByteBuffer that every call shares by reference; a slot's only per-call work
// besides gRPC's own is two clock reads and one vector append.
//
// Bidirectional streaming: a slot is one stream that keeps up to `window`
// requests written and not yet answered. Responses answer requests one to
// one, in order, so each response is matched to the oldest unanswered
// request; its latency runs from the start of that request's write. Only one
// write is outstanding at a time (a gRPC rule); with window > 1 the next is
// written as soon as the previous write completes. At the end of the window
// the stream stops writing, waits for its answers, half-closes and finishes
// cleanly; a stream that fails is counted and replaced while the window is
// open.
//
// Bounded: no call (request) is started after warmup + duration, and
// whatever is still in flight a grace period later is cancelled.

#include <grpcpp/channel.h>
#include <grpcpp/support/status.h>

#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "bench/loadgen/item_error.h"
#include "bench/loadgen/request_source.h"
#include "bench/loadgen/stats.h"

namespace rapport::loadgen {

struct RunConfig {
  std::string method_path;            // "/pkg.Service/Method"
  RequestSource* requests = nullptr;  // required; numbers calls
  bool bidi_streaming = false;
  int window = 1;  // streams: requests in flight per stream
  // Streams: which responses are failed items; null or disabled: none.
  const ItemErrorDetector* item_errors = nullptr;
  int concurrency = 16;
  absl::Duration warmup = absl::Seconds(1);
  absl::Duration duration = absl::Seconds(10);
  absl::Duration deadline = absl::ZeroDuration();  // unary; zero: none
  std::string api_key;  // sent as "authorization: Bearer" when not empty
};

struct RunResult {
  std::vector<WorkerStats> workers;  // one per slot
  double measured_seconds = 0;
};

// Runs the loop on `channels` (slot i uses channels[i % size]) and returns
// what completed inside the measurement window [warmup, warmup + duration).
RunResult RunClosedLoop(
    const std::vector<std::shared_ptr<grpc::Channel>>& channels,
    const RunConfig& config);

// One blocking call (for a stream: one request and its response, then a
// clean close), made before the run to fail fast on a wrong method or
// server. `response` receives the serialized response when the status is OK
// (for a stream: when a response came).
grpc::Status CallOnce(const std::shared_ptr<grpc::Channel>& channel,
                      const RunConfig& config, absl::Duration timeout,
                      std::string* response);

}  // namespace rapport::loadgen
