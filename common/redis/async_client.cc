#include "common/redis/async_client.h"

#include <pthread.h>

#include <algorithm>
#include <deque>
#include <thread>
#include <utility>

#include "absl/base/thread_annotations.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "absl/synchronization/notification.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "common/redis/connection.h"

namespace rapport::redis {
namespace {

// A connection that has not been used for this long is checked for a
// server-side close (restart, CLIENT KILL, idle timeout) before a batch is
// written to it, so the batch goes to a fresh connection instead of failing.
// Under load batches follow each other more closely and skip the syscall.
constexpr absl::Duration kIdleCheckAfter = absl::Milliseconds(1);

}  // namespace

// One call, encoded by the caller's thread. A request with a non-OK `failed`
// (refused) or with no commands (empty pipeline) is only completed, on the
// I/O thread, in its turn.
struct AsyncClient::Request {
  std::string bytes;  // RESP, every command of the call back to back
  size_t count = 0;   // commands in `bytes`
  absl::Status failed;
  bool pipeline = false;
  Callback done_one;
  PipelineCallback done_many;
  // Only when observed.
  std::vector<std::string> names;
  absl::Time enqueued;

  void Fail(absl::Status status) && {
    if (pipeline) {
      if (!done_many) return;  // Fire and forget.
      std::move(done_many)(std::move(status));
    } else if (done_one) {
      std::move(done_one)(std::move(status));
    }
  }

  // Completes with replies[first, first + count).
  void Succeed(std::vector<Reply>& replies, size_t first) && {
    if (pipeline) {
      if (!done_many) return;
      std::vector<Reply> mine;
      mine.reserve(count);
      for (size_t i = 0; i < count; ++i) {
        mine.push_back(std::move(replies[first + i]));
      }
      std::move(done_many)(std::move(mine));
    } else if (done_one) {
      std::move(done_one)(std::move(replies[first]));
    }
  }
};

// One connection, its queue and its I/O thread.
class AsyncClient::Lane {
 public:
  Lane(const AsyncClientOptions& options, absl::string_view redacted, int index)
      : options_(options),
        redacted_(redacted),
        index_(index),
        backoff_(options.backoff_initial, options.backoff_max,
                 internal::JitterSeed(this)) {}

  Lane(const Lane&) = delete;
  Lane& operator=(const Lane&) = delete;

  ~Lane() {
    Stop();
    if (thread_.joinable()) thread_.join();
  }

  void Start() {
    thread_ = std::thread([this] { Run(); });
    const std::string name = absl::StrCat("redis-io-", index_);
    pthread_setname_np(thread_.native_handle(), name.c_str());
  }

  // Stops accepting; the thread finishes the batch in flight, cancels what
  // is queued and exits.
  void Stop() {
    absl::MutexLock lock(&mu_);
    stopping_ = true;
    cv_.Signal();
  }

  void Join() {
    if (thread_.joinable()) thread_.join();
  }

  void Enqueue(Request request) {
    const auto count = static_cast<int64_t>(request.count);
    pending_.fetch_add(count, std::memory_order_relaxed);
    {
      absl::MutexLock lock(&mu_);
      if (!stopping_) {
        queued_commands_ += count;
        queue_.push_back(std::move(request));
        if (idle_) cv_.Signal();
        return;
      }
    }
    // Only callbacks can get here (see the destructor's contract): complete
    // on their thread rather than queue work nobody would run.
    std::vector<Request> one;
    one.push_back(std::move(request));
    std::vector<Reply> no_replies;
    Complete(one, no_replies, {}, Cancelled());
  }

  // Commands queued or in flight: the routing load.
  int64_t load() const { return pending_.load(std::memory_order_relaxed); }
  // False while the last dial failed: route elsewhere when possible.
  bool healthy() const {
    return dial_failures_.load(std::memory_order_relaxed) == 0;
  }

