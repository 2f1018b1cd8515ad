#pragma once

// feedback-service's Redis storage: the per-tenant feedback stream, the
// idempotency keys, the forwarder's consumer group, dead letters and outcome
// enrichments. Plain data in and out; no gRPC.
//
// Layout (tenant t; every key carries {t} as a Redis Cluster hash tag, so a
// tenant's keys share one slot and the scripts below work on a cluster):
//
//   rapport:{t}:feedback               STREAM, one entry per accepted item.
//       Entry id = feedback id ("<unix ms>-<seq>"), so the id encodes the
//       millisecond of acceptance: time ranges are XRANGE/XREVRANGE bounds
//       and WatchFeedback resumes with XREAD after an id. Field "f" holds
//       the serialized rapport.feedback.v1.Feedback with flagged and
//       warnings; its id and created_at are the entry id and its
//       millisecond, filled in on read (one source of truth, never
//       disagreeing). Trimmed by time (XADD MINID ~) to `retention`.
//       Consumer group "forwarder" created at offset 0 together with the
//       stream (in the submit script), so every entry is forwarded.
//   rapport:{t}:fb:idem:<key>          STRING, feedback id of the item first
//       submitted with idempotency key <key>; EX 7 days.
//   rapport:{t}:feedback:dead          STREAM of dead letters: fields id
//       (the feedback id), f (Feedback bytes as stored), error (last error,
//       "scoring: NOT_FOUND: ..."), attempts, failed_at (RFC 3339). Trimmed
//       like the feedback stream.
//   rapport:{t}:fb:outcome:<id>        STRING, serialized
//       rapport.feedback.store.OutcomeEnrichment: what scoring's
//       RecordOutcome answered for outcome item <id> (template, campaign,
//       fired rules, channel), for digests. EX `retention`.
//   rapport:feedback:tenants           SET (global, no hash tag) of tenants
//       that have a feedback stream, so forwarders find them. On Redis
//       Cluster this key lives in its own slot, which is why it is written
//       by a separate command and never inside a tenant's script.
//
// Durability: SubmitFeedback answers OK only after the submit script's XADD
// has been applied by Redis. That is durable only as far as Redis' own
// persistence goes, so run the feedback Redis with
//   appendonly yes
//   appendfsync everysec   (a Redis crash loses nothing: the AOF write
//                           precedes the reply; a host crash or power loss
//                           may lose up to ~1 s of acknowledged items)
//   appendfsync always     (nothing acknowledged is lost, at some cost in
//                           write latency)
// and, with replicas, consider WAIT for replica acknowledgement. RDB
// snapshots alone (appendonly no) can lose minutes of acknowledged items.
// CheckPersistence() warns at start-up when AOF is off.

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/functional/any_invocable.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "common/redis/async_client.h"
#include "common/redis/pool.h"
#include "rapport/feedback/v1/feedback.pb.h"
#include "services/feedback/feedback_store.pb.h"

namespace rapport::feedback {

// Consumer group of the forwarder on every tenant stream.
inline constexpr char kForwarderGroup[] = "forwarder";
// The global set of tenants with a feedback stream.
inline constexpr char kTenantsKey[] = "rapport:feedback:tenants";
// Owner of replayed dead letters until a forwarder reclaims them, and how
// idle they are made: longer than any forwarder's claim_idle.
inline constexpr char kReplayConsumer[] = "dead-letter-replay";
inline constexpr absl::Duration kReplayIdle = absl::Hours(24);

struct StoreOptions {
  // How long items (and dead letters and outcome enrichments) are kept. It
  // bounds WatchFeedback's start_after_id and GetDigest's periods.
  absl::Duration retention = absl::Hours(24 * 400);
  // How long an idempotency key answers the original item (feedback.proto:
  // 7 days).
  absl::Duration idempotency_ttl = absl::Hours(24 * 7);
};

// One stream entry, decoded. `feedback` has id and created_at filled.
// `readable` is false when the entry's "f" field is missing or does not
// parse (then `feedback` holds only id and created_at).
struct Entry {
  std::string id;
  v1::Feedback feedback;
  bool readable = true;
};

// One dead letter.
struct DeadLetterRecord {
  std::string entry_id;  // id in the dead-letter stream
  v1::Feedback feedback;
  std::string error;
  int attempts = 0;
  std::string failed_at;
};

class FeedbackStore {
 public:
  // `async` (optional, not owned) carries SubmitFeedback's writes so that
  // gRPC callback threads never wait on Redis (DESIGN.md "Performance
  // notes"); everything else goes through `pool`.
  FeedbackStore(redis::Pool& pool, redis::AsyncClient* async = nullptr,
                StoreOptions options = {});

