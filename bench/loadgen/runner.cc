#include "bench/loadgen/runner.h"

#include <grpcpp/client_context.h>
#include <grpcpp/generic/generic_stub.h>
#include <grpcpp/support/byte_buffer.h>
#include <grpcpp/support/client_callback.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <optional>
#include <utility>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"
#include "absl/synchronization/notification.h"
#include "common/auth/auth.h"

namespace rapport::loadgen {
namespace {

using Clock = std::chrono::steady_clock;

// After the window closes, calls still in flight get this long to finish by
// themselves before they are cancelled (they are not counted either way).
constexpr absl::Duration kGrace = absl::Seconds(1);

grpc::ByteBuffer ToByteBuffer(const std::string& bytes) {
  grpc::Slice slice(bytes);
  return grpc::ByteBuffer(&slice, 1);
}

// State every slot reads; written only before the slots start, except
// `stop`, `active` and `all_done`, which are thread-safe.
struct Shared {
  const std::string* method = nullptr;
  // Shared by every call: gRPC copies a ByteBuffer by taking a reference to
  // its slices, so the bytes are never copied per call.
  grpc::ByteBuffer request;
  std::string api_key;
  std::chrono::nanoseconds deadline{0};  // zero: none
  Clock::time_point window_start;
  Clock::time_point window_end;
  std::atomic<bool> stop{false};
  std::atomic<int> active{0};
  absl::Notification all_done;  // notified when `active` reaches zero
};

// One in-flight call at a time, forever restarted from its own OnDone until
// the window closes. Reusing the reactor (and the ClientContext's storage)
// keeps the loadgen's per-call allocations to what gRPC itself makes.
class Slot final : public grpc::ClientUnaryReactor {
 public:
  Slot(Shared* shared, const std::shared_ptr<grpc::Channel>& channel,
       WorkerStats* stats)
      : shared_(shared), stub_(channel), stats_(stats) {}

  void Start() ABSL_LOCKS_EXCLUDED(mu_) {
    {
      absl::MutexLock lock(&mu_);
      ctx_.emplace();
      if (shared_->deadline.count() > 0) {
        ctx_->set_deadline(std::chrono::system_clock::now() +
                           shared_->deadline);
      }
      if (!shared_->api_key.empty()) {
        auth::AttachApiKey(&*ctx_, shared_->api_key);
      }
      stub_.PrepareUnaryCall(&*ctx_, *shared_->method, grpc::StubOptions(),
                             &shared_->request, &response_, this);
      in_flight_.store(true, std::memory_order_relaxed);
    }
    start_ = Clock::now();
    // Outside the lock: when Start() runs on a thread with no gRPC callback
    // context (the first call, from RunClosedLoop), a call that fails at once
    // may run OnDone inline, and OnDone starts the next call.
    StartCall();
  }

  // Cancels the call in flight, if any. Called only after `stop` is set, so
  // an OnDone run inline by TryCancel does not restart (nor lock mu_).
  void Cancel() ABSL_LOCKS_EXCLUDED(mu_) {
    absl::MutexLock lock(&mu_);
    if (in_flight_.load(std::memory_order_relaxed) && ctx_.has_value()) {
      ctx_->TryCancel();
    }
  }

  void OnDone(const grpc::Status& status) override {
    const Clock::time_point now = Clock::now();
    in_flight_.store(false, std::memory_order_relaxed);
    if (now >= shared_->window_start && now < shared_->window_end) {
      if (status.ok()) {
        stats_->RecordOk((now - start_).count());
      } else {
        stats_->RecordError(status.error_code());
      }
    }
    if (now < shared_->window_end &&
        !shared_->stop.load(std::memory_order_acquire)) {
      Start();
      return;
    }
    // Nothing of this slot may be touched after the last one reports: the
    // run's owner destroys the slots as soon as it is notified.
    if (shared_->active.fetch_sub(1, std::memory_order_acq_rel) == 1) {
      shared_->all_done.Notify();
    }
  }

 private:
  Shared* const shared_;
  grpc::GenericStub stub_;
  WorkerStats* const stats_;  // written only from this slot's callbacks
  grpc::ByteBuffer response_;
  Clock::time_point start_;
  std::atomic<bool> in_flight_{false};
  absl::Mutex mu_;  // orders Cancel() against the context's replacement
  std::optional<grpc::ClientContext> ctx_ ABSL_GUARDED_BY(mu_);
};

}  // namespace

RunResult RunClosedLoop(
    const std::vector<std::shared_ptr<grpc::Channel>>& channels,
    const RunConfig& config) {
  Shared shared;
  shared.method = &config.method_path;
  shared.request = ToByteBuffer(config.request);
  shared.api_key = config.api_key;
  shared.deadline = absl::ToChronoNanoseconds(config.deadline);

  RunResult result;
  result.measured_seconds = absl::ToDoubleSeconds(config.duration);
  result.workers.resize(static_cast<size_t>(config.concurrency));
  // Room for ~60k calls/s (more than this machine serves) so the vectors
  // rarely grow on a callback thread during the run.
  const double expected =
      60000.0 * result.measured_seconds / config.concurrency;
  const auto reserve =
      static_cast<size_t>(std::clamp(expected, 1024.0, 4.0 * (1 << 20)));
  for (WorkerStats& w : result.workers) w.latencies_ns.reserve(reserve);

  std::vector<std::unique_ptr<Slot>> slots;
  slots.reserve(result.workers.size());
  for (size_t i = 0; i < result.workers.size(); ++i) {
    slots.push_back(std::make_unique<Slot>(
        &shared, channels[i % channels.size()], &result.workers[i]));
  }

  shared.window_start = Clock::now() + absl::ToChronoNanoseconds(config.warmup);
  shared.window_end =
      shared.window_start + absl::ToChronoNanoseconds(config.duration);
  const absl::Time give_up =
      absl::Now() + config.warmup + config.duration + kGrace;
  shared.active.store(config.concurrency, std::memory_order_release);
  for (auto& slot : slots) slot->Start();

  if (!shared.all_done.WaitForNotificationWithDeadline(give_up)) {
    shared.stop.store(true, std::memory_order_release);
    for (auto& slot : slots) slot->Cancel();
    shared.all_done.WaitForNotification();
  }
  return result;
}

grpc::Status CallOnce(const std::shared_ptr<grpc::Channel>& channel,
                      const RunConfig& config, absl::Duration timeout,
                      std::string* response) {
  grpc::GenericStub stub(channel);
  grpc::ClientContext ctx;
  ctx.set_deadline(absl::ToChronoTime(absl::Now() + timeout));
  // The server may still be starting: wait for the connection rather than
  // fail at once.
  ctx.set_wait_for_ready(true);
  if (!config.api_key.empty()) auth::AttachApiKey(&ctx, config.api_key);
  const grpc::ByteBuffer request = ToByteBuffer(config.request);
  grpc::ByteBuffer reply;
  grpc::Status status;
  absl::Notification done;
  stub.UnaryCall(&ctx, config.method_path, grpc::StubOptions(), &request,
                 &reply, [&status, &done](const grpc::Status& s) {
                   status = s;
                   done.Notify();
                 });
  done.WaitForNotification();
  if (status.ok() && response != nullptr) {
    response->clear();
    std::vector<grpc::Slice> slices;
    if (reply.Valid() && reply.Dump(&slices).ok()) {
      for (const grpc::Slice& s : slices) {
        response->append(reinterpret_cast<const char*>(s.begin()), s.size());
      }
    }
  }
  return status;
}

}  // namespace rapport::loadgen