  void AddStats(Stats& stats) const {
    {
      absl::MutexLock lock(&mu_);
      stats.queued += queued_commands_;
    }
    stats.connected += connected_.load(std::memory_order_relaxed) ? 1 : 0;
    stats.batches += batches_.load(std::memory_order_relaxed);
    stats.commands += commands_.load(std::memory_order_relaxed);
    stats.consecutive_dial_failures +=
        dial_failures_.load(std::memory_order_relaxed);
  }

 private:
  absl::Status Cancelled() const {
    return absl::CancelledError(
        absl::StrCat("redis ", redacted_, " client shutting down"));
  }

  // The I/O loop: wait for work, take everything queued (up to max_batch
  // commands), send it as one batch, complete its calls, repeat. It sleeps
  // on cv_ when idle; spinning for a few microseconds before sleeping was
  // measured (20 us, on 2 vCPUs shared with gRPC and Redis) and lost
  // throughput in every configuration, so there is none.
  void Run() {
    std::vector<Request> batch;
    while (true) {
      bool cancel = false;
      bool probe = false;
      {
        absl::MutexLock lock(&mu_);
        while (queue_.empty() && !stopping_) {
          idle_ = true;
          // In backoff, redial in the background once it has passed, so
          // that the connection is back (and routed to) before work comes.
          if (conn_ == nullptr && backoff_.failures() > 0) {
            if (cv_.WaitWithDeadline(&mu_, backoff_.next_attempt())) {
              probe = true;
              break;
            }
          } else {
            cv_.Wait(&mu_);
          }
        }
        idle_ = false;
        if (queue_.empty() && stopping_) return;
        cancel = stopping_;
        size_t taken = 0;
        const size_t max_batch = static_cast<size_t>(options_.max_batch);
        while (!queue_.empty() && (cancel || batch.empty() ||
                                   taken + queue_.front().count <= max_batch)) {
          taken += queue_.front().count;
          batch.push_back(std::move(queue_.front()));
          queue_.pop_front();
        }
        queued_commands_ -= static_cast<int64_t>(taken);
      }
      if (cancel) {
        replies_.clear();
        Complete(batch, replies_, {}, Cancelled());
      } else if (!batch.empty()) {
        Process(batch);
      } else if (probe) {
        // A failure just moves the backoff on; nobody is waiting for it.
        Connect(absl::Now()).IgnoreError();
      }
      batch.clear();
    }
  }

  // Sends one batch and completes its calls. I/O thread only.
  void Process(std::vector<Request>& batch) {
    size_t commands = 0;
    size_t calls = 0;  // with commands to send
    const Request* last = nullptr;
    for (const Request& r : batch) {
      if (r.count == 0) continue;
      commands += r.count;
      ++calls;
      last = &r;
    }
    replies_.clear();
    times_.clear();
    if (commands == 0) {
      Complete(batch, replies_, times_, absl::OkStatus());
      return;
    }
    absl::Status status = Connect(absl::Now());
    if (status.ok()) {
      absl::string_view request;
      if (calls == 1) {
        request = last->bytes;  // One call: no copy.
      } else {
        wbuf_.clear();
        for (const Request& r : batch) wbuf_.append(r.bytes);
        request = wbuf_;
      }
      status =
          conn_->Execute(request, commands, options_.command_timeout, &replies_,
                         options_.observer != nullptr ? &times_ : nullptr);
      batches_.fetch_add(1, std::memory_order_relaxed);
      commands_.fetch_add(commands, std::memory_order_relaxed);
      last_io_ = absl::Now();
      if (!status.ok()) {
        Disconnect();
        status = internal::MapFailure(status, redacted_);
      }
    }
    Complete(batch, replies_, times_, status);
  }