  FeedbackStore(const FeedbackStore&) = delete;
  FeedbackStore& operator=(const FeedbackStore&) = delete;

  const StoreOptions& options() const { return options_; }

  // Appends `item` (id and created_at are ignored) to the tenant's stream in
  // one atomic script (and adds the tenant to the global set), unless
  // `idempotency_key` (optional) was used before: then nothing is written and
  // the original entry is answered with duplicate = true (`entry` holds what is
  // still stored of it). The result exists only once Redis has applied (or
  // refused) the script: an OK result means the item is stored.
  struct AppendResult {
    Entry entry;
    bool duplicate = false;
  };
  using AppendDone = absl::AnyInvocable<void(absl::StatusOr<AppendResult>) &&>;
  // Non-blocking: through the store's AsyncClient, `done` running on its I/O
  // thread (it must be short and must not block). Without an AsyncClient,
  // blocking through the pool. Either way `done` runs exactly once, and may
  // run before Append returns (e.g. for a tenant that is not a valid key
  // part).
  void Append(absl::string_view tenant, const v1::Feedback& item,
              absl::string_view idempotency_key, AppendDone done);
  // Blocking, through the pool (tools and tests).
  absl::StatusOr<AppendResult> Append(absl::string_view tenant,
                                      const v1::Feedback& item,
                                      absl::string_view idempotency_key);

  // Entries with ids in [min, max] as XRANGE bounds ("-", "+", "123-0",
  // "(123-4" for exclusive), oldest first or (newest_first) newest first, at
  // most `count`. `exhausted` is set when fewer than `count` were returned.
  absl::StatusOr<std::vector<Entry>> Range(absl::string_view tenant,
                                           absl::string_view min,
                                           absl::string_view max, int count,
                                           bool newest_first,
                                           bool* exhausted = nullptr);

  // Entries after `after_id`, oldest first, at most `count`, waiting up to
  // `block` for the first one (zero: do not wait). `pool` must have a
  // command timeout longer than `block`.
  static absl::StatusOr<std::vector<Entry>> ReadAfter(redis::Pool& pool,
                                                      const std::string& key,
                                                      absl::string_view after,
                                                      int count,
                                                      absl::Duration block);

  // Id of the newest entry, "0-0" when the stream is empty or missing.
  absl::StatusOr<std::string> LastId(absl::string_view tenant);

  // Outcome enrichments.
  absl::Status PutOutcomes(
      absl::string_view tenant,
      const std::vector<std::pair<std::string, store::OutcomeEnrichment>>&
          outcomes);
  absl::StatusOr<absl::flat_hash_map<std::string, store::OutcomeEnrichment>>
  GetOutcomes(absl::string_view tenant, const std::vector<std::string>& ids);

  // --- Forwarder ---

  // Tenants that have a feedback stream (the global set).
  absl::StatusOr<std::vector<std::string>> Tenants();
  // Creates the consumer group at offset 0 (and the stream) unless it exists.
  absl::Status EnsureGroup(absl::string_view tenant);

