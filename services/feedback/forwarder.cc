#include "services/feedback/forwarder.h"

#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <deque>
#include <exception>
#include <memory>
#include <utility>

#include "absl/container/flat_hash_set.h"
#include "absl/hash/hash.h"
#include "absl/random/random.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "common/auth/auth.h"
#include "common/log/log.h"
#include "common/metrics/counters.h"
#include "common/server/server.h"
#include "common/status/grpc_status.h"
#include "common/status/item_error.h"
#include "services/feedback/validate.h"

namespace rapport::feedback {
namespace {

using Peer = ForwarderMetrics::Peer;
using Result = ForwarderMetrics::Result;

constexpr int kPeers = 2;
constexpr int kResults = 5;
constexpr absl::Duration kErrorLogInterval = absl::Seconds(10);

const char* PeerName(Peer peer) {
  return peer == Peer::kScoring ? "scoring" : "profile";
}

std::string DefaultConsumer() {
  char host[256] = {};
  if (gethostname(host, sizeof(host) - 1) != 0 || host[0] == '\0') {
    return absl::StrCat("feedback-", getpid());
  }
  return absl::StrCat(host, "-", getpid());
}

std::string ItemKey(absl::string_view tenant, absl::string_view id) {
  return absl::StrCat(tenant, "\n", id);
}

// The outcome as an interaction's direction: the contact acted (a reply, a
// meeting, an opt-out) or the message went unanswered / undelivered.
profile::v1::Direction DirectionOf(common::v1::Outcome outcome) {
  switch (outcome) {
    case common::v1::OUTCOME_NO_REPLY:
    case common::v1::OUTCOME_BOUNCED:
      return profile::v1::DIRECTION_OUTBOUND;
    default:
      return profile::v1::DIRECTION_INBOUND;
  }
}

// A pending gRPC call: context, request and response live until the
// callback, which owns and frees them.
template <typename Request, typename Response>
struct Call {
  std::unique_ptr<grpc::ClientContext> ctx;
  Request request;
  Response response;
  Peers::Done<Response> done;

  static std::function<void(grpc::Status)> Finisher(Call* call) {
    return [call](const grpc::Status& status) {
      std::unique_ptr<Call> owned(call);
      if (!status.ok()) {
        std::move(owned->done)(FromGrpcStatus(status));
      } else {
        std::move(owned->done)(std::move(owned->response));
      }
    };
  }
};

// A batch RPC's per-item results as statuses or responses; INTERNAL for
// the whole call when the peer answered a different number of results.
template <typename Response, typename Result>
absl::StatusOr<Peers::Results<Response>> Unpack(
    size_t expected, google::protobuf::RepeatedPtrField<Result>* results) {
  if (static_cast<size_t>(results->size()) != expected) {
    return absl::InternalError(absl::StrCat("the peer answered ",
                                            results->size(), " results for ",
                                            expected, " requests"));
  }
  Peers::Results<Response> out;
  out.reserve(expected);
  for (Result& r : *results) {
    if (!r.has_error()) {
      out.emplace_back(std::move(*r.mutable_response()));
      continue;
    }
    out.emplace_back(FromItemError(r.error()));
  }
  return out;
}

// A batch sent as single calls, one after the other (a peer without the
// batch RPC). Each call is made from the completion of the previous one.
template <typename Request, typename Response>
struct OneByOne : std::enable_shared_from_this<OneByOne<Request, Response>> {
  using Single = std::function<void(const Request&, Peers::Done<Response>)>;
  std::vector<Request> requests;
  Peers::Results<Response> results;
  Single call;
  Peers::Done<Peers::Results<Response>> done;

  void Next() {
    if (results.size() == requests.size()) {
      std::move(done)(std::move(results));
      return;
    }
    call(requests[results.size()],
         [self = this->shared_from_this()](absl::StatusOr<Response> r) {
           self->results.push_back(std::move(r));
           self->Next();
         });
  }