  // OK with a usable conn_, or why there is none. I/O thread only.
  absl::Status Connect(absl::Time now) {
    if (conn_ != nullptr) {
      if (now - last_io_ < kIdleCheckAfter || !conn_->LooksBroken()) {
        return absl::OkStatus();
      }
      Disconnect();
    }
    if (!backoff_.Ready(now)) {
      return internal::Unavailable(redacted_, backoff_.FailFastReason(now));
    }
    absl::StatusOr<std::unique_ptr<internal::Connection>> dialed =
        internal::Dial(options_.endpoint, options_.connect_timeout,
                       options_.command_timeout);
    if (!dialed.ok()) {
      backoff_.OnFailure(absl::Now(), dialed.status().message());
      dial_failures_.store(backoff_.failures(), std::memory_order_relaxed);
      return internal::Unavailable(redacted_, backoff_.last_error());
    }
    conn_ = *std::move(dialed);
    backoff_.OnSuccess();
    dial_failures_.store(0, std::memory_order_relaxed);
    connected_.store(true, std::memory_order_relaxed);
    last_io_ = absl::Now();
    return absl::OkStatus();
  }

  void Disconnect() {
    conn_.reset();
    connected_.store(false, std::memory_order_relaxed);
  }

  // Runs the observer and the callbacks of `batch`, in order: calls whose
  // replies all arrived succeed, the others fail with `status` (their own
  // status for refused calls).
  void Complete(std::vector<Request>& batch, std::vector<Reply>& replies,
                const std::vector<absl::Time>& times,
                const absl::Status& status) {
    CommandObserver* const observer = options_.observer;
    const absl::Time end = observer != nullptr ? absl::Now() : absl::Time();
    size_t next = 0;
    for (Request& r : batch) {
      if (!r.failed.ok()) {
        absl::Status refused = std::move(r.failed);
        std::move(r).Fail(std::move(refused));
        continue;
      }
      if (r.count == 0) {
        std::vector<Reply> none;
        std::move(r).Succeed(none, 0);
        continue;
      }
      const size_t first = next;
      next += r.count;
      pending_.fetch_sub(static_cast<int64_t>(r.count),
                         std::memory_order_relaxed);
      if (observer != nullptr) {
        for (size_t i = 0; i < r.count; ++i) {
          const size_t at = first + i;
          if (at < times.size()) {
            observer->OnCommand(r.names[i], times[at] - r.enqueued,
                                replies[at].is_error());
          } else {
            observer->OnCommand(r.names[i], end - r.enqueued, true);
          }
        }
      }
      if (next <= replies.size()) {
        std::move(r).Succeed(replies, first);
      } else {
        std::move(r).Fail(status);
      }
    }
  }

  const AsyncClientOptions& options_;
  const absl::string_view redacted_;
  const int index_;

  mutable absl::Mutex mu_;
  absl::CondVar cv_;
  std::deque<Request> queue_ ABSL_GUARDED_BY(mu_);
  int64_t queued_commands_ ABSL_GUARDED_BY(mu_) = 0;
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
  bool idle_ ABSL_GUARDED_BY(mu_) = false;  // The thread waits on cv_.

  // Readable from any thread.
  std::atomic<int64_t> pending_{0};
  std::atomic<bool> connected_{false};
  std::atomic<int> dial_failures_{0};
  std::atomic<uint64_t> batches_{0};
  std::atomic<uint64_t> commands_{0};

  // The I/O thread's own state (and the waits in Run(), under mu_).
  std::unique_ptr<internal::Connection> conn_;
  internal::DialBackoff backoff_;
  absl::Time last_io_;
  std::string wbuf_;
  std::vector<Reply> replies_;
  std::vector<absl::Time> times_;