  // New entries for `consumer` (XREADGROUP >, not blocking), for each tenant
  // in one round trip. Missing groups are created and read on the next call.
  absl::StatusOr<std::vector<std::vector<Entry>>> ReadGroup(
      const std::vector<std::string>& tenants, absl::string_view consumer,
      int count);
  // Entries pending for another consumer for longer than `min_idle`, now
  // owned by `consumer` (XAUTOCLAIM, at most `count`). The scan starts at
  // *cursor ("0-0" or empty: the start) and *cursor is set to where the
  // next call goes on ("0-0" after a full pass), so a long pending list is
  // covered over several calls.
  absl::StatusOr<std::vector<Entry>> AutoClaim(absl::string_view tenant,
                                               absl::string_view consumer,
                                               absl::Duration min_idle,
                                               int count,
                                               std::string* cursor = nullptr);
  // Resets the idle time of entries this consumer is still working on, so
  // other replicas do not reclaim them while they wait for a retry.
  absl::Status Touch(absl::string_view tenant, absl::string_view consumer,
                     const std::vector<std::string>& ids);
  absl::Status Ack(absl::string_view tenant,
                   const std::vector<std::string>& ids);
  // Moves an entry to the dead-letter stream and acknowledges it, atomically
  // (MULTI/EXEC).
  absl::Status DeadLetter(absl::string_view tenant, const Entry& entry,
                          absl::string_view error, int attempts,
                          absl::Time now);
  // What is not forwarded yet in a tenant's stream: entries read by a
  // forwarder and not acknowledged (pending), and entries no forwarder has
  // read yet (unread: the group's lag). Both count toward forwarding lag.
  struct Backlog {
    int64_t pending = 0;
    std::optional<std::string> oldest_pending;
    int64_t unread = 0;  // -1: some, Redis could not count them
    std::optional<std::string> oldest_unread;
  };
  // One per tenant, in two round trips at most.
  absl::StatusOr<std::vector<Backlog>> Backlogs(
      const std::vector<std::string>& tenants);
  // Dead letters, newest first, at most `count`, older than the dead-letter
  // entry id `before` (empty: from the newest).
  absl::StatusOr<std::vector<DeadLetterRecord>> DeadLetters(
      absl::string_view tenant, int count, absl::string_view before = "");

  // Puts dead letters (DeadLetterRecord::entry_id) back for delivery and
  // deletes them from the dead-letter stream, each atomically (one Lua
  // script): the item's stream entry is made pending again in the group,
  // owned by the pseudo-consumer kReplayConsumer and idle for kReplayIdle,
  // so any forwarder's next XAUTOCLAIM takes it. The entry keeps its
  // feedback id, so peers that applied it before treat the replay as a
  // duplicate. Dead letters whose entry is no longer in the stream (trimmed
  // or deleted) stay and are answered in `missing`; ids not in the
  // dead-letter stream (any more) are ignored.
  struct ReplayResult {
    std::vector<std::string> replayed;  // feedback ids
    std::vector<std::string> missing;   // feedback ids
  };
  absl::StatusOr<ReplayResult> ReplayDeadLetters(
      absl::string_view tenant, const std::vector<std::string>& dead_entry_ids);

  // A warning text when Redis' append-only file is off (the acknowledgement
  // guarantee then rests on RDB snapshots); empty when it is on or cannot be
  // told (CONFIG may be disabled on managed Redis).
  std::string CheckPersistence();

  // Key names.
  static absl::StatusOr<std::string> StreamKey(absl::string_view tenant);
  static absl::StatusOr<std::string> DeadKey(absl::string_view tenant);

 private:
  // A Lua script run with EVALSHA of its SHA-1 (computed here, so no
  // SCRIPT LOAD round trip is needed), and with EVAL of its source after a
  // NOSCRIPT reply (Redis restarted or SCRIPT FLUSH): NOSCRIPT means the
  // script did not run, so sending it again cannot apply it twice.
  class Script {
   public:
    explicit Script(const char* source);
    // EVALSHA sha args... or, with_source, EVAL source args...
    std::vector<std::string> Command(const std::vector<std::string>& args,
                                     bool with_source) const;
    // Runs it through the pool; the script's reply.
    absl::StatusOr<redis::Reply> Run(
        redis::Pool& pool, const std::vector<std::string>& args) const;

   private:
    const char* source_;
    std::string sha_;
  };

  // The commands of one Append, built on the calling thread.
  struct PreparedAppend {
    std::vector<std::string> sadd;         // the tenant into the global set
    std::vector<std::string> script_args;  // numkeys, keys, argv
    v1::Feedback item;                     // as answered when new
  };
  absl::StatusOr<PreparedAppend> PrepareAppend(
      absl::string_view tenant, const v1::Feedback& item,
      absl::string_view idempotency_key) const;
  static absl::StatusOr<AppendResult> ParseAppend(const redis::Reply& sadd,
                                                  const redis::Reply& script,
                                                  const v1::Feedback& item);
  struct AsyncAppend;
  void SendAppend(std::unique_ptr<AsyncAppend> op);

  // "MINID" bound for trimming: now - retention.
  std::string TrimBound() const;

  redis::Pool& pool_;
  redis::AsyncClient* const async_;
  const StoreOptions options_;
  const Script append_;
  const Script replay_;
};

// Decodes an XRANGE-style entry array ([[id, [field, value, ...]], ...]).
std::vector<Entry> DecodeEntries(const redis::Reply& reply);

}  // namespace rapport::feedback
