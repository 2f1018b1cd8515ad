#pragma once

// A non-blocking Redis client for hot paths such as gRPC callback handlers:
// callers enqueue commands and get their reply in a callback, and a few
// dedicated connection threads batch ("smart batching") and pipeline them.
//
// Why: a blocking call from a gRPC callback thread costs a cross-core
// wake-up per command and halves throughput (DESIGN.md, "Performance
// notes"). Here each connection's I/O thread takes everything queued (up to
// max_batch commands), writes it with one send, reads the replies in order,
// and runs the callbacks: under load many calls share one write, one read
// and one wake-up, and no caller thread ever waits. Commands are validated
// and RESP-encoded on the calling thread, so the I/O thread only copies
// bytes, does the syscalls and runs callbacks.
//
// From a gRPC callback handler (the reply finishes the RPC on the I/O
// thread):
//
//   grpc::ServerUnaryReactor* GetProfile(grpc::CallbackServerContext* ctx,
//                                        const Request* req,
//                                        Profile* out) override {
//     grpc::ServerUnaryReactor* reactor = ctx->DefaultReactor();
//     redis_.Command({"HMGET", key, "name", "stage"},
//                    [reactor, out](absl::StatusOr<redis::Reply> reply) {
//                      reactor->Finish(ToGrpc(FillProfile(reply, out)));
//                    });
//     return reactor;
//   }
//
// Contract, in short (Pool's, where it applies; see pool.h):
// - Create() never touches the network. A connection is dialed (AUTH
//   [user] password, then SELECT db, in one round trip) when work first
//   arrives for it, and redialed after a failure, with Pool's exponential
//   backoff and jitter. While a connection is in backoff, commands queued
//   for it fail fast with UNAVAILABLE instead of waiting; commands are
//   routed to connections that are not in backoff when there are any.
// - The commands of one call (Command or Pipeline) go out contiguously on
//   one connection, so MULTI ... EXEC and EVALSHA batches work as with Pool.
//   A call gets every reply or fails as a whole.
// - Every batch has a deadline: if its replies do not all arrive within
//   command_timeout of sending it, the connection is dropped (it may be
//   mid-reply) and every call of the batch whose replies did not all
//   arrive fails with UNAVAILABLE "... no reply within ...". Time spent
//   queued behind the previous batch (at most its command_timeout) or
//   behind a dial (connect_timeout + command_timeout) comes on top.
// - Status mapping is Pool's: UNAVAILABLE "redis H:P/D unavailable: <why>"
//   for refused or failed connects, AUTH/SELECT rejections, backoff, I/O
//   errors, EOF and timeouts; INTERNAL for protocol errors; INVALID_ARGUMENT
//   for empty commands and for the connection-state commands Pool refuses
//   (SELECT, AUTH, HELLO, QUIT, RESET, SUBSCRIBE, PSUBSCRIBE, SSUBSCRIBE,
//   MONITOR, and a MULTI or WATCH left open by the call); CANCELLED "redis
//   H:P/D client shutting down" for calls never sent because the client is
//   being destroyed. Messages never hold passwords, keys or values. Redis
//   error replies (WRONGTYPE, NOSCRIPT, EXECABORT, ...) are not failures: the
//   call succeeds with a kError Reply in the command's slot.
// - Blocking commands (BLPOP, XREAD BLOCK, WAIT, ...) stall every command
//   queued behind them on the same connection and count against the batch's
//   command_timeout: use Pool for them.
//
// Callbacks:
// - An empty callback (nullptr) means "fire and forget": the command is sent
//   and its outcome only reaches the observer.
// - Every other callback is called exactly once, including for refused
//   calls and at destruction, and never inside Command()/Pipeline() (no
//   re-entrancy into the caller's locks), except during destruction (see
//   below).
// - They run on the connection's I/O thread, one after another, in the
//   order the calls were queued on that connection. They must be short and
//   must not block (no blocking Redis calls, no waiting on other callbacks,
//   no Ping()): while one runs, its connection sends and reads nothing. They
//   may call Command() and Pipeline() again, and may move the Reply out.
//
// Thread-safety: Command(), Pipeline(), Ping() and GetStats() may be called
// concurrently from any thread, including from callbacks (except Ping()).
// The destructor must not run concurrently with calls from other threads,
// nor from a callback (it joins the I/O threads). It stops accepting work,
// lets the batches being sent finish (bounded by command_timeout), completes
// every call still queued with CANCELLED, and joins the threads; calls that
// callbacks make while it runs complete at once with CANCELLED, on the
// calling thread.

