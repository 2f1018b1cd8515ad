#pragma once

// Keeps process-local caches coherent with Redis (see coherent_cache.h):
// writers publish the key they changed on a channel, in the same Lua script
// that changes it (PUBLISH is atomic with the write), and every reader
// process runs one InvalidationListener subscribed to that channel.
//
// The listener has its own connection and thread (a subscribed connection
// can do nothing else). For each message it calls on_key(payload). When the
// subscription is lost (Redis restart, network, timeout) messages may have
// been missed: it calls on_state(false) at once, redials with the Pool's
// backoff and jitter, and calls on_state(true) only when subscribed again,
// so a cache is trusted exactly while nothing can have been missed. A
// subscription that stays silent is checked with a PING every
// `ping_every` (a subscribed connection answers PING), so a dead peer is
// noticed within ping_every + command_timeout.
//
// Callbacks run on the listener's thread and must be short.

#include <atomic>
#include <functional>
#include <memory>
#include <string>
#include <thread>

#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "common/redis/pool.h"

namespace rapport::redis {
namespace internal {
class Connection;
}  // namespace internal

struct InvalidationOptions {
  // endpoint, connect_timeout, command_timeout, backoff_* as in PoolOptions.
  PoolOptions redis;
  std::string channel;
  std::function<void(absl::string_view key)> on_key;
  std::function<void(bool subscribed)> on_state;
  absl::Duration ping_every = absl::Seconds(5);
};

class InvalidationListener {
 public:
  // Starts the thread; never blocks on the network.
  explicit InvalidationListener(InvalidationOptions options);
  // Stops and joins (within about 100 ms plus a dial in progress).
  ~InvalidationListener();

  InvalidationListener(const InvalidationListener&) = delete;
  InvalidationListener& operator=(const InvalidationListener&) = delete;

  bool subscribed() const { return subscribed_.load(); }

 private:
  void Run();
  // Reads messages on a subscribed connection until it is lost or stop_.
  void Listen(internal::Connection& conn);
  void SetState(bool subscribed);

  const InvalidationOptions options_;
  std::atomic<bool> stop_{false};
  std::atomic<bool> subscribed_{false};
  std::thread thread_;
};

}  // namespace rapport::redis
