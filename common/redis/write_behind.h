#pragma once

// Write-behind for Redis writes an answer does not depend on: a caller hands
// over commands and goes on at once; they reach Redis shortly after, many
// callers' commands in one pipeline.
//
// Why: scoring-service stores a record for every report it answers (so an
// outcome can train the model months later). Waiting for that write puts a
// Redis round trip and two thread hand-offs (caller -> AsyncClient I/O
// thread -> gRPC completion from a foreign thread) on every call; the
// answer itself is computed from memory. Here the caller's thread answers,
// and the writes of everyone who called while the previous batch was on the
// wire go out together as one AsyncClient::Pipeline (group commit: at most
// one batch in flight, so batches grow with load and shrink to one command
// when idle).
//
// What a caller is promised, and what not:
// - Write() OK: the commands are queued in this process and will be sent,
//   in the order accepted, and retried (with exponential backoff and jitter)
//   while Redis fails, until they are written or the writer is destroyed.
//   They are NOT yet in Redis: a crash of this process (SIGKILL, OOM kill)
//   loses what is queued, typically one round trip's worth (plus the
//   linger). Use it only for data whose loss costs less than the round trip
//   it saves, and say so.
// - Write() UNAVAILABLE: nothing was queued. That happens while Redis is
//   failing (the last batch failed and has not been written since) and when
//   max_pending commands are already queued: a dead or slow Redis turns into
//   refused calls, never into unbounded memory.
// - With a linger (WriteBehindOptions::linger), a batch also waits up to
//   that long after its first command for others to join it, unless
//   linger_batch commands are queued first: fewer, larger pipelines, at
//   the price of that much more time queued (and at risk in a crash).
// - Flush(timeout): waits until everything accepted before the call is
//   written (read-your-writes for a reader in this process), sending what
//   is queued at once, without the linger.
// - The destructor stops accepting, then waits up to drain_timeout for the
//   queue to be written (graceful shutdown), and counts what it drops.
// - Commands must be idempotent (SET, HSET, EXPIRE, ...): a batch whose
//   connection failed mid-way may have partly run and is sent again whole.
//   A Redis error reply (OOM, WRONGTYPE) fails the batch like an I/O error.
//
// Thread-safety: every method may be called from any thread, including
// AsyncClient callbacks (Write never blocks; Flush does, so not from one).

#include <cstdint>
#include <deque>
#include <functional>
#include <string>
#include <thread>
#include <vector>

#include "absl/status/status.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "common/redis/async_client.h"

namespace rapport::redis {

struct WriteBehindOptions {
  // Commands queued (accepted, not yet written) at most; Write() refuses
  // beyond it.
  size_t max_pending = 100'000;
  // Backoff between attempts while Redis fails.
  absl::Duration retry_initial = absl::Milliseconds(20);
  absl::Duration retry_max = absl::Seconds(2);
  // How long the destructor waits for the queue to be written.
  absl::Duration drain_timeout = absl::Seconds(5);
  // How long a batch's first command may wait for others to join it
  // (Nagle's algorithm; Kafka's linger.ms). With one batch in flight at
  // most, a batch otherwise leaves as soon as the previous one is answered:
  // under moderate load that is a few commands, and every batch costs
  // Redis a read and a write system call and the client a wake-up. Zero:
  // group commit alone. A batch leaves early once linger_batch commands
  // are queued.
  absl::Duration linger = absl::ZeroDuration();
  size_t linger_batch = 512;
};

class WriteBehind {
 public:
  using Command = std::vector<std::string>;

  // `client` must outlive the writer.
  struct Stats {
    size_t pending = 0;           // accepted, not yet written
    uint64_t written = 0;         // commands written
    uint64_t batches = 0;         // batches written
    uint64_t failed_batches = 0;  // attempts that failed (each retried)
    uint64_t refused = 0;         // Write() calls refused
    uint64_t dropped = 0;         // commands given up at destruction
    bool failing = false;         // the last attempt failed
  };
  // Called after every batch (written or failed) with the stats of that
  // moment, on the AsyncClient's I/O thread or the retry thread, outside
  // the writer's lock: for metrics. Keep it short.
  using Observer = std::function<void(const Stats&)>;

  // `client` must outlive the writer.
  explicit WriteBehind(AsyncClient& client, WriteBehindOptions options = {},
                       Observer observer = nullptr);
  ~WriteBehind();

  WriteBehind(const WriteBehind&) = delete;
  WriteBehind& operator=(const WriteBehind&) = delete;

  // Queues `commands` (all or none); see the contract above.
  absl::Status Write(std::vector<Command> commands);

  // Waits until every command accepted before this call is written. OK, or
  // DEADLINE_EXCEEDED naming how many are still queued.
  absl::Status Flush(absl::Duration timeout);

  Stats GetStats() const;

 private:
  // Sends the whole queue as one pipeline if nothing is in flight, Redis is
  // not failing (then only the retry thread sends) and the linger is over
  // (else the background thread sends it when it is).
  void MaybeSendLocked() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Whether the queue may leave now rather than linger.
  bool LingerOverLocked(absl::Time now) const
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Precondition: !sending_ and a non-empty queue. Releases mu_ around the
  // send.
  void SendLocked() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void OnBatchDone(std::vector<Command> batch, const absl::Status& status);
  Stats DoneLocked(std::vector<Command> batch, const absl::Status& status)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // The background thread: retries while Redis fails, and sends a batch
  // whose linger is over.
  void RetryLoop();
  Stats StatsLocked() const ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  AsyncClient& client_;
  const WriteBehindOptions options_;
  const Observer observer_;

  mutable absl::Mutex mu_;
  std::deque<Command> queue_ ABSL_GUARDED_BY(mu_);
  size_t in_flight_ ABSL_GUARDED_BY(mu_) = 0;  // commands on the wire
  bool sending_ ABSL_GUARDED_BY(mu_) = false;  // a batch is in flight
  bool failing_ ABSL_GUARDED_BY(mu_) = false;
  int attempt_ ABSL_GUARDED_BY(mu_) = 0;  // consecutive failures
  absl::Time retry_at_ ABSL_GUARDED_BY(mu_) = absl::InfinitePast();
  std::string last_error_ ABSL_GUARDED_BY(mu_);
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;     // Write() refuses
  bool stop_thread_ ABSL_GUARDED_BY(mu_) = false;  // the retry thread ends
  int observing_ ABSL_GUARDED_BY(mu_) = 0;         // observer calls running
  absl::CondVar progress_;  // a batch completed (Flush, destructor)
  absl::CondVar retry_cv_;  // failing_ or lingering_ set, or stop_thread_
  // When the oldest queued command was queued (set when the queue fills
  // from empty).
  absl::Time first_queued_ ABSL_GUARDED_BY(mu_) = absl::InfinitePast();
  // The background thread is to send the queue when its linger is over.
  bool lingering_ ABSL_GUARDED_BY(mu_) = false;
  int flushing_ ABSL_GUARDED_BY(mu_) = 0;  // Flush() calls waiting
  // Every command accepted; stats_.written counts those written, in the
  // order accepted, so Flush waits for stats_.written to reach accepted_.
  uint64_t accepted_ ABSL_GUARDED_BY(mu_) = 0;
  Stats stats_ ABSL_GUARDED_BY(mu_);
  std::thread retry_thread_;
};

}  // namespace rapport::redis