#include <atomic>
#include <cstdint>
#include <initializer_list>
#include <memory>
#include <string>
#include <vector>

#include "absl/functional/any_invocable.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "common/redis/pool.h"
#include "common/redis/reply.h"

namespace rapport::redis {

// PoolOptions' endpoint, command_timeout, connect_timeout, backoff_initial,
// backoff_max and observer apply as documented there; `size` and
// `checkout_timeout` are not used (there is no checkout: calls queue).
//
// The observer's OnCommand runs on the I/O thread, once per command, just
// before the call's callback, with the latency from the call (enqueue) to
// the moment its reply was read, or to the failure. Refused calls
// (INVALID_ARGUMENT) report nothing; failed and cancelled ones report every
// command as an error.
struct AsyncClientOptions : PoolOptions {
  // Number of connections, each with its own I/O thread. Values < 1 mean 1.
  // With one connection, calls are sent (and their callbacks run) in the
  // order they were made, across threads; with more, calls are spread over
  // the least-loaded connections and independent calls may overtake each
  // other (issue a dependent call from the first one's callback, or put both
  // in one Pipeline).
  // Measured on 2 vCPUs (gRPC callback server, one HMGET per RPC, 16 calls
  // in flight): one connection per core (2) spent ~18 us of server CPU per
  // call against ~30 us with 1, and matched echo's QPS; 3 or 4 were worse
  // (smaller batches, more threads).
  int connections = 1;
  // The most commands one batch (one write, one deadline) carries. A single
  // Pipeline call larger than this is sent as one batch of its own. Values
  // < 1 mean 1.
  int max_batch = 512;
};

class AsyncClient {
 public:
  using Callback = absl::AnyInvocable<void(absl::StatusOr<Reply>) &&>;
  using PipelineCallback =
      absl::AnyInvocable<void(absl::StatusOr<std::vector<Reply>>) &&>;

  // Starts the I/O threads; never blocks on and never fails because of the
  // network.
  static std::unique_ptr<AsyncClient> Create(AsyncClientOptions options);

  // See "Thread-safety" above.
  ~AsyncClient();

  AsyncClient(const AsyncClient&) = delete;
  AsyncClient& operator=(const AsyncClient&) = delete;

  // One command, e.g. Command({"GET", key}, [](absl::StatusOr<Reply> r) {}).
  // Arguments are encoded (binary-safe) before this returns, so they need
  // not outlive the call.
  void Command(const std::vector<std::string>& args, Callback done);
  void Command(std::initializer_list<absl::string_view> args, Callback done);

  // Sends the commands back to back on one connection; on success `done`
  // gets one Reply per command, in order, with Redis errors as kError
  // replies in their slot (inside MULTI/EXEC, in the EXEC reply's array). A
  // connection failure or timeout fails the whole call, and the caller cannot
  // tell which commands ran. An empty pipeline succeeds without I/O.
  void Pipeline(const std::vector<std::vector<std::string>>& commands,
                PipelineCallback done);

  // PING through Command(), waiting for the reply: OK when Redis answers
  // PONG, else UNAVAILABLE with the reason (as Pool::Ping). Blocks the
  // caller: for health checks, never from a callback.
  absl::Status Ping();

  // Introspection, for tests, metrics and benchmarks.
  struct Stats {
    int connections = 0;
    int connected = 0;                  // Connections currently dialed.
    int64_t queued = 0;                 // Commands queued, not yet sent.
    uint64_t batches = 0;               // Batches written (successful or not).
    uint64_t commands = 0;              // Commands in those batches.
    int consecutive_dial_failures = 0;  // Summed over connections.
  };
  Stats GetStats() const;

  const AsyncClientOptions& options() const { return options_; }

 private:
  struct Request;
  class Lane;

  explicit AsyncClient(AsyncClientOptions options);

  // Routes an encoded (or already failed) request to a connection.
  void Submit(Request request);
  Lane& PickLane();

  const AsyncClientOptions options_;
  const std::string redacted_;  // endpoint.Redacted(), cached for messages
  std::vector<std::unique_ptr<Lane>> lanes_;
  std::atomic<uint32_t> next_lane_{0};
};

}  // namespace rapport::redis