  static void Run(std::vector<Request> requests, Single call,
                  Peers::Done<Peers::Results<Response>> done) {
    auto state = std::make_shared<OneByOne>();
    state->requests = std::move(requests);
    state->results.reserve(state->requests.size());
    state->call = std::move(call);
    state->done = std::move(done);
    state->Next();
  }
};

// The completion of a batch call of `requests` (each also its own single
// call, `single`): the per-item results, or, when the peer does not have
// the batch RPC (UNIMPLEMENTED), the single calls' results.
template <typename BatchResponse, typename Request, typename Response>
Peers::Done<BatchResponse> BatchAnswer(
    std::vector<Request> requests,
    typename OneByOne<Request, Response>::Single single,
    Peers::Done<Peers::Results<Response>> done) {
  return [requests = std::move(requests), single = std::move(single),
          done = std::move(done)](absl::StatusOr<BatchResponse> r) mutable {
    if (r.ok()) {
      std::move(done)(Unpack<Response>(requests.size(), r->mutable_results()));
    } else if (r.status().code() == absl::StatusCode::kUnimplemented) {
      OneByOne<Request, Response>::Run(std::move(requests), std::move(single),
                                       std::move(done));
    } else {
      std::move(done)(r.status());
    }
  };
}

}  // namespace

bool IsTransient(absl::StatusCode code) {
  switch (code) {
    case absl::StatusCode::kUnavailable:
    case absl::StatusCode::kDeadlineExceeded:
    case absl::StatusCode::kAborted:
    case absl::StatusCode::kResourceExhausted:
    case absl::StatusCode::kInternal:
    case absl::StatusCode::kUnknown:
    case absl::StatusCode::kCancelled:
    case absl::StatusCode::kUnauthenticated:
    case absl::StatusCode::kUnimplemented:
      return true;
    default:
      return false;
  }
}

// --- GrpcPeers ---

absl::StatusOr<std::unique_ptr<GrpcPeers>> GrpcPeers::Create(
    const config::Config& config) {
  absl::StatusOr<std::shared_ptr<grpc::Channel>> scoring =
      server::MakeChannel(config, config.scoring_addr);
  if (!scoring.ok()) return scoring.status();
  absl::StatusOr<std::shared_ptr<grpc::Channel>> profile =
      server::MakeChannel(config, config.profile_addr);
  if (!profile.ok()) return profile.status();
  return std::make_unique<GrpcPeers>(*scoring, *profile, config.api_key,
                                     config.peer_deadline);
}

GrpcPeers::GrpcPeers(const std::shared_ptr<grpc::Channel>& scoring,
                     const std::shared_ptr<grpc::Channel>& profile,
                     std::string api_key, absl::Duration deadline)
    : scoring_(scoring::v1::ScoringService::NewStub(scoring)),
      profile_(profile::v1::ProfileService::NewStub(profile)),
      api_key_(std::move(api_key)),
      deadline_(std::max(deadline, kMinDeadline)) {}

std::unique_ptr<grpc::ClientContext> GrpcPeers::NewContext(
    const std::string& tenant) const {
  auto ctx = std::make_unique<grpc::ClientContext>();
  ctx->set_deadline(absl::ToChronoTime(absl::Now() + deadline_));
  auth::AttachApiKey(ctx.get(), api_key_);
  auth::AttachTenant(ctx.get(), tenant);
  return ctx;
}

void GrpcPeers::RecordOutcome(const std::string& tenant,
                              const scoring::v1::RecordOutcomeRequest& request,
                              Done<scoring::v1::RecordOutcomeResponse> done) {
  using C = Call<scoring::v1::RecordOutcomeRequest,
                 scoring::v1::RecordOutcomeResponse>;
  auto* call = new C{NewContext(tenant), request, {}, std::move(done)};
  scoring_->async()->RecordOutcome(call->ctx.get(), &call->request,
                                   &call->response, C::Finisher(call));
}

void GrpcPeers::RecordOutcomes(
    const std::string& tenant,
    std::vector<scoring::v1::RecordOutcomeRequest> requests,
    Done<Results<scoring::v1::RecordOutcomeResponse>> done) {
  using C = Call<scoring::v1::RecordOutcomesRequest,
                 scoring::v1::RecordOutcomesResponse>;
  auto* call = new C{NewContext(tenant), {}, {}, nullptr};
  call->request.mutable_outcomes()->Add(requests.begin(), requests.end());
  call->done = BatchAnswer<scoring::v1::RecordOutcomesResponse>(
      std::move(requests),
      [this, tenant](const scoring::v1::RecordOutcomeRequest& one,
                     Done<scoring::v1::RecordOutcomeResponse> d) {
        RecordOutcome(tenant, one, std::move(d));
      },
      std::move(done));
  scoring_->async()->RecordOutcomes(call->ctx.get(), &call->request,
                                    &call->response, C::Finisher(call));
}

void GrpcPeers::RecordInteraction(
    const std::string& tenant, const profile::v1::Interaction& interaction,
    Done<profile::v1::RecordInteractionResponse> done) {
  using C = Call<profile::v1::RecordInteractionRequest,
                 profile::v1::RecordInteractionResponse>;
  auto* call = new C{NewContext(tenant), {}, {}, std::move(done)};
  *call->request.mutable_interaction() = interaction;
  profile_->async()->RecordInteraction(call->ctx.get(), &call->request,
                                       &call->response, C::Finisher(call));
}

void GrpcPeers::RecordInteractions(
    const std::string& tenant,
    std::vector<profile::v1::Interaction> interactions,
    Done<Results<profile::v1::RecordInteractionResponse>> done) {
  using C = Call<profile::v1::RecordInteractionsRequest,
                 profile::v1::RecordInteractionsResponse>;
  auto* call = new C{NewContext(tenant), {}, {}, nullptr};
  call->request.mutable_interactions()->Add(interactions.begin(),
                                            interactions.end());
  call->done = BatchAnswer<profile::v1::RecordInteractionsResponse>(
      std::move(interactions),
      [this, tenant](const profile::v1::Interaction& one,
                     Done<profile::v1::RecordInteractionResponse> d) {
        RecordInteraction(tenant, one, std::move(d));
      },
      std::move(done));
  profile_->async()->RecordInteractions(call->ctx.get(), &call->request,
                                        &call->response, C::Finisher(call));
}

void GrpcPeers::RecordInsight(const std::string& tenant,
                              const profile::v1::RecordInsightRequest& request,
                              Done<profile::v1::RecordInsightResponse> done) {
  using C = Call<profile::v1::RecordInsightRequest,
                 profile::v1::RecordInsightResponse>;
  auto* call = new C{NewContext(tenant), request, {}, std::move(done)};
  profile_->async()->RecordInsight(call->ctx.get(), &call->request,
                                   &call->response, C::Finisher(call));
}

// --- ForwarderMetrics ---

ForwarderMetrics::ForwarderMetrics(prometheus::Registry& registry)
    : retries(metrics::Counter(registry,
                               "rapport_feedback_forward_retries_total",
                               "Deliveries of feedback items scheduled for a "
                               "retry after a transient failure")),
      dead_letters(
          metrics::Counter(registry, "rapport_feedback_dead_letters_total",
                           "Feedback items moved to the dead-letter stream")),
      lag_seconds(metrics::Gauge(
          registry, "rapport_feedback_forward_lag_seconds",
          "Age of the oldest feedback item not yet forwarded (pending in a "
          "forwarder or not read yet), over all tenants (0 when none)")),
      backlog(metrics::Gauge(registry, "rapport_feedback_forward_backlog_items",
                             "Feedback items not yet forwarded (pending in a "
                             "forwarder plus not read yet), over all tenants")),
      held(metrics::Gauge(registry, "rapport_feedback_forward_held_items",
                          "Feedback items this replica's forwarder holds "
                          "(read, not yet acknowledged)")) {
  auto& family = prometheus::BuildCounter()
                     .Name("rapport_feedback_forwarded_total")
                     .Help(
                         "Feedback deliveries to peer services, by peer and "
                         "result")
                     .Register(registry);
  const char* results[kResults] = {"ok", "duplicate", "retry", "failed",
                                   "skipped"};
  for (int p = 0; p < kPeers; ++p) {
    for (int r = 0; r < kResults; ++r) {
      forwarded_[p][r] = &family.Add(
          {{"peer", PeerName(static_cast<Peer>(p))}, {"result", results[r]}});
    }
  }
}

prometheus::Counter& ForwarderMetrics::Forwarded(Peer peer, Result result) {
  return *forwarded_[static_cast<int>(peer)][static_cast<int>(result)];
}

// --- Forwarder ---

struct Forwarder::Item {
  std::string tenant;
  Entry entry;
  int attempts = 0;  // failed deliveries so far
  absl::Time next_attempt = absl::InfinitePast();
  absl::Time last_touch;
  // Progress, so a retry does not repeat what a peer confirmed.
  std::optional<scoring::v1::RecordOutcomeResponse> scoring;
  bool enrichment_stored = false;
  bool profile_done = false;
  // Result of the last delivery.
  Outcome last;
  bool redis_failed = false;  // the last failure was storing the enrichment
  // Set when the item must go to the dead-letter stream.
  std::string dead_error;
};

Forwarder::Forwarder(FeedbackStore& store, Peers& peers,
                     ForwarderMetrics& metrics, ForwarderOptions options)
    : store_(store),
      peers_(peers),
      metrics_(metrics),
      options_(std::move(options)) {
  if (options_.consumer.empty()) options_.consumer = DefaultConsumer();
  options_.batch = std::max(1, options_.batch);
  options_.max_in_flight = std::max(1, options_.max_in_flight);
  // The peers take at most 1,000 items per batch call.
  options_.max_call_batch = std::clamp(options_.max_call_batch, 1, 1000);
  options_.max_attempts = std::max(1, options_.max_attempts);
}

Forwarder::~Forwarder() { Stop(); }

void Forwarder::Start() {
  if (thread_.joinable()) return;
  log::Info("forwarder_started", {{"consumer", options_.consumer}});
  thread_ = std::thread([this] { Loop(); });
}

void Forwarder::Stop() {
  if (!stop_.HasBeenNotified()) stop_.Notify();
  if (thread_.joinable()) {
    thread_.join();
    log::Info("forwarder_stopped",
              {{"consumer", options_.consumer},
               {"held", static_cast<int64_t>(items_.size())}});
  }
}

void Forwarder::Loop() {
  while (!stop_.HasBeenNotified()) {
    bool work = false;
    try {
      work = RunOnce();
    } catch (const std::exception& e) {
      log::Error("forwarder_exception", {{"what", e.what()}});
    }
    if (!work) {
      stop_.WaitForNotificationWithTimeout(options_.idle_poll);
    } else if (!read_full_) {
      stop_.WaitForNotificationWithTimeout(options_.linger);
    }
  }
}

void Forwarder::LogRedisError(absl::string_view what,
                              const absl::Status& status) {
  const absl::Time now = absl::Now();
  if (now < next_error_log_) return;
  next_error_log_ = now + kErrorLogInterval;
  log::Warn("forwarder_redis_error",
            {{"step", what},
             {"code", absl::StatusCodeToString(status.code())},
             {"reason", status.message()}});
}

absl::Duration Forwarder::Backoff(int attempt) {
  absl::Duration d = options_.backoff_base;
  for (int i = 1; i < attempt && d < options_.backoff_cap; ++i) d *= 2;
  d = std::min(d, options_.backoff_cap);
  thread_local absl::BitGen gen;
  const double f = absl::Uniform(gen, 0.5, 1.0);
  return d * f;
}

void Forwarder::Hold(const std::string& tenant, std::vector<Entry> entries,
                     absl::Time now) {
  for (Entry& e : entries) {
    std::string key = ItemKey(tenant, e.id);
    if (items_.contains(key)) continue;
    auto item = std::make_unique<Item>();
    item->tenant = tenant;
    item->next_attempt = now;
    item->last_touch = now;
    if (!e.readable) {
      item->dead_error =
          "feedback-service: the stream entry has no readable \"f\" field";
    }
    item->entry = std::move(e);
    items_.emplace(std::move(key), std::move(item));
  }
}

bool Forwarder::RunOnce() {
  absl::Time now = options_.now();
  bool work = false;
  read_full_ = false;
  if (now >= next_tenants_) {
    next_tenants_ = now + options_.tenants_refresh;
    absl::StatusOr<std::vector<std::string>> tenants = store_.Tenants();
    if (tenants.ok()) {
      tenants_ = *std::move(tenants);
    } else {
      LogRedisError("tenants", tenants.status());
    }
  }
  work |= FlushAcks();

  if (!tenants_.empty() &&
      static_cast<int>(items_.size()) < options_.max_held) {
    absl::StatusOr<std::vector<std::vector<Entry>>> read =
        store_.ReadGroup(tenants_, options_.consumer, options_.batch);
    if (read.ok()) {
      for (size_t i = 0; i < read->size(); ++i) {
        if (static_cast<int>((*read)[i].size()) >= options_.batch) {
          read_full_ = true;
        }
        if ((*read)[i].empty()) continue;
        work = true;
        Hold(tenants_[i], std::move((*read)[i]), now);
      }
    } else {
      LogRedisError("read", read.status());
    }
  }
  if (now >= next_claim_ &&
      static_cast<int>(items_.size()) < options_.max_held) {
    next_claim_ = now + options_.claim_interval;
    for (const std::string& tenant : tenants_) {
      absl::StatusOr<std::vector<Entry>> claimed =
          store_.AutoClaim(tenant, options_.consumer, options_.claim_idle,
                           options_.batch, &claim_cursors_[tenant]);
      if (!claimed.ok()) {
        LogRedisError("autoclaim", claimed.status());
        break;
      }
      if (claimed->empty()) continue;
      work = true;
      // A full batch: a crashed replica's items or a dead-letter replay
      // wait; claim on in the next pass instead of claim_interval later.
      if (static_cast<int>(claimed->size()) >= options_.batch) {
        next_claim_ = now;
      }
      log::Info("forwarder_reclaimed",
                {{"tenant", tenant},
                 {"entries", static_cast<int64_t>(claimed->size())}});
      Hold(tenant, *std::move(claimed), now);
    }
  }
  if (now >= next_touch_) {
    next_touch_ = now + options_.touch_interval / 2;
    Touch(now);
  }

  std::vector<Item*> due;
  for (auto& [key, item] : items_) {
    if (item->dead_error.empty() && item->next_attempt <= now) {
      due.push_back(item.get());
    }
  }
  if (!due.empty()) {
    work = true;
    // In stream order, so each peer applies a tenant's items in the order
    // they were submitted.
    std::sort(due.begin(), due.end(), [](const Item* a, const Item* b) {
      if (a->tenant != b->tenant) return a->tenant < b->tenant;
      return ParseStreamId(a->entry.id) < ParseStreamId(b->entry.id);
    });
    DeliverAll(due);
    StoreEnrichments(due);
    now = options_.now();
    std::vector<std::string> delivered;
    for (Item* item : due) {
      if (Settle(item, now, &acks_[item->tenant])) {
        delivered.push_back(ItemKey(item->tenant, item->entry.id));
      }
    }
    for (const std::string& key : delivered) items_.erase(key);
    FlushAcks();
  }
  work |= FlushDeadLetters(now);
  if (now >= next_lag_) {
    next_lag_ = now + options_.lag_interval;
    UpdateLag(now);
  }
  metrics_.held.Set(static_cast<double>(items_.size()));
  return work;
}

// --- Delivery of one pass ---
//
// An item is delivered in steps: RecordOutcome, then RecordInteraction
// (outcomes), or RecordInsight (insights). Each step has a lane: scoring's
// per tenant, profile's per (tenant, bucket of the contact id, one of
// max_in_flight). Both peers apply an item with a compare-and-set on one
// record (the tenant's model, the contact's profile), so concurrent calls
// on one record mostly lose, retry and redo the work (measured: 55 % of
// RecordInteraction calls on one contact conflicted with 8 in flight, and
// the pass got no faster than with 1). Calls of one lane therefore run one
// at a time, in order; calls of different lanes run concurrently, up to
// max_in_flight in total. One call carries every waiting step of its lane
// that the peer takes in a batch (RecordOutcomes, RecordInteractions; up to
// max_call_batch), so a pass costs each peer a few calls however many items
// it holds, and the model and each contact's record are written once per
// call. A call starts from the completion of the previous one (on the gRPC
// thread that completed it), so the forwarder thread only wakes when the
// pass is done.

struct Forwarder::Step {
  enum Kind { kScoring, kInteraction, kInsight };
  Kind kind = kScoring;
  std::string lane;
  std::string contact;  // kInteraction: the contact the interaction is for
  bool derived_contact = false;  // kInteraction: the contact came from scoring
};

namespace {

std::string ProfileLane(absl::string_view tenant, absl::string_view contact,
                        int buckets) {
  const size_t bucket = absl::HashOf(contact) % static_cast<size_t>(buckets);
  return absl::StrCat("p\n", tenant, "\n", bucket);
}

}  // namespace

std::optional<Forwarder::Step> Forwarder::NextStep(Item* item) {
  const v1::Feedback& f = item->entry.feedback;
  switch (f.kind_case()) {
    case v1::Feedback::kOutcome: {
      if (f.subject().has_message_id() && !item->scoring.has_value()) {
        return Step{Step::kScoring, absl::StrCat("s\n", item->tenant), "",
                    false};
      }
      if (item->profile_done) return std::nullopt;
      std::string contact = f.subject().contact_id();
      const bool derived = contact.empty();
      if (derived && item->scoring.has_value()) {
        contact = item->scoring->contact_id();
      }
      if (contact.empty()) {
        // An outcome about a message scored for no known contact.
        metrics_.Forwarded(Peer::kProfile, Result::kSkipped).Increment();
        item->profile_done = true;
        return std::nullopt;
      }
      std::string lane =
          ProfileLane(item->tenant, contact, options_.max_in_flight);
      return Step{Step::kInteraction, std::move(lane), std::move(contact),
                  derived};
    }
    case v1::Feedback::kInsight:
      if (item->profile_done) return std::nullopt;
      return Step{Step::kInsight,
                  ProfileLane(item->tenant, f.subject().contact_id(),
                              options_.max_in_flight),
                  "", false};
    default:
      // Reviews and notes stay in feedback-service.
      item->profile_done = true;
      return std::nullopt;
  }
}

struct Forwarder::Batch {
  absl::Mutex mu;
  absl::CondVar finished;
  // Per lane, the items whose next step runs in it, in order.
  absl::flat_hash_map<std::string, std::deque<std::pair<Item*, Step>>> lanes
      ABSL_GUARDED_BY(mu);
  absl::flat_hash_set<std::string> busy ABSL_GUARDED_BY(mu);
  std::deque<std::string> ready ABSL_GUARDED_BY(mu);  // idle lanes with work
  int running ABSL_GUARDED_BY(mu) = 0;
  size_t unfinished ABSL_GUARDED_BY(mu) = 0;
  // One thread launches steps at a time; a completion that happens meanwhile
  // (possibly inside the launch, from a peer answering at once) only asks
  // for another round, so nothing recurses.
  bool launching ABSL_GUARDED_BY(mu) = false;
  bool again ABSL_GUARDED_BY(mu) = false;
};

void Forwarder::Queue(Batch& batch, Item* item) ABSL_NO_THREAD_SAFETY_ANALYSIS {
  std::optional<Step> step = NextStep(item);
  if (!step.has_value()) {
    if (--batch.unfinished == 0) batch.finished.SignalAll();
    return;
  }
  std::string lane = step->lane;
  auto& queue = batch.lanes[lane];
  queue.emplace_back(item, *std::move(step));
  if (queue.size() == 1 && !batch.busy.contains(lane)) {
    batch.ready.push_back(std::move(lane));
  }
}

void Forwarder::DeliverAll(const std::vector<Item*>& due) {
  // Shared with the callbacks: the last one may still be unlocking the
  // mutex when this thread wakes up and returns.
  auto batch = std::make_shared<Batch>();
  {
    absl::MutexLock lock(&batch->mu);
    batch->unfinished = due.size();
    for (Item* item : due) {
      item->redis_failed = false;
      item->last = Outcome{};
      Queue(*batch, item);
    }
  }
  Launch(batch);
  absl::MutexLock lock(&batch->mu);
  while (batch->unfinished > 0) batch->finished.Wait(&batch->mu);
}

void Forwarder::Launch(const std::shared_ptr<Batch>& batch) {
  std::vector<std::vector<std::pair<Item*, Step>>> start;
  {
    absl::MutexLock lock(&batch->mu);
    if (batch->launching) {
      batch->again = true;
      return;
    }
    batch->launching = true;
  }
  while (true) {
    start.clear();
    {
      absl::MutexLock lock(&batch->mu);
      batch->again = false;
      while (batch->running < options_.max_in_flight && !batch->ready.empty()) {
        std::string lane = std::move(batch->ready.front());
        batch->ready.pop_front();
        auto it = batch->lanes.find(lane);
        auto& queue = it->second;
        // The lane's next step, and the steps of the same kind after it
        // when the peer takes them in one call.
        std::vector<std::pair<Item*, Step>>& call = start.emplace_back();
        const Step::Kind kind = queue.front().second.kind;
        const size_t most = kind == Step::kInsight
                                ? 1
                                : static_cast<size_t>(options_.max_call_batch);
        while (!queue.empty() && queue.front().second.kind == kind &&
               call.size() < most) {
          call.push_back(std::move(queue.front()));
          queue.pop_front();
        }
        if (queue.empty()) batch->lanes.erase(it);
        batch->busy.insert(std::move(lane));
        ++batch->running;
      }
      if (start.empty()) {
        batch->launching = false;
        return;
      }
    }
    for (auto& call : start) {
      std::vector<Item*> items;
      items.reserve(call.size());
      for (const auto& [item, step] : call) items.push_back(item);
      RunSteps(call, [this, batch, items = std::move(items),
                      lane = call.front().second.lane](
                         std::vector<Outcome> outcomes) {
        {
          absl::MutexLock lock(&batch->mu);
          --batch->running;
          batch->busy.erase(lane);
          if (batch->lanes.contains(lane)) batch->ready.push_back(lane);
          for (size_t i = 0; i < items.size(); ++i) {
            if (outcomes[i].status.ok()) {
              Queue(*batch, items[i]);
            } else {
              items[i]->last = std::move(outcomes[i]);
              if (--batch->unfinished == 0) batch->finished.SignalAll();
            }
          }
        }
        Launch(batch);
      });
    }
    absl::MutexLock lock(&batch->mu);
    if (!batch->again) {
      // Anything made ready by completions during the launch was seen by
      // them as "again"; none: done launching for now.
      batch->launching = false;
      return;
    }
  }
}

Forwarder::Outcome Forwarder::ProfileDelivered(Item* item, bool duplicate) {
  metrics_
      .Forwarded(Peer::kProfile, duplicate ? Result::kDuplicate : Result::kOk)
      .Increment();
  item->profile_done = true;
  return Outcome{};
}

void Forwarder::RunSteps(const std::vector<std::pair<Item*, Step>>& steps,
                         StepDone done) {
  std::vector<Item*> items;
  items.reserve(steps.size());
  for (const auto& [item, step] : steps) items.push_back(item);
  const std::string& tenant = items.front()->tenant;  // one lane, one tenant
  // The call failed as a whole: every item failed with it.
  auto all_failed = [n = items.size()](const absl::Status& status, Peer peer) {
    return std::vector<Outcome>(n, Outcome{status, peer});
  };
  switch (steps.front().second.kind) {
    case Step::kScoring: {
      std::vector<scoring::v1::RecordOutcomeRequest> requests;
      requests.reserve(items.size());
      for (Item* item : items) {
        const v1::Feedback& f = item->entry.feedback;
        scoring::v1::RecordOutcomeRequest& request = requests.emplace_back();
        request.set_message_id(f.subject().message_id());
        request.set_outcome(f.outcome().outcome());
        request.set_feedback_id(f.id());
        *request.mutable_occurred_at() = f.outcome().has_occurred_at()
                                             ? f.outcome().occurred_at()
                                             : f.created_at();
      }
      peers_.RecordOutcomes(
          tenant, std::move(requests),
          [this, items, all_failed, done = std::move(done)](
              absl::StatusOr<Peers::Results<scoring::v1::RecordOutcomeResponse>>
                  results) mutable {
            if (!results.ok()) {
              std::move(done)(all_failed(results.status(), Peer::kScoring));
              return;
            }
            std::vector<Outcome> outcomes(items.size());
            for (size_t i = 0; i < items.size(); ++i) {
              absl::StatusOr<scoring::v1::RecordOutcomeResponse>& r =
                  (*results)[i];
              if (!r.ok()) {
                outcomes[i] = Outcome{r.status(), Peer::kScoring};
                continue;
              }
              metrics_
                  .Forwarded(Peer::kScoring,
                             r->duplicate() ? Result::kDuplicate : Result::kOk)
                  .Increment();
              items[i]->scoring = *std::move(r);
            }
            std::move(done)(std::move(outcomes));
          });
      return;
    }
    case Step::kInteraction: {
      std::vector<profile::v1::Interaction> interactions;
      interactions.reserve(items.size());
      std::vector<bool> derived;  // the contact came from scoring
      derived.reserve(steps.size());
      for (const auto& [item, step] : steps) {
        const v1::Feedback& f = item->entry.feedback;
        profile::v1::Interaction& in = interactions.emplace_back();
        in.set_id(absl::StrCat("fb-", f.id()));
        in.set_contact_id(step.contact);
        in.set_kind(profile::v1::INTERACTION_KIND_OUTCOME_REPORTED);
        in.set_direction(DirectionOf(f.outcome().outcome()));
        *in.mutable_occurred_at() = f.outcome().has_occurred_at()
                                        ? f.outcome().occurred_at()
                                        : f.created_at();
        in.set_outcome(f.outcome().outcome());
        in.set_message_id(f.subject().message_id());
        in.set_feedback_id(f.id());
        in.set_rep_id(f.author().id());
        derived.push_back(step.derived_contact);
      }
      peers_.RecordInteractions(
          tenant, std::move(interactions),
          [this, items, derived = std::move(derived), all_failed,
           done = std::move(done)](
              absl::StatusOr<
                  Peers::Results<profile::v1::RecordInteractionResponse>>
                  results) mutable {
            if (!results.ok()) {
              std::move(done)(all_failed(results.status(), Peer::kProfile));
              return;
            }
            std::vector<Outcome> outcomes(items.size());
            for (size_t i = 0; i < items.size(); ++i) {
              const auto& r = (*results)[i];
              if (r.ok()) {
                outcomes[i] = ProfileDelivered(items[i], r->duplicate());
              } else if (derived[i] &&
                         r.status().code() == absl::StatusCode::kNotFound) {
                // Scored for an inline recipient profile-service does not
                // know: no profile to update.
                metrics_.Forwarded(Peer::kProfile, Result::kSkipped)
                    .Increment();
                items[i]->profile_done = true;
              } else {
                outcomes[i] = Outcome{r.status(), Peer::kProfile};
              }
            }
            std::move(done)(std::move(outcomes));
          });
      return;
    }
    case Step::kInsight: {
      Item* item = items.front();
      const v1::Feedback& f = item->entry.feedback;
      profile::v1::RecordInsightRequest request;
      common::v1::ContactInsight* insight = request.mutable_insight();
      *insight = f.insight();
      insight->set_source_feedback_id(f.id());
      insight->set_author_team(f.author().team());
      if (!insight->has_observed_at()) {
        *insight->mutable_observed_at() = f.created_at();
      }
      peers_.RecordInsight(
          tenant, request,
          [this, item, done = std::move(done)](
              absl::StatusOr<profile::v1::RecordInsightResponse> r) mutable {
            std::move(done)({r.ok() ? ProfileDelivered(item, r->duplicate())
                                    : Outcome{r.status(), Peer::kProfile}});
          });
      return;
    }
  }
}

void Forwarder::StoreEnrichments(const std::vector<Item*>& due) {
  absl::flat_hash_map<std::string, std::vector<Item*>> by_tenant;
  for (Item* item : due) {
    if (item->scoring.has_value() && !item->enrichment_stored) {
      by_tenant[item->tenant].push_back(item);
    }
  }
  for (auto& [tenant, items] : by_tenant) {
    std::vector<std::pair<std::string, store::OutcomeEnrichment>> outcomes;
    outcomes.reserve(items.size());
    for (Item* item : items) {
      const scoring::v1::RecordOutcomeResponse& r = *item->scoring;
      store::OutcomeEnrichment e;
      e.set_message_id(item->entry.feedback.subject().message_id());
      e.set_contact_id(r.contact_id());
      e.set_template_id(r.template_id());
      e.set_campaign_id(r.campaign_id());
      *e.mutable_fired_rule_ids() = r.fired_rule_ids();
      e.set_channel(r.channel());
      e.set_model_version(r.model_version());
      outcomes.emplace_back(item->entry.id, std::move(e));
    }
    const absl::Status st = store_.PutOutcomes(tenant, outcomes);
    for (Item* item : items) {
      if (st.ok()) {
        item->enrichment_stored = true;
      } else if (item->last.status.ok()) {
        item->last.status = st;
        item->redis_failed = true;
      }
    }
    if (!st.ok()) LogRedisError("enrichment", st);
  }
}

bool Forwarder::Settle(Item* item, absl::Time now,
                       std::vector<std::string>* acks) {
  const absl::Status& st = item->last.status;
  if (st.ok()) {
    acks->push_back(item->entry.id);
    return true;
  }
  const bool transient = IsTransient(st.code());
  if (!item->redis_failed) {
    metrics_
        .Forwarded(item->last.peer,
                   transient ? Result::kRetry : Result::kFailed)
        .Increment();
  }
  const std::string where =
      item->redis_failed ? "redis" : PeerName(item->last.peer);
  const std::string error = absl::StrCat(
      where, ": ", absl::StatusCodeToString(st.code()), ": ", st.message());
  ++item->attempts;
  if (!transient) {
    item->dead_error = error;
  } else if (item->attempts >= options_.max_attempts) {
    item->dead_error =
        absl::StrCat(error, " (gave up after ", item->attempts, " attempts)");
  } else {
    metrics_.retries.Increment();
    item->next_attempt = now + Backoff(item->attempts);
  }
  // Dead letters are logged one by one (feedback_dead_lettered); retries
  // are routine while a peer is down, so they are logged at most every 10 s.
  if (item->dead_error.empty() && now < next_retry_log_) return false;
  if (item->dead_error.empty()) next_retry_log_ = now + kErrorLogInterval;
  log::Warn("forward_failed", {{"tenant", item->tenant},
                               {"feedback_id", item->entry.id},
                               {"peer", where},
                               {"code", absl::StatusCodeToString(st.code())},
                               {"attempts", item->attempts},
                               {"dead_letter", !item->dead_error.empty()}});
  return false;
}

bool Forwarder::FlushAcks() {
  bool any = false;
  for (auto it = acks_.begin(); it != acks_.end();) {
    auto next = std::next(it);
    if (it->second.empty()) {
      acks_.erase(it);
      it = next;
      continue;
    }
    const absl::Status st = store_.Ack(it->first, it->second);
    if (st.ok()) {
      any = true;
      acks_.erase(it);
    } else {
      LogRedisError("ack", st);
    }
    it = next;
  }
  return any;
}

bool Forwarder::FlushDeadLetters(absl::Time now) {
  bool any = false;
  for (auto it = items_.begin(); it != items_.end();) {
    auto next = std::next(it);
    Item& item = *it->second;
    if (item.dead_error.empty()) {
      it = next;
      continue;
    }
    const absl::Status st = store_.DeadLetter(
        item.tenant, item.entry, item.dead_error, item.attempts, now);
    if (!st.ok()) {
      LogRedisError("dead_letter", st);
      break;  // Redis is failing: try again on the next pass.
    }
    any = true;
    metrics_.dead_letters.Increment();
    log::Warn("feedback_dead_lettered", {{"tenant", item.tenant},
                                         {"feedback_id", item.entry.id},
                                         {"attempts", item.attempts}});
    items_.erase(it);
    it = next;
  }
  return any;
}

void Forwarder::Touch(absl::Time now) {
  absl::flat_hash_map<std::string, std::vector<std::string>> by_tenant;
  std::vector<Item*> touched;
  for (auto& [key, item] : items_) {
    if (now - item->last_touch >= options_.touch_interval) {
      by_tenant[item->tenant].push_back(item->entry.id);
      touched.push_back(item.get());
    }
  }
  for (const auto& [tenant, ids] : by_tenant) {
    const absl::Status st = store_.Touch(tenant, options_.consumer, ids);
    if (!st.ok()) {
      LogRedisError("touch", st);
      return;
    }
  }
  for (Item* item : touched) item->last_touch = now;
}

void Forwarder::UpdateLag(absl::Time now) {
  if (tenants_.empty()) {
    metrics_.lag_seconds.Set(0);
    metrics_.backlog.Set(0);
    return;
  }
  absl::StatusOr<std::vector<FeedbackStore::Backlog>> backlogs =
      store_.Backlogs(tenants_);
  if (!backlogs.ok()) {
    LogRedisError("lag", backlogs.status());
    return;
  }
  std::optional<StreamId> oldest;
  int64_t items = 0;
  auto consider = [&oldest](const std::optional<std::string>& id) {
    if (!id.has_value()) return;
    const std::optional<StreamId> sid = ParseStreamId(*id);
    if (sid.has_value() && (!oldest.has_value() || *sid < *oldest)) {
      oldest = sid;
    }
  };
  for (const FeedbackStore::Backlog& b : *backlogs) {
    consider(b.oldest_pending);
    consider(b.oldest_unread);
    items += b.pending + std::max<int64_t>(0, b.unread);
  }
  metrics_.lag_seconds.Set(
      oldest.has_value()
          ? std::max(0.0, absl::ToDoubleSeconds(now - oldest->time()))
          : 0.0);
  metrics_.backlog.Set(static_cast<double>(items));
}

}  // namespace rapport::feedback
