#pragma once

// The forwarder: delivers stored feedback to the other services, at least
// once. A background thread of feedback-service (one per replica) reads
// every tenant's feedback stream through the consumer group "forwarder":
//
//   outcome, subject message_id -> ScoringService.RecordOutcome (learning),
//       then ProfileService.RecordInteraction (INTERACTION_KIND_
//       OUTCOME_REPORTED) for the contact scoring answers, if any;
//   outcome, subject contact_id -> ProfileService.RecordInteraction;
//   insight                     -> ProfileService.RecordInsight;
//   review, note                -> nothing to forward (acknowledged).
//
// Every call carries the feedback id (RecordOutcome.feedback_id,
// Interaction.id "fb-<id>" and .feedback_id, ContactInsight.
// source_feedback_id), so the peers apply each item once however often it
// is delivered. An entry is acknowledged (XACK) only after every peer
// confirmed. Transient failures (UNAVAILABLE, DEADLINE_EXCEEDED, ABORTED,
// RESOURCE_EXHAUSTED, INTERNAL, UNKNOWN, CANCELLED, UNAUTHENTICATED,
// UNIMPLEMENTED: a peer down, overloaded, mid-rollout or misconfigured) are
// retried per item with exponential backoff and full jitter; after
// max_attempts, or at once for permanent failures (NOT_FOUND,
// INVALID_ARGUMENT, PERMISSION_DENIED, FAILED_PRECONDITION, ...), the item
// moves to the tenant's dead-letter stream with the last error and is
// acknowledged. One exception: when the contact of an outcome came from
// scoring (the message was scored for an inline recipient) and
// profile-service does not know it (NOT_FOUND), there is no profile to
// update and the profile step is skipped, not dead-lettered.
//
// Crash recovery: entries a dead replica had read but not acknowledged stay
// pending in the group; XAUTOCLAIM hands those idle longer than claim_idle
// to a live replica. While an item waits for a retry its owner resets its
// idle time (XCLAIM JUSTID) so other replicas leave it alone.

#include <prometheus/counter.h>
#include <prometheus/gauge.h>
#include <prometheus/registry.h>

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/functional/any_invocable.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/notification.h"
#include "absl/time/time.h"
#include "common/config/config.h"
#include "rapport/profile/v1/profile.grpc.pb.h"
#include "rapport/scoring/v1/scoring.grpc.pb.h"
#include "services/feedback/store.h"

namespace rapport::feedback {

// Calls to the peer services. Callbacks run once, on any thread (never
// inside the call for the gRPC implementation), and must not block. Batch
// calls answer one result per request, in order, or fail as a whole.
class Peers {
 public:
  template <typename T>
  using Done = absl::AnyInvocable<void(absl::StatusOr<T>) &&>;
  template <typename T>
  using Results = std::vector<absl::StatusOr<T>>;

  virtual ~Peers() = default;
  // ScoringService.RecordOutcomes: one tenant's outcomes, learned in order.
  virtual void RecordOutcomes(
      const std::string& tenant,
      std::vector<scoring::v1::RecordOutcomeRequest> requests,
      Done<Results<scoring::v1::RecordOutcomeResponse>> done) = 0;
  // ProfileService.RecordInteractions.
  virtual void RecordInteractions(
      const std::string& tenant,
      std::vector<profile::v1::Interaction> interactions,
      Done<Results<profile::v1::RecordInteractionResponse>> done) = 0;
  virtual void RecordInsight(const std::string& tenant,
                             const profile::v1::RecordInsightRequest& request,
                             Done<profile::v1::RecordInsightResponse> done) = 0;
};

// Peers over gRPC (callback client API), with the configured TLS, the API
// key and the tenant in metadata, and a deadline on every call. A peer that
// answers a batch RPC UNIMPLEMENTED (an older version, mid-rollout) gets
// the batch as single calls, one after another.
class GrpcPeers final : public Peers {
 public:
  // Background delivery: a short deadline only turns slow answers into
  // retries of idempotent calls, so calls get at least this long.
  static constexpr absl::Duration kMinDeadline = absl::Seconds(1);

