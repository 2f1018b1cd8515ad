#pragma once

// WatchFeedback: a server-streaming reactor per watcher, each fed by a
// dedicated reader thread.
//
// The reader thread alternates between reading and writing, never both:
// it reads one page (XREAD COUNT 64 BLOCK <= 200 ms after the last id it
// saw), keeps the matching items, and hands them to gRPC one at a time,
// waiting for OnWriteDone before the next write and reading the next page
// only when the page is written. A slow client therefore holds the server
// to one page and one message in flight; it is never buffered for.
//
// Reads use their own Redis pool (one connection per watcher), so blocking
// reads never take connections from the request path. At most
// max_watchers streams are open per process (RESOURCE_EXHAUSTED beyond).
// A stream ends when the client cancels, when Redis stays unreachable
// (UNAVAILABLE), or on Shutdown() (UNAVAILABLE: reconnect with the last id
// received as start_after_id).

#include <grpcpp/grpcpp.h>

#include <atomic>
#include <memory>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "common/redis/pool.h"
#include "rapport/feedback/v1/feedback.pb.h"
#include "services/feedback/handler.h"

namespace rapport::feedback {

struct WatchOptions {
  int max_watchers = 64;
  // XREAD BLOCK: how long a reader waits for new items per read; also the
  // longest it takes to notice a cancel or a shutdown.
  absl::Duration block = absl::Milliseconds(200);
  // Items per read: the most a watcher holds.
  int page = 64;
  // How long Redis may fail before a stream ends with UNAVAILABLE.
  absl::Duration redis_grace = absl::Seconds(5);
};

class WatchHub {
 public:
  // `pool` is used for the blocking reads only; its command timeout must
  // exceed options.block and its size should be max_watchers.
  WatchHub(redis::Pool& pool, FeedbackMetrics& metrics,
           WatchOptions options = {});
  // Shuts down and waits (up to 5 s) for the reader threads to exit.
  ~WatchHub();

  WatchHub(const WatchHub&) = delete;
  WatchHub& operator=(const WatchHub&) = delete;

  // A reactor streaming from `start`, or one already finished with
  // RESOURCE_EXHAUSTED (watcher limit) or UNAVAILABLE (shutting down).
  grpc::ServerWriteReactor<v1::Feedback>* Watch(WatchStart start);

  // Ends every stream with UNAVAILABLE and refuses new ones.
  void Shutdown();
  // Waits until every reader thread has exited; false on timeout.
  bool WaitIdle(absl::Duration timeout);

  int active() const;
  const WatchOptions& options() const { return options_; }

 private:
  friend class WatchWorker;
  bool stopping() const { return stopping_.load(std::memory_order_acquire); }
  void Release();

  redis::Pool& pool_;
  FeedbackMetrics& metrics_;
  const WatchOptions options_;
  std::atomic<bool> stopping_{false};
  mutable absl::Mutex mu_;
  int active_ ABSL_GUARDED_BY(mu_) = 0;
};

}  // namespace rapport::feedback
