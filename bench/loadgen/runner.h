#pragma once

// The closed loop: `concurrency` slots, each a reusable callback-API reactor
// that starts its next call from the previous call's OnDone, spread over the
// channels round-robin. The request is serialized once into a ByteBuffer that
// every call shares by reference; a slot's only per-call work besides gRPC's
// own is two clock reads and one vector append. Bounded: no call is started
// after warmup + duration, and calls still in flight a grace period later are
// cancelled.

#include <grpcpp/channel.h>
#include <grpcpp/support/status.h>

#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "bench/loadgen/stats.h"

namespace rapport::loadgen {

struct RunConfig {
  std::string method_path;  // "/pkg.Service/Method"
  std::string request;      // serialized request
  int concurrency = 16;
  absl::Duration warmup = absl::Seconds(1);
  absl::Duration duration = absl::Seconds(10);
  absl::Duration deadline = absl::ZeroDuration();  // per call; zero: none
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

// One blocking call, made before the run to fail fast on a wrong method or
// server. `response` receives the serialized response when the status is OK.
grpc::Status CallOnce(const std::shared_ptr<grpc::Channel>& channel,
                      const RunConfig& config, absl::Duration timeout,
                      std::string* response);

}  // namespace rapport::loadgen