  // Channels to config.scoring_addr and config.profile_addr (connected
  // lazily). Fails only on unreadable TLS files.
  static absl::StatusOr<std::unique_ptr<GrpcPeers>> Create(
      const config::Config& config);
  GrpcPeers(const std::shared_ptr<grpc::Channel>& scoring,
            const std::shared_ptr<grpc::Channel>& profile, std::string api_key,
            absl::Duration deadline);

  void RecordOutcomes(
      const std::string& tenant,
      std::vector<scoring::v1::RecordOutcomeRequest> requests,
      Done<Results<scoring::v1::RecordOutcomeResponse>> done) override;
  void RecordInteractions(
      const std::string& tenant,
      std::vector<profile::v1::Interaction> interactions,
      Done<Results<profile::v1::RecordInteractionResponse>> done) override;
  void RecordInsight(const std::string& tenant,
                     const profile::v1::RecordInsightRequest& request,
                     Done<profile::v1::RecordInsightResponse> done) override;

 private:
  std::unique_ptr<grpc::ClientContext> NewContext(
      const std::string& tenant) const;
  // The single calls, for peers without the batch RPCs.
  void RecordOutcome(const std::string& tenant,
                     const scoring::v1::RecordOutcomeRequest& request,
                     Done<scoring::v1::RecordOutcomeResponse> done);
  void RecordInteraction(const std::string& tenant,
                         const profile::v1::Interaction& interaction,
                         Done<profile::v1::RecordInteractionResponse> done);

  std::unique_ptr<scoring::v1::ScoringService::Stub> scoring_;
  std::unique_ptr<profile::v1::ProfileService::Stub> profile_;
  const std::string api_key_;
  const absl::Duration deadline_;
};

// Forwarding metrics, label sets resolved once.
class ForwarderMetrics {
 public:
  explicit ForwarderMetrics(prometheus::Registry& registry);

  enum class Peer { kScoring = 0, kProfile = 1 };
  // ok: applied; duplicate: the peer had it already; retry: transient
  // failure, will be retried; failed: permanent failure or out of attempts;
  // skipped: nothing to do at that peer (no known contact).
  enum class Result { kOk = 0, kDuplicate, kRetry, kFailed, kSkipped };
  // rapport_feedback_forwarded_total{peer,result}
  prometheus::Counter& Forwarded(Peer peer, Result result);

  prometheus::Counter& retries;       // rapport_feedback_forward_retries_total
  prometheus::Counter& dead_letters;  // rapport_feedback_dead_letters_total
  prometheus::Gauge& lag_seconds;     // rapport_feedback_forward_lag_seconds
  prometheus::Gauge& backlog;         // rapport_feedback_forward_backlog_items
  prometheus::Gauge& held;            // rapport_feedback_forward_held_items

 private:
  prometheus::Counter* forwarded_[2][5] = {};
};

struct ForwarderOptions {
  // Consumer name in the group; empty: "<hostname>-<pid>".
  std::string consumer;
  // Entries read per tenant per pass (XREADGROUP COUNT).
  int batch = 500;
  // Items per batch call (RecordOutcomes, RecordInteractions); at most the
  // peers' limit of 1,000.
  int max_call_batch = 500;
  // Peer calls in flight at once, over all lanes; within a lane (scoring:
  // one tenant's model; profile: the contacts of one tenant that hash to
  // one of max_in_flight buckets) calls run one at a time, since the peers
  // apply them with a compare-and-set on each record.
  int max_in_flight = 8;
  // Items held (read, not yet acknowledged) before reading pauses.
  int max_held = 5000;
  // Wait between passes when idle. Outcomes reach scoring within about this.
  absl::Duration idle_poll = absl::Milliseconds(100);
  // Wait after a pass that read less than a full batch, so items arriving
  // meanwhile go to the peers together (fewer, larger calls and record
  // writes while the forwarder keeps up).
  absl::Duration linger = absl::Milliseconds(20);
  // Pending entries idle longer than this are reclaimed from other
  // consumers (a replica that crashed).
  absl::Duration claim_idle = absl::Seconds(30);
  absl::Duration claim_interval = absl::Seconds(5);
  // Held items older than this get their idle time reset.
  absl::Duration touch_interval = absl::Seconds(10);
  absl::Duration tenants_refresh = absl::Seconds(2);
  absl::Duration lag_interval = absl::Seconds(1);
  // Backoff of the n-th retry: random in [d/2, d], d = min(base * 2^(n-1),
  // cap).
  absl::Duration backoff_base = absl::Milliseconds(200);
  absl::Duration backoff_cap = absl::Seconds(30);
  // Attempts before a transiently failing item is dead-lettered.
  int max_attempts = 8;
  std::function<absl::Time()> now = [] { return absl::Now(); };
};

// Transient (retry) or permanent (dead letter) failure of a peer call.
bool IsTransient(absl::StatusCode code);

class Forwarder {
 public:
  Forwarder(FeedbackStore& store, Peers& peers, ForwarderMetrics& metrics,
            ForwarderOptions options = {});
  ~Forwarder();

