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
#include <vector>

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

std::string ToString(grpc::ByteBuffer& buffer) {
  std::string out;
  std::vector<grpc::Slice> slices;
  if (buffer.Valid() && buffer.Dump(&slices).ok()) {
    for (const grpc::Slice& s : slices) {
      out.append(reinterpret_cast<const char*>(s.begin()), s.size());
    }
  }
  return out;
}

// State every slot reads; written only before the slots start, except
// `stop`, `active` and `all_done`, which are thread-safe, and `requests`,
// whose numbering is.
struct Shared {
  const std::string* method = nullptr;
  RequestSource* requests = nullptr;
  // With a constant request, shared by every call: gRPC copies a ByteBuffer
  // by taking a reference to its slices, so the bytes are never copied per
  // call.
  grpc::ByteBuffer request;
  bool constant_request = false;
  size_t window = 1;
  const ItemErrorDetector* item_errors = nullptr;
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
      const grpc::ByteBuffer* request = &shared_->request;
      if (!shared_->constant_request) {
        request_ = shared_->requests->Buffer(shared_->requests->NextNumber());
        request = &request_;
      }
      stub_.PrepareUnaryCall(&*ctx_, *shared_->method, grpc::StubOptions(),
                             request, &response_, this);
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
  grpc::ByteBuffer request_;  // this call's, when requests vary
  grpc::ByteBuffer response_;
  Clock::time_point start_;
  std::atomic<bool> in_flight_{false};
  absl::Mutex mu_;  // orders Cancel() against the context's replacement
  std::optional<grpc::ClientContext> ctx_ ABSL_GUARDED_BY(mu_);
};

// Start times of the requests a stream has written and not yet had
// answered, oldest first. Its capacity is the window, which the stream never
// exceeds, so a message costs no allocation.
class StartTimes {
 public:
  explicit StartTimes(size_t capacity)
      : times_(std::max<size_t>(capacity, 1)) {}
  size_t size() const { return size_; }
  bool empty() const { return size_ == 0; }
  void clear() {
    head_ = 0;
    size_ = 0;
  }
  void push_back(Clock::time_point t) {
    times_[(head_ + size_) % times_.size()] = t;
    ++size_;
  }
  Clock::time_point pop_front() {
    const Clock::time_point t = times_[head_];
    head_ = (head_ + 1) % times_.size();
    --size_;
    return t;
  }

 private:
  std::vector<Clock::time_point> times_;
  size_t head_ = 0;
  size_t size_ = 0;
};

