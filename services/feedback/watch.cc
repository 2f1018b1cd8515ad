#include "services/feedback/watch.h"

#include <deque>
#include <exception>
#include <thread>
#include <utility>

#include "absl/strings/str_cat.h"
#include "common/log/log.h"
#include "common/server/handler.h"
#include "common/status/grpc_status.h"
#include "services/feedback/store.h"
#include "services/feedback/validate.h"

namespace rapport::feedback {
namespace {

// Shared by the reactor (gRPC's callbacks) and its reader thread. The
// reactor deletes itself in OnDone; the thread never touches it after
// Finish, and keeps this state alive on its own.
struct WatchState {
  absl::Mutex mu;
  absl::CondVar cv;
  bool writing ABSL_GUARDED_BY(mu) = false;
  bool write_failed ABSL_GUARDED_BY(mu) = false;
  bool cancelled ABSL_GUARDED_BY(mu) = false;
};

class WatchReactor final : public grpc::ServerWriteReactor<v1::Feedback> {
 public:
  explicit WatchReactor(std::shared_ptr<WatchState> state)
      : state_(std::move(state)) {}

  void OnWriteDone(bool ok) override {
    absl::MutexLock lock(&state_->mu);
    state_->writing = false;
    if (!ok) state_->write_failed = true;
    state_->cv.SignalAll();
  }
  void OnCancel() override {
    absl::MutexLock lock(&state_->mu);
    state_->cancelled = true;
    state_->cv.SignalAll();
  }
  void OnDone() override { delete this; }

 private:
  std::shared_ptr<WatchState> state_;
};

}  // namespace

// The reader thread of one watcher.
class WatchWorker {
 public:
  WatchWorker(WatchHub& hub, WatchReactor* reactor,
              std::shared_ptr<WatchState> state, WatchStart start)
      : hub_(hub),
        reactor_(reactor),
        state_(std::move(state)),
        start_(std::move(start)),
        after_(start_.after_id) {}

  void Run() {
    grpc::Status status;
    try {
      status = Stream();
    } catch (const std::exception& e) {
      log::Error("handler_exception",
                 {{"rpc", "WatchFeedback"}, {"what", e.what()}});
      status = grpc::Status(grpc::StatusCode::INTERNAL,
                            "WatchFeedback failed on an internal error; it "
                            "is logged as handler_exception");
    }
    {
      // No write may be outstanding at Finish.
      absl::MutexLock lock(&state_->mu);
      while (state_->writing) state_->cv.Wait(&state_->mu);
    }
    reactor_->Finish(status);  // The reactor may be gone after this.
    hub_.Release();
  }

 private:
  grpc::Status Stream() {
    absl::Time failing_since = absl::InfiniteFuture();
    while (true) {
      {
        absl::MutexLock lock(&state_->mu);
        while (state_->writing && !state_->cancelled) {
          state_->cv.WaitWithTimeout(&state_->mu, hub_.options().block);
          if (hub_.stopping()) break;
        }
        if (state_->cancelled || state_->write_failed) {
          return grpc::Status(grpc::StatusCode::CANCELLED,
                              "the client went away");
        }
      }
      if (hub_.stopping()) {
        return grpc::Status(
            grpc::StatusCode::UNAVAILABLE,
            absl::StrCat("feedback-service is shutting down; reconnect with "
                         "start_after_id = the last Feedback.id received (",
                         last_sent_.empty() ? after_ : last_sent_, ")"));
      }
      if (!pending_.empty()) {
        current_ = std::move(pending_.front());
        pending_.pop_front();
        last_sent_ = current_.id();
        {
          absl::MutexLock lock(&state_->mu);
          state_->writing = true;
        }
        reactor_->StartWrite(&current_);
        continue;
      }
      absl::StatusOr<std::vector<Entry>> entries =
          FeedbackStore::ReadAfter(hub_.pool_, start_.stream_key, after_,
                                   hub_.options().page, hub_.options().block);
      if (!entries.ok()) {
        const absl::Time now = absl::Now();
        if (failing_since == absl::InfiniteFuture()) failing_since = now;
        if (now - failing_since > hub_.options().redis_grace) {
          return ToGrpcStatus(absl::UnavailableError(absl::StrCat(
              "feedback storage unavailable (", entries.status().message(),
              "); reconnect with start_after_id = the last Feedback.id "
              "received")));
        }
        absl::SleepFor(hub_.options().block);
        continue;
      }
      failing_since = absl::InfiniteFuture();
      for (Entry& e : *entries) {
        after_ = e.id;
        if (!e.readable) {
          hub_.metrics_.unreadable_entries.Increment();
          continue;
        }
        if (Matches(e.feedback, start_.filter)) {
          pending_.push_back(std::move(e.feedback));
        }
      }
    }
  }

  WatchHub& hub_;
  WatchReactor* reactor_;
  std::shared_ptr<WatchState> state_;
  const WatchStart start_;
  std::string after_;      // last id read
  std::string last_sent_;  // last id written
  std::deque<v1::Feedback> pending_;
  v1::Feedback current_;  // the message being written
};

WatchHub::WatchHub(redis::Pool& pool, FeedbackMetrics& metrics,
                   WatchOptions options)
    : pool_(pool), metrics_(metrics), options_(options) {}

WatchHub::~WatchHub() {
  Shutdown();
  if (!WaitIdle(absl::Seconds(5))) {
    log::Error("watchers_still_running", {{"active", active()}});
  }
}

grpc::ServerWriteReactor<v1::Feedback>* WatchHub::Watch(WatchStart start) {
  {
    absl::MutexLock lock(&mu_);
    if (stopping()) {
      return new server::FinishedWriteReactor<v1::Feedback>(grpc::Status(
          grpc::StatusCode::UNAVAILABLE,
          "feedback-service is shutting down; reconnect to another replica"));
    }
    if (active_ >= options_.max_watchers) {
      return new server::FinishedWriteReactor<v1::Feedback>(grpc::Status(
          grpc::StatusCode::RESOURCE_EXHAUSTED,
          absl::StrCat("this feedback-service replica already streams to ",
                       options_.max_watchers,
                       " watchers; retry later or on another replica")));
    }
    ++active_;
  }
  metrics_.watchers.Increment();
  auto state = std::make_shared<WatchState>();
  auto* reactor = new WatchReactor(state);
  auto worker = std::make_unique<WatchWorker>(*this, reactor, std::move(state),
                                              std::move(start));
  std::thread([worker = std::move(worker)] { worker->Run(); }).detach();
  return reactor;
}

void WatchHub::Release() {
  metrics_.watchers.Decrement();
  absl::MutexLock lock(&mu_);
  --active_;
}

void WatchHub::Shutdown() { stopping_.store(true, std::memory_order_release); }

bool WatchHub::WaitIdle(absl::Duration timeout) {
  absl::MutexLock lock(&mu_);
  return mu_.AwaitWithTimeout(
      absl::Condition(
          +[](int* active) { return *active == 0; }, &active_),
      timeout);
}

int WatchHub::active() const {
  absl::MutexLock lock(&mu_);
  return active_;
}

}  // namespace rapport::feedback