  std::thread thread_;
};

std::unique_ptr<AsyncClient> AsyncClient::Create(AsyncClientOptions options) {
  return std::unique_ptr<AsyncClient>(new AsyncClient(std::move(options)));
}

AsyncClient::AsyncClient(AsyncClientOptions options)
    : options_([&] {
        options.connections = std::max(options.connections, 1);
        options.max_batch = std::max(options.max_batch, 1);
        options.backoff_max =
            std::max(options.backoff_max, options.backoff_initial);
        return std::move(options);
      }()),
      redacted_(options_.endpoint.Redacted()) {
  lanes_.reserve(static_cast<size_t>(options_.connections));
  for (int i = 0; i < options_.connections; ++i) {
    lanes_.push_back(std::make_unique<Lane>(options_, redacted_, i));
  }
  for (const std::unique_ptr<Lane>& lane : lanes_) lane->Start();
}

AsyncClient::~AsyncClient() {
  // Stop every lane first so that callbacks running on one lane's thread
  // cannot queue work on another that is still accepting.
  for (const std::unique_ptr<Lane>& lane : lanes_) lane->Stop();
  for (const std::unique_ptr<Lane>& lane : lanes_) lane->Join();
}

void AsyncClient::Command(const std::vector<std::string>& args, Callback done) {
  Request request;
  request.done_one = std::move(done);
  internal::RequestEncoder encoder(options_.observer != nullptr);
  absl::Status s = encoder.Add(args);
  if (s.ok()) s = encoder.Finish();
  if (s.ok()) {
    request.bytes = encoder.TakeRequest();
    request.count = 1;
    request.names = encoder.TakeNames();
  } else {
    request.failed = std::move(s);
  }
  Submit(std::move(request));
}

void AsyncClient::Command(std::initializer_list<absl::string_view> args,
                          Callback done) {
  Request request;
  request.done_one = std::move(done);
  internal::RequestEncoder encoder(options_.observer != nullptr);
  absl::Status s = encoder.Add(args);
  if (s.ok()) s = encoder.Finish();
  if (s.ok()) {
    request.bytes = encoder.TakeRequest();
    request.count = 1;
    request.names = encoder.TakeNames();
  } else {
    request.failed = std::move(s);
  }
  Submit(std::move(request));
}

void AsyncClient::Pipeline(
    const std::vector<std::vector<std::string>>& commands,
    PipelineCallback done) {
  Request request;
  request.pipeline = true;
  request.done_many = std::move(done);
  internal::RequestEncoder encoder(options_.observer != nullptr);
  absl::Status s;
  for (const std::vector<std::string>& args : commands) {
    s = encoder.Add(args);
    if (!s.ok()) break;
  }
  if (s.ok()) s = encoder.Finish();
  if (s.ok()) {
    request.count = encoder.count();
    request.bytes = encoder.TakeRequest();
    request.names = encoder.TakeNames();
  } else {
    request.failed = std::move(s);
  }
  Submit(std::move(request));
}

void AsyncClient::Submit(Request request) {
  if (options_.observer != nullptr) request.enqueued = absl::Now();
  PickLane().Enqueue(std::move(request));
}

AsyncClient::Lane& AsyncClient::PickLane() {
  const size_t n = lanes_.size();
  if (n == 1) return *lanes_.front();
  // Least loaded among the lanes whose connection is not in dial backoff
  // (all of them when every one is); ties go round-robin.
  const size_t start = next_lane_.fetch_add(1, std::memory_order_relaxed);
  Lane* best = nullptr;
  bool best_healthy = false;
  int64_t best_load = 0;
  for (size_t i = 0; i < n; ++i) {
    Lane* lane = lanes_[(start + i) % n].get();
    const bool healthy = lane->healthy();
    const int64_t load = lane->load();
    if (best == nullptr || (healthy && !best_healthy) ||
        (healthy == best_healthy && load < best_load)) {
      best = lane;
      best_healthy = healthy;
      best_load = load;
    }
  }
  return *best;
}

absl::Status AsyncClient::Ping() {
  absl::Notification done;
  absl::StatusOr<Reply> result;
  Command({"PING"}, [&](absl::StatusOr<Reply> reply) {
    result = std::move(reply);
    done.Notify();
  });
  done.WaitForNotification();
  return internal::PingStatus(result, redacted_);
}

AsyncClient::Stats AsyncClient::GetStats() const {
  Stats stats;
  stats.connections = static_cast<int>(lanes_.size());
  for (const std::unique_ptr<Lane>& lane : lanes_) lane->AddStats(stats);
  return stats;
}

}  // namespace rapport::redis