// One stream, kept open for the whole run, with up to `window` requests
// written and not yet answered. Callbacks of reads and writes may run at
// the same time on different threads: mu_ orders the bookkeeping they share
// (the start times of unanswered requests and the write state); no gRPC
// operation is started under it, since gRPC may run reactions inline (a
// TryCancel does). ctx_mu_ only orders Cancel() against Start() replacing
// the context; no reaction takes it except OnDone's restart, which never
// happens once `stop` is set. The stats are written only from OnReadDone
// (one read is outstanding at a time), OnDone and Start, which never
// overlap.
class StreamSlot final
    : public grpc::ClientBidiReactor<grpc::ByteBuffer, grpc::ByteBuffer> {
 public:
  StreamSlot(Shared* shared, const std::shared_ptr<grpc::Channel>& channel,
             WorkerStats* stats)
      : shared_(shared),
        stub_(channel),
        stats_(stats),
        unanswered_(shared->window) {}

  // Opens a stream and writes its first request. False (and nothing done)
  // once `stop` is set: a restart racing with Cancel() must not leave a
  // stream nobody cancels.
  bool Start() ABSL_LOCKS_EXCLUDED(mu_, ctx_mu_) {
    {
      absl::MutexLock lock(&ctx_mu_);
      if (shared_->stop.load(std::memory_order_acquire)) return false;
      ctx_.emplace();
      if (!shared_->api_key.empty()) {
        auth::AttachApiKey(&*ctx_, shared_->api_key);
      }
      stub_.PrepareBidiStreamingCall(&*ctx_, *shared_->method,
                                     grpc::StubOptions(), this);
      in_flight_.store(true, std::memory_order_relaxed);
    }
    const grpc::ByteBuffer* first = nullptr;
    {
      absl::MutexLock lock(&mu_);
      unanswered_.clear();
      closing_ = false;
      writing_ = true;
      first = NextRequestLocked();
    }
    ++stats_->streams;
    // The first request's latency includes opening the stream (HTTP/2
    // HEADERS), as it would for any client.
    StartRead(&response_);
    StartWrite(first);
    StartCall();
    return true;
  }

  // Cancels the stream, if one is open. Called after `stop` is set (so an
  // OnDone run inline does not restart), or from a reaction (so OnDone
  // cannot run inline).
  void Cancel() ABSL_LOCKS_EXCLUDED(mu_, ctx_mu_) {
    absl::MutexLock lock(&ctx_mu_);
    if (in_flight_.load(std::memory_order_relaxed) && ctx_.has_value()) {
      ctx_->TryCancel();
    }
  }

  void OnWriteDone(bool ok) override ABSL_LOCKS_EXCLUDED(mu_) {
    Next next;
    {
      absl::MutexLock lock(&mu_);
      writing_ = false;
      // A failed write means the stream is broken: OnReadDone(false) and
      // OnDone follow.
      if (ok) next = NextActionLocked(Clock::now());
    }
    Act(next);
  }

  void OnReadDone(bool ok) override ABSL_LOCKS_EXCLUDED(mu_) {
    if (!ok) return;  // the stream ended; OnDone follows with its status
    const Clock::time_point now = Clock::now();
    // Before the next read reuses response_.
    const std::optional<int> item_error =
        shared_->item_errors == nullptr ? std::nullopt
                                        : shared_->item_errors->Find(response_);
    bool matched = false;
    Clock::time_point started;
    Next next;
    {
      absl::MutexLock lock(&mu_);
      if (!unanswered_.empty()) {
        matched = true;
        started = unanswered_.pop_front();
        next = NextActionLocked(now);
      }
    }
    if (!matched) {
      // A response to no request: the stream no longer means what the
      // loadgen measures. Count it and replace the stream.
      if (InWindow(now)) ++stats_->protocol_errors;
      Cancel();
      return;
    }
    if (InWindow(now)) {
      if (item_error.has_value()) {
        stats_->RecordItemError(*item_error);
      } else {
        stats_->RecordOk((now - started).count());
      }
    }
    Act(next);
    StartRead(&response_);
  }

  void OnDone(const grpc::Status& status) override ABSL_LOCKS_EXCLUDED(mu_) {
    const Clock::time_point now = Clock::now();
    in_flight_.store(false, std::memory_order_relaxed);
    size_t unanswered = 0;
    {
      absl::MutexLock lock(&mu_);
      unanswered = unanswered_.size();
      unanswered_.clear();
    }
    if (!status.ok()) ++stats_->streams_failed;
    if (InWindow(now)) {
      if (!status.ok()) {
        // Every unanswered request failed with the stream; a stream that
        // fails with none outstanding still counts once.
        for (size_t i = 0; i < std::max<size_t>(unanswered, 1); ++i) {
          stats_->RecordError(status.error_code());
        }
      } else {
        stats_->protocol_errors += static_cast<int64_t>(unanswered);
      }
    }
    if (Open(now) && Start()) return;
    // Nothing of this slot may be touched after the last one reports.
    if (shared_->active.fetch_sub(1, std::memory_order_acq_rel) == 1) {
      shared_->all_done.Notify();
    }
  }

 private:
  // What a reaction does once it has released mu_.
  struct Next {
    const grpc::ByteBuffer* write = nullptr;  // the request to write
    bool half_close = false;                  // StartWritesDone
  };

  bool InWindow(Clock::time_point now) const {
    return now >= shared_->window_start && now < shared_->window_end;
  }
  bool Open(Clock::time_point now) const {
    return now < shared_->window_end &&
           !shared_->stop.load(std::memory_order_acquire);
  }

  // The next request, its start time queued. The buffer stays untouched
  // until the write completes (writing_ is set until then).
  const grpc::ByteBuffer* NextRequestLocked()
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    const grpc::ByteBuffer* request = &shared_->request;
    if (!shared_->constant_request) {
      write_ = shared_->requests->Buffer(shared_->requests->NextNumber());
      request = &write_;
    }
    unanswered_.push_back(Clock::now());
    return request;
  }

  // What to do after a write completed or a response came: write the next
  // request while the window is open and the stream has room; once the
  // window has closed, half-close when every request is answered.
  Next NextActionLocked(Clock::time_point now)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    if (writing_ || closing_) return {};
    if (Open(now)) {
      if (unanswered_.size() >= shared_->window) return {};
      writing_ = true;
      return {.write = NextRequestLocked()};
    }
    if (!unanswered_.empty()) return {};
    closing_ = true;
    return {.half_close = true};
  }

  void Act(const Next& next) {
    if (next.half_close) StartWritesDone();
    if (next.write != nullptr) StartWrite(next.write);
  }

  Shared* const shared_;
  grpc::GenericStub stub_;
  WorkerStats* const stats_;
  grpc::ByteBuffer response_;  // only the outstanding read touches it
  std::atomic<bool> in_flight_{false};
  absl::Mutex ctx_mu_;
  std::optional<grpc::ClientContext> ctx_ ABSL_GUARDED_BY(ctx_mu_);
  absl::Mutex mu_;
  grpc::ByteBuffer write_ ABSL_GUARDED_BY(mu_);  // when requests vary
  // Of the requests written (or being written) and not yet answered.
  StartTimes unanswered_ ABSL_GUARDED_BY(mu_);
  bool writing_ ABSL_GUARDED_BY(mu_) = false;
  bool closing_ ABSL_GUARDED_BY(mu_) = false;
};