  Forwarder(const Forwarder&) = delete;
  Forwarder& operator=(const Forwarder&) = delete;

  // Starts the background thread.
  void Start();
  // Stops it: the pass in progress finishes (its calls have deadlines), then
  // the thread is joined. Items not acknowledged stay pending in Redis for
  // the next start or another replica. Idempotent.
  void Stop();

  // One pass: refresh tenants, read and reclaim entries, deliver what is
  // due, acknowledge or dead-letter. True when it did any work (so the loop
  // goes on at once). For tests; Start() runs it in a loop.
  bool RunOnce();

  const std::string& consumer() const { return options_.consumer; }
  // Items read and not yet acknowledged.
  size_t held() const { return items_.size(); }

 private:
  struct Item;
  struct Outcome {
    absl::Status status;
    ForwarderMetrics::Peer peer = ForwarderMetrics::Peer::kScoring;
  };
  // The outcome of a step for each item of a call, in order.
  using StepDone = absl::AnyInvocable<void(std::vector<Outcome>) &&>;

  void Loop();
  void Hold(const std::string& tenant, std::vector<Entry> entries,
            absl::Time now);
  // Delivery of one pass in steps and lanes (see forwarder.cc).
  struct Step;
  struct Batch;
  void DeliverAll(const std::vector<Item*>& due);
  std::optional<Step> NextStep(Item* item);
  // Puts the item's next step in its lane, or counts the item finished;
  // with batch.mu held.
  void Queue(Batch& batch, Item* item);
  void Launch(const std::shared_ptr<Batch>& batch);
  // Runs one step (of one kind, in one lane) for each of `items` as one
  // peer call.
  void RunSteps(const std::vector<std::pair<Item*, Step>>& steps,
                StepDone done);
  // profile-service confirmed the item's interaction or insight.
  Outcome ProfileDelivered(Item* item, bool duplicate);
  void StoreEnrichments(const std::vector<Item*>& due);
  // Acknowledges, reschedules or condemns an item after a delivery; true
  // when it was delivered (its id is then in `acks`).
  bool Settle(Item* item, absl::Time now, std::vector<std::string>* acks);
  bool FlushAcks();
  bool FlushDeadLetters(absl::Time now);
  void Touch(absl::Time now);
  void UpdateLag(absl::Time now);
  absl::Duration Backoff(int attempt);
  void LogRedisError(absl::string_view what, const absl::Status& status);

  FeedbackStore& store_;
  Peers& peers_;
  ForwarderMetrics& metrics_;
  ForwarderOptions options_;

  // Owned by the forwarder thread (or the caller of RunOnce): no lock.
  std::vector<std::string> tenants_;
  absl::flat_hash_map<std::string, std::unique_ptr<Item>> items_;
  absl::flat_hash_map<std::string, std::vector<std::string>> acks_;
  absl::flat_hash_map<std::string, std::string> claim_cursors_;
  absl::Time next_tenants_ = absl::InfinitePast();
  absl::Time next_claim_ = absl::InfinitePast();
  absl::Time next_touch_ = absl::InfinitePast();
  absl::Time next_lag_ = absl::InfinitePast();
  absl::Time next_error_log_ = absl::InfinitePast();
  absl::Time next_retry_log_ = absl::InfinitePast();
  bool read_full_ = false;  // the last pass read a full batch somewhere

  absl::Notification stop_;
  std::thread thread_;
};

}  // namespace rapport::feedback