// Drives the slots of one run and waits for them.
template <typename SlotType>
void RunSlots(const std::vector<std::shared_ptr<grpc::Channel>>& channels,
              const RunConfig& config, Shared& shared, RunResult& result) {
  std::vector<std::unique_ptr<SlotType>> slots;
  slots.reserve(result.workers.size());
  for (size_t i = 0; i < result.workers.size(); ++i) {
    slots.push_back(std::make_unique<SlotType>(
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
}

// The first-call check on a stream: one request, its response, a clean
// close.
class OneRequestStream final
    : public grpc::ClientBidiReactor<grpc::ByteBuffer, grpc::ByteBuffer> {
 public:
  OneRequestStream(grpc::ByteBuffer request, std::string* response)
      : request_(std::move(request)), response_(response) {}

  grpc::Status Run(grpc::GenericStub& stub, grpc::ClientContext* ctx,
                   const std::string& method) {
    stub.PrepareBidiStreamingCall(ctx, method, grpc::StubOptions(), this);
    StartWriteLast(&request_, grpc::WriteOptions());
    StartRead(&reply_);
    StartCall();
    done_.WaitForNotification();
    return status_;
  }

  void OnReadDone(bool ok) override {
    if (!ok) return;
    if (response_ != nullptr) *response_ = ToString(reply_);
    // Drain anything else until the server ends the stream.
    StartRead(&reply_);
  }
  void OnDone(const grpc::Status& status) override {
    status_ = status;
    done_.Notify();
  }

 private:
  grpc::ByteBuffer request_;
  grpc::ByteBuffer reply_;
  std::string* response_;
  grpc::Status status_;
  absl::Notification done_;
};

}  // namespace

RunResult RunClosedLoop(
    const std::vector<std::shared_ptr<grpc::Channel>>& channels,
    const RunConfig& config) {
  Shared shared;
  shared.method = &config.method_path;
  shared.requests = config.requests;
  shared.constant_request = config.requests->constant();
  if (shared.constant_request) shared.request = config.requests->Buffer(0);
  shared.window = static_cast<size_t>(std::max(config.window, 1));
  shared.item_errors = config.item_errors;
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

  if (config.bidi_streaming) {
    RunSlots<StreamSlot>(channels, config, shared, result);
  } else {
    RunSlots<Slot>(channels, config, shared, result);
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
  const grpc::ByteBuffer request =
      config.requests->Buffer(config.requests->NextNumber());
  if (response != nullptr) response->clear();
  if (config.bidi_streaming) {
    OneRequestStream stream(request, response);
    return stream.Run(stub, &ctx, config.method_path);
  }
  grpc::ByteBuffer reply;
  grpc::Status status;
  absl::Notification done;
  stub.UnaryCall(&ctx, config.method_path, grpc::StubOptions(), &request,
                 &reply, [&status, &done](const grpc::Status& s) {
                   status = s;
                   done.Notify();
                 });
  done.WaitForNotification();
  if (status.ok() && response != nullptr) *response = ToString(reply);
  return status;
}

}  // namespace rapport::loadgen
