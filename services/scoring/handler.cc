#include "services/scoring/handler.h"

#include <algorithm>
#include <exception>
#include <utility>
#include <vector>

#include "absl/container/flat_hash_set.h"
#include "absl/random/random.h"
#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/notification.h"
#include "common/auth/auth.h"
#include "common/log/log.h"
#include "common/metrics/counters.h"
#include "common/status/item_error.h"
#include "common/status/macros.h"
#include "common/util/util.h"
#include "services/profile/model/text.h"
#include "services/profile/model/validate.h"

namespace rapport::scoring {
namespace {

constexpr size_t kMaxBodyBytes = size_t{64} * 1024;
// How long RecordOutcome waits for this replica's queued records before it
// says NOT_FOUND.
constexpr absl::Duration kFlushForOutcome = absl::Seconds(2);
// ... and how long for other replicas' (their queues are usually written
// within a round trip).
constexpr absl::Duration kOtherReplicaGrace = absl::Milliseconds(20);
constexpr size_t kMaxSubjectBytes = 1024;
constexpr int kMaxProductNames = 32;
constexpr size_t kMaxNameBytes = 256;

std::string NewMessageId() {
  return absl::StrCat("msg-",
                      absl::Hex(absl::Uniform<uint64_t>(util::ThreadBitGen()),
                                absl::kZeroPad16),
                      absl::Hex(absl::Uniform<uint64_t>(util::ThreadBitGen()),
                                absl::kZeroPad16));
}

absl::Status Invalid(absl::string_view field, absl::string_view what) {
  return absl::InvalidArgumentError(absl::StrCat(field, ": ", what));
}

absl::Status CheckText(absl::string_view field, absl::string_view text,
                       size_t max_bytes) {
  if (text.size() > max_bytes) {
    return Invalid(field, absl::StrCat(text.size(), " bytes; at most ",
                                       max_bytes, " are accepted"));
  }
  if (!profile::model::IsValidUtf8(text)) {
    return Invalid(field, "not valid UTF-8; send the text as UTF-8");
  }
  return absl::OkStatus();
}

// Sparse signals by rule id, for storage.
void ToStored(const engine::Signals& signals,
              const engine::CompiledRules& rules,
              google::protobuf::RepeatedPtrField<store::Signal>* out) {
  for (size_t i = 0; i < signals.x.size() && i < rules.size(); ++i) {
    if (signals.x[i] == 0) continue;
    store::Signal* s = out->Add();
    s->set_rule_id(rules.rule(i).id);
    s->set_value(signals.x[i]);
  }
}

// Dense signals aligned with `rules` (rules unknown to them are zero).
engine::Signals FromStored(
    const google::protobuf::RepeatedPtrField<store::Signal>& stored,
    const engine::CompiledRules& rules) {
  engine::Signals signals;
  signals.x.assign(rules.size(), 0.0);
  for (const store::Signal& s : stored) {
    const int i = rules.FindRule(s.rule_id());
    if (i >= 0) signals.x[static_cast<size_t>(i)] = s.value();
  }
  return signals;
}

redis::CoherentCacheOptions ReportCacheOptions(const ScoringOptions& options) {
  redis::CoherentCacheOptions out;
  out.capacity = options.local_report_cache_entries;
  out.max_age = absl::Hours(24);  // as the shared cache's TTL
  return out;
}

}  // namespace

ScoringMetrics::ScoringMetrics(prometheus::Registry& registry)
    : score(prometheus::BuildHistogram()
                .Name("rapport_scoring_score")
                .Help("Scores given to drafts (0-100)")
                .Register(registry)
                .Add({},
                     prometheus::Histogram::BucketBoundaries{
                         10, 20, 30, 40, 50, 60, 70, 80, 90, 100})),
      engine_seconds(
          prometheus::BuildHistogram()
              .Name("rapport_scoring_engine_seconds")
              .Help("Time the engine took to score one draft")
              .Register(registry)
              .Add({},
                   prometheus::Histogram::BucketBoundaries{
                       5e-6, 1e-5, 2e-5, 5e-5, 1e-4, 2e-4, 5e-4, 1e-3, 5e-3})),
      cache_hit(metrics::Counter(registry, "rapport_scoring_cache_total",
                                 "Score cache look-ups, by result",
                                 {{"result", "hit"}})),
      cache_miss(metrics::Counter(registry, "rapport_scoring_cache_total",
                                  "Score cache look-ups, by result",
                                  {{"result", "miss"}})),
      profile_unavailable(metrics::Counter(
          registry, "rapport_scoring_profile_unavailable_total",
          "Drafts scored without the recipient's profile because neither the "
          "cache nor profile-service could answer")),
      model_unavailable(
          metrics::Counter(registry, "rapport_scoring_model_unavailable_total",
                           "Drafts scored with the default weights because the "
                           "model could not be read")),
      outcome_applied(metrics::Counter(
          registry, "rapport_scoring_outcomes_total",
          "Outcomes received by RecordOutcome and RecordOutcomes, by result",
          {{"result", "learned"}})),
      outcome_duplicate(metrics::Counter(
          registry, "rapport_scoring_outcomes_total",
          "Outcomes received by RecordOutcome and RecordOutcomes, by result",
          {{"result", "duplicate"}})),
      outcome_not_learned(metrics::Counter(
          registry, "rapport_scoring_outcomes_total",
          "Outcomes received by RecordOutcome and RecordOutcomes, by result",
          {{"result", "not_learned"}})),
      model_conflicts(metrics::Counter(
          registry, "rapport_scoring_model_conflicts_total",
          "Model updates retried because another replica wrote first")),
      model_version(metrics::Gauge(
          registry, "rapport_scoring_model_version",
          "Highest model version this replica has used or written")),
      rules_reloaded(metrics::Counter(
          registry, "rapport_scoring_rules_reloads_total",
          "Rules file reloads, by result", {{"result", "applied"}})),
      rules_rejected(metrics::Counter(
          registry, "rapport_scoring_rules_reloads_total",
          "Rules file reloads, by result", {{"result", "rejected"}})),
      records_pending(metrics::Gauge(
          registry, "rapport_scoring_record_writes_pending",
          "Message records and cache entries queued for writing to Redis "
          "(answered, not yet stored)")),
      record_batches_written(metrics::Counter(
          registry, "rapport_scoring_record_batches_total",
          "Batches of message records sent to Redis, by result",
          {{"result", "written"}})),
      record_batches_failed(metrics::Counter(
          registry, "rapport_scoring_record_batches_total",
          "Batches of message records sent to Redis, by result",
          {{"result", "failed"}})),
      records_refused(metrics::Counter(
          registry, "rapport_scoring_record_writes_refused_total",
          "ScoreMessage calls refused (UNAVAILABLE) because records could "
          "not be queued: Redis failing or the queue full")),
      findings_(prometheus::BuildCounter()
                    .Name("rapport_scoring_findings_total")
                    .Help("Findings reported, by rule id")
                    .Register(registry)) {}

void ScoringMetrics::CountFinding(absl::string_view rule_id) {
  prometheus::Counter* counter = nullptr;
  {
    absl::ReaderMutexLock lock(&mu_);
    auto it = by_rule_.find(rule_id);
    if (it != by_rule_.end()) counter = it->second;
  }
  if (counter == nullptr) {
    absl::MutexLock lock(&mu_);
    auto [it, inserted] = by_rule_.try_emplace(rule_id, nullptr);
    if (inserted) {
      it->second = &findings_.Add({{"rule_id", std::string(rule_id)}});
    }
    counter = it->second;
  }
  counter->Increment();
}

void ScoringMetrics::ObserveRecordWrites(
    const redis::WriteBehind::Stats& stats) {
  // Stats are cumulative and observer calls may overlap: add what is new.
  absl::MutexLock lock(&mu_);
  records_pending.Set(static_cast<double>(stats.pending));
  auto add = [](prometheus::Counter& c, uint64_t now, uint64_t& last) {
    if (now > last) c.Increment(static_cast<double>(now - last));
    last = std::max(last, now);
  };
  add(record_batches_written, stats.batches, last_writes_.batches);
  add(record_batches_failed, stats.failed_batches, last_writes_.failed_batches);
  add(records_refused, stats.refused, last_writes_.refused);
}

absl::Status ValidateScoreRequest(const v1::ScoreMessageRequest& request,
                                  absl::Time now) {
  if (!request.has_message()) {
    return Invalid("message",
                   "required: the draft to score (channel, "
                   "subject, body)");
  }
  const v1::Draft& draft = request.message();
  RETURN_IF_ERROR(CheckText("message.body", draft.body(), kMaxBodyBytes));
  if (absl::StripAsciiWhitespace(draft.body()).empty()) {
    return Invalid("message.body", "empty; paste the draft to score");
  }
  RETURN_IF_ERROR(
      CheckText("message.subject", draft.subject(), kMaxSubjectBytes));
  if (!common::v1::Channel_IsValid(draft.channel())) {
    return Invalid("message.channel", "unknown channel");
  }
  switch (request.recipient_source_case()) {
    case v1::ScoreMessageRequest::kContactId:
      RETURN_IF_ERROR(
          profile::model::ValidateId("contact_id", request.contact_id()));
      break;
    case v1::ScoreMessageRequest::kRecipient:
      RETURN_IF_ERROR(profile::model::ValidateContact(request.recipient(), now,
                                                      "recipient"));
      break;
    case v1::ScoreMessageRequest::RECIPIENT_SOURCE_NOT_SET:
      break;
  }
  const common::v1::Sender& sender = request.sender();
  RETURN_IF_ERROR(
      profile::model::ValidateOptionalId("sender.rep_id", sender.rep_id()));
  RETURN_IF_ERROR(
      CheckText("sender.company_name", sender.company_name(), kMaxNameBytes));
  if (sender.product_names_size() > kMaxProductNames) {
    return Invalid("sender.product_names",
                   absl::StrCat("at most ", kMaxProductNames, " names"));
  }
  for (int i = 0; i < sender.product_names_size(); ++i) {
    RETURN_IF_ERROR(CheckText(absl::StrCat("sender.product_names[", i, "]"),
                              sender.product_names(i), kMaxNameBytes));
  }
  RETURN_IF_ERROR(
      profile::model::ValidateOptionalId("message_id", request.message_id()));
  RETURN_IF_ERROR(
      profile::model::ValidateOptionalId("template_id", request.template_id()));
  RETURN_IF_ERROR(
      profile::model::ValidateOptionalId("campaign_id", request.campaign_id()));
  RETURN_IF_ERROR(
      profile::model::ValidateOptionalId("request_id", request.request_id()));
  return absl::OkStatus();
}

std::string CacheKey(const v1::ScoreMessageRequest& request,
                     const profile::v1::Profile* profile,
                     absl::string_view rules_version, int64_t model_version) {
  // Exact bytes, not a normalised text: the cached findings' offsets must
  // point into this very draft.
  std::string material;
  material.reserve(request.message().body().size() + 256);
  const auto add = [&material](absl::string_view part) {
    absl::StrAppend(&material, part.size(), ":", part, ";");
  };
  add(absl::StrCat(request.message().channel()));
  add(request.message().subject());
  add(request.message().body());
  add(request.sender().SerializeAsString());
  if (profile == nullptr) {
    add("no-recipient");
  } else if (request.has_recipient()) {
    add(absl::StrCat("inline:", request.recipient().SerializeAsString()));
  } else {
    add(absl::StrCat("contact:", request.contact_id(), "@",
                     profile->version()));
  }
  add(rules_version);
  add(absl::StrCat(model_version));
  const std::string hex = auth::Sha256Hex(material);
  return hex.substr(0, 40);
}

ScoringHandler::ScoringHandler(
    ScoringStore& store, ProfileSource& profiles, ScoringMetrics& metrics,
    std::shared_ptr<const engine::CompiledRules> rules, ScoringOptions options)
    : store_(store),
      profiles_(profiles),
      metrics_(metrics),
      options_(std::move(options)),
      local_reports_(ReportCacheOptions(options_)),
      rules_(std::move(rules)) {
  // Entries never change (see Lookup): nothing to subscribe to.
  local_reports_.SetSubscribed(true);
}

void ScoringHandler::SetRules(
    std::shared_ptr<const engine::CompiledRules> rules) {
  absl::MutexLock lock(&rules_mu_);
  rules_ = std::move(rules);
}

std::shared_ptr<const engine::CompiledRules> ScoringHandler::rules() const {
  absl::MutexLock lock(&rules_mu_);
  return rules_;
}

absl::StatusOr<engine::ModelWeights> ScoringHandler::LoadWeights(
    absl::string_view tenant, const engine::CompiledRules& rules) {
  ASSIGN_OR_RETURN(std::optional<v1::Model> model, store_.LoadModel(tenant));
  if (!model.has_value()) return engine::DefaultWeights(rules);
  return engine::FromModelProto(*model, rules);
}

std::shared_ptr<const engine::ModelWeights> ScoringHandler::Weights(
    absl::string_view tenant,
    const std::shared_ptr<const engine::CompiledRules>& rules, bool* degraded) {
  const absl::Time now = options_.now();
  std::shared_ptr<const engine::ModelWeights> cached;
  {
    absl::MutexLock lock(&models_mu_);
    auto it = models_.find(tenant);
    if (it != models_.end() && it->second.rules_version == rules->version()) {
      if (now - it->second.checked_at < options_.model_poll) {
        return it->second.weights;
      }
      cached = it->second.weights;
    }
  }
  // Due for a check: one HGET of the version, the whole model only when it
  // changed.
  absl::StatusOr<int64_t> version = store_.ModelVersion(tenant);
  if (version.ok() && cached != nullptr && cached->version == *version) {
    absl::MutexLock lock(&models_mu_);
    models_[tenant].checked_at = now;
    return cached;
  }
  absl::StatusOr<engine::ModelWeights> loaded =
      version.ok() ? LoadWeights(tenant, *rules)
                   : absl::StatusOr<engine::ModelWeights>(version.status());
  if (!loaded.ok()) {
    *degraded = true;
    metrics_.model_unavailable.Increment();
    if (cached != nullptr) return cached;
    return std::make_shared<const engine::ModelWeights>(
        engine::DefaultWeights(*rules));
  }
  auto weights =
      std::make_shared<const engine::ModelWeights>(*std::move(loaded));
  metrics_.model_version.Set(std::max(metrics_.model_version.Value(),
                                      static_cast<double>(weights->version)));
  absl::MutexLock lock(&models_mu_);
  models_[tenant] = CachedModel{weights, rules->version(), now};
  return weights;
}

// One ScoreMessage on its way through the steps below, which may run on
// the calling thread (everything cached), on a Redis I/O thread, or on a
// gRPC client thread (profile-service asked).
struct ScoringHandler::Call {
  std::string tenant;
  const v1::ScoreMessageRequest* request;
  std::string* report;
  ScoreDone done;
  absl::Time now;
  std::shared_ptr<const engine::CompiledRules> rules;
  std::shared_ptr<const engine::ModelWeights> weights;
  std::shared_ptr<const profile::v1::Profile> profile;  // null: none
  std::string contact_id;
  std::vector<v1::Degradation> degradations;
  bool cacheable = false;
  std::string cache_key;
};

absl::Status ScoringHandler::ScoreMessage(
    absl::string_view tenant, const v1::ScoreMessageRequest& request,
    v1::ScoreReport* report) {
  absl::Notification finished;
  absl::Status result;
  std::string bytes;
  ScoreMessage(tenant, request, &bytes, [&](absl::Status status) {
    result = std::move(status);
    finished.Notify();
  });
  finished.WaitForNotification();
  if (result.ok() && !report->ParseFromString(bytes)) {
    return absl::InternalError("the report's encoding did not parse back");
  }
  return result;
}

void ScoringHandler::ScoreMessage(absl::string_view tenant,
                                  const v1::ScoreMessageRequest& request,
                                  std::string* report, ScoreDone done) {
  auto call = std::make_unique<Call>();
  call->tenant = std::string(tenant);
  call->request = &request;
  call->report = report;
  call->done = std::move(done);
  call->now = options_.now();
  if (absl::Status s = ValidateScoreRequest(request, call->now); !s.ok()) {
    Finish(std::move(call), s);
    return;
  }
  call->rules = rules();
  bool model_degraded = false;
  call->weights = Weights(tenant, call->rules, &model_degraded);
  if (model_degraded) {
    call->degradations.push_back(v1::DEGRADATION_MODEL_UNAVAILABLE);
  }

  // The recipient.
  if (request.has_recipient()) {
    call->profile = std::make_shared<const profile::v1::Profile>(
        engine::ProfileFromContact(request.recipient()));
    call->contact_id = request.recipient().id();
    call->degradations.push_back(v1::DEGRADATION_INLINE_RECIPIENT);
    Lookup(std::move(call));
    return;
  }
  if (request.contact_id().empty()) {
    Lookup(std::move(call));
    return;
  }
  call->contact_id = request.contact_id();
  const std::string contact_id = call->contact_id;
  profiles_.Fetch(
      tenant, contact_id,
      [this, call = std::move(call)](
          absl::StatusOr<ProfileSource::Fetched> fetched) mutable {
        if (!fetched.ok()) {
          Finish(std::move(call), fetched.status());
          return;
        }
        if (fetched->profile != nullptr) {
          call->profile = std::move(fetched->profile);
        } else {
          call->degradations.push_back(v1::DEGRADATION_PROFILE_UNAVAILABLE);
          metrics_.profile_unavailable.Increment();
        }
        Lookup(std::move(call));
      });
}

void ScoringHandler::Lookup(std::unique_ptr<Call> call) {
  // A degraded answer is never cached. The key covers everything the
  // report depends on (draft, sender, recipient version, rules, model), so
  // an entry never changes and the local copy needs no invalidation.
  const auto& d = call->degradations;
  call->cacheable =
      d.empty() || (d.size() == 1 && d[0] == v1::DEGRADATION_INLINE_RECIPIENT);
  if (!call->cacheable) {
    Score(std::move(call));
    return;
  }
  call->cache_key = CacheKey(*call->request, call->profile.get(),
                             call->rules->version(), call->weights->version);
  if (std::shared_ptr<const LocalReport> local =
          local_reports_.Get(call->cache_key)) {
    metrics_.cache_hit.Increment();
    Respond(std::move(call), local->entry, local->report_bytes, nullptr);
    return;
  }
  const std::string tenant = call->tenant;
  const std::string key = call->cache_key;
  store_.LoadCache(
      tenant, key,
      [this, call = std::move(call)](
          absl::StatusOr<std::optional<store::CacheEntry>> cached) mutable {
        if (cached.ok() && cached->has_value()) {
          metrics_.cache_hit.Increment();
          // Seen twice: worth keeping in memory too. (Drafts seen once,
          // the common case in a campaign, never churn the local cache.)
          auto local = std::make_shared<LocalReport>();
          local->entry = **std::move(cached);
          local->entry.report().SerializeToString(&local->report_bytes);
          local_reports_.Fill(call->cache_key,
                              local_reports_.Begin(call->cache_key),
                              std::shared_ptr<const LocalReport>(local));
          Respond(std::move(call), local->entry, local->report_bytes, nullptr);
          return;
        }
        Score(std::move(call));
      });
}

void ScoringHandler::Score(std::unique_ptr<Call> call) {
  if (call->cacheable) metrics_.cache_miss.Increment();
  engine::ScoreInput in;
  in.draft = &call->request->message();
  in.profile = call->profile.get();
  in.sender = &call->request->sender();
  auto entry = std::make_unique<store::CacheEntry>();
  try {
    engine::Signals signals;
    const absl::Time start = absl::Now();
    *entry->mutable_report() =
        engine::Score(in, *call->rules, *call->weights, &signals);
    metrics_.engine_seconds.Observe(absl::ToDoubleSeconds(absl::Now() - start));
    ToStored(signals, *call->rules, entry->mutable_signals());
  } catch (const std::exception& e) {
    log::Error("handler_exception",
               {{"rpc", "ScoreMessage"}, {"what", e.what()}});
    Finish(std::move(call),
           absl::InternalError("scoring failed on an internal error; it is "
                               "logged as handler_exception"));
    return;
  }
  store::CacheEntry& ref = *entry;
  Respond(std::move(call), ref, "", std::move(entry));
}

void ScoringHandler::Respond(std::unique_ptr<Call> call,
                             const store::CacheEntry& entry,
                             absl::string_view report_bytes,
                             std::unique_ptr<store::CacheEntry> fresh) {
  const v1::ScoreMessageRequest& request = *call->request;
  const v1::ScoreReport& scored = entry.report();
  // The message's record, from the signals and findings.
  store::MessageRecord record;
  *record.mutable_signals() = entry.signals();
  record.set_rules_version(call->rules->version());
  record.set_contact_id(call->contact_id);
  record.set_template_id(request.template_id());
  record.set_campaign_id(request.campaign_id());
  record.set_channel(request.message().channel());
  // A report has a few dozen findings at most: a linear look-up beats
  // hashing (and allocating) a set per draft.
  for (const v1::Finding& f : scored.findings()) {
    const auto& fired = record.fired_rule_ids();
    if (std::find(fired.begin(), fired.end(), f.rule_id()) == fired.end()) {
      record.add_fired_rule_ids(f.rule_id());
    }
    metrics_.CountFinding(f.rule_id());
  }
  record.set_model_version(call->weights->version);
  record.set_score(scored.score());

  // The report is serialized once. A message's encoding is its fields in
  // any order, so the answer is the scored report's bytes followed by the
  // fields of this request (message id, time, ...), and a fresh cache entry
  // is the same bytes as its `report` field followed by the entry's other
  // fields: both parse as the whole message.
  std::string& answer = *call->report;
  if (report_bytes.empty()) {
    answer.clear();
    scored.AppendToString(&answer);
  } else {
    answer.assign(report_bytes.data(), report_bytes.size());
  }
  std::string cache_bytes;
  const bool write_cache = fresh != nullptr && call->cacheable;
  if (write_cache) {
    util::AppendLengthDelimitedHeader(store::CacheEntry::kReportFieldNumber,
                                      answer.size(), &cache_bytes);
    cache_bytes.append(answer);
    fresh->clear_report();
    fresh->AppendToString(&cache_bytes);
  }
  v1::ScoreReport own;
  own.set_message_id(request.message_id().empty() ? NewMessageId()
                                                  : request.message_id());
  *own.mutable_scored_at() = util::ToTimestamp(call->now);
  own.set_cached(fresh == nullptr);
  for (v1::Degradation d : call->degradations) own.add_degradations(d);
  own.set_request_id(request.request_id());
  own.set_contact_id(call->contact_id);
  own.set_template_id(request.template_id());
  own.set_campaign_id(request.campaign_id());
  own.AppendToString(&answer);
  *record.mutable_scored_at() = own.scored_at();

  // The record (and a fresh cache entry) are written behind the answer:
  // queued here, sent with other calls' writes within 1 ms and a round trip.
  absl::Status saved =
      store_.SaveScored(call->tenant, own.message_id(), record, call->cache_key,
                        write_cache ? &cache_bytes : nullptr);
  if (saved.ok()) metrics_.score.Observe(record.score());
  Finish(std::move(call), std::move(saved));
}

void ScoringHandler::Finish(std::unique_ptr<Call> call, absl::Status status) {
  ScoreDone done = std::move(call->done);
  call.reset();
  std::move(done)(std::move(status));
}

// One outcome of a RecordOutcomes call on its way through.
struct ScoringHandler::Pending {
  const v1::RecordOutcomeRequest* request = nullptr;
  v1::RecordOutcomeResult* result = nullptr;
  std::optional<store::MessageRecord> record;
  std::optional<bool> label;
  bool failed = false;

  void Fail(const absl::Status& status) {
    failed = true;
    ToItemError(status, result->mutable_error());
  }
};

absl::Status ScoringHandler::RecordOutcome(
    absl::string_view tenant, const v1::RecordOutcomeRequest& request,
    v1::RecordOutcomeResponse* response) {
  v1::RecordOutcomesRequest batch;
  *batch.add_outcomes() = request;
  v1::RecordOutcomesResponse answer;
  RETURN_IF_ERROR(RecordOutcomes(tenant, batch, &answer));
  return TakeOnlyResult(*answer.mutable_results(0), response);
}

absl::Status ScoringHandler::RecordOutcomes(
    absl::string_view tenant, const v1::RecordOutcomesRequest& request,
    v1::RecordOutcomesResponse* response) {
  const int n = request.outcomes_size();
  if (n == 0) {
    return Invalid("outcomes", "required: at least one outcome");
  }
  if (n > kMaxOutcomesPerCall) {
    return Invalid("outcomes",
                   absl::StrCat(n, " outcomes; at most ", kMaxOutcomesPerCall,
                                " per call, send the rest in "
                                "another call"));
  }
  std::vector<Pending> pending(static_cast<size_t>(n));
  for (int i = 0; i < n; ++i) {
    Pending& p = pending[static_cast<size_t>(i)];
    p.request = &request.outcomes(i);
    p.result = response->add_results();
    const v1::RecordOutcomeRequest& r = *p.request;
    absl::Status valid =
        profile::model::ValidateId("message_id", r.message_id());
    if (valid.ok() && (r.outcome() == common::v1::OUTCOME_UNSPECIFIED ||
                       !common::v1::Outcome_IsValid(r.outcome()))) {
      valid = Invalid("outcome",
                      "required: what happened (e.g. "
                      "OUTCOME_MEETING_BOOKED, OUTCOME_NO_REPLY)");
    }
    if (valid.ok()) {
      valid =
          profile::model::ValidateOptionalId("feedback_id", r.feedback_id());
    }
    if (!valid.ok()) {
      // Named by position when the call carries more than one outcome.
      p.Fail(n == 1
                 ? valid
                 : absl::Status(valid.code(), absl::StrCat("outcomes[", i, "].",
                                                           valid.message())));
    }
  }
  RETURN_IF_ERROR(LoadRecords(tenant, pending));
  for (Pending& p : pending) {
    if (p.failed) continue;
    v1::RecordOutcomeResponse* r = p.result->mutable_response();
    r->set_contact_id(p.record->contact_id());
    r->set_template_id(p.record->template_id());
    r->set_campaign_id(p.record->campaign_id());
    *r->mutable_fired_rule_ids() = p.record->fired_rule_ids();
    r->set_channel(p.record->channel());
    // A bounce says nothing about the text: nothing to learn.
    p.label = engine::LabelForOutcome(p.request->outcome());
    if (!p.label.has_value()) metrics_.outcome_not_learned.Increment();
  }
  return LearnOutcomes(tenant, pending);
}

absl::Status ScoringHandler::LoadRecords(absl::string_view tenant,
                                         std::vector<Pending>& pending) {
  // Loads the records of the outcomes in `missing` (indexes into pending),
  // keeping those still not found in it.
  auto load = [&](std::vector<size_t>& missing) -> absl::Status {
    std::vector<std::string> ids;
    ids.reserve(missing.size());
    for (size_t i : missing) ids.push_back(pending[i].request->message_id());
    ASSIGN_OR_RETURN(std::vector<ScoringStore::LoadedMessage> loaded,
                     store_.LoadMessages(tenant, ids));
    std::vector<size_t> still;
    for (size_t k = 0; k < missing.size(); ++k) {
      Pending& p = pending[missing[k]];
      if (!loaded[k].ok()) {
        p.Fail(loaded[k].status());
      } else if (loaded[k]->has_value()) {
        p.record = **std::move(loaded[k]);
      } else {
        still.push_back(missing[k]);
      }
    }
    missing = std::move(still);
    return absl::OkStatus();
  };
  std::vector<size_t> missing;
  for (size_t i = 0; i < pending.size(); ++i) {
    if (!pending[i].failed) missing.push_back(i);
  }
  if (missing.empty()) return absl::OkStatus();
  RETURN_IF_ERROR(load(missing));
  if (!missing.empty()) {
    // Scored here a moment ago, a record may still be queued for writing.
    if (absl::Status flushed = store_.FlushScored(kFlushForOutcome);
        !flushed.ok()) {
      return absl::UnavailableError(absl::StrCat(
          "message_id: not found yet, and scored records are still being "
          "written (",
          flushed.message(), "); retry"));
    }
    RETURN_IF_ERROR(load(missing));
  }
  if (!missing.empty()) {
    // Or scored by another replica whose write is a round trip behind.
    absl::SleepFor(kOtherReplicaGrace);
    RETURN_IF_ERROR(load(missing));
  }
  for (size_t i : missing) {
    pending[i].Fail(absl::NotFoundError(absl::StrCat(
        "message_id: no scored message \"",
        absl::CEscape(pending[i].request->message_id()),
        "\" (never scored here, or scored longer ago than the retention "
        "period); retrying will not help")));
  }
  return absl::OkStatus();
}

absl::Status ScoringHandler::LearnOutcomes(absl::string_view tenant,
                                           std::vector<Pending>& pending) {
  // What to learn from: labelled outcomes, a feedback id once (a repeat
  // within the call is a duplicate like one across calls).
  std::vector<Pending*> learn;
  absl::flat_hash_set<absl::string_view> ids;
  auto mark_duplicate = [&](Pending& p) {
    metrics_.outcome_duplicate.Increment();
    p.result->mutable_response()->set_duplicate(true);
  };
  for (Pending& p : pending) {
    if (p.failed || !p.label.has_value()) continue;
    const std::string& id = p.request->feedback_id();
    if (!id.empty() && !ids.insert(id).second) {
      mark_duplicate(p);
      continue;
    }
    learn.push_back(&p);
  }
  // Outcomes learned before are found by the compare-and-set script, which
  // then writes nothing and names them; the rest is learned again without
  // them.
  const std::shared_ptr<const engine::CompiledRules> rules = this->rules();
  const engine::LearnOptions options = engine::LearnOptions::FromRules(*rules);
  int64_t version = -1;  // the model version every result reports
  for (int attempt = 0; attempt < options_.max_learn_attempts; ++attempt) {
    std::erase_if(learn, [](const Pending* p) {
      return p->result->response().duplicate();
    });
    if (learn.empty()) {
      if (version < 0) {
        ASSIGN_OR_RETURN(version, store_.ModelVersion(tenant));
      }
      break;
    }
    ASSIGN_OR_RETURN(engine::ModelWeights weights, LoadWeights(tenant, *rules));
    const int64_t expected = weights.version;
    for (const Pending* p : learn) {
      engine::Learn(FromStored(p->record->signals(), *rules), *p->label,
                    options, &weights);
    }
    weights.version = expected + 1;
    v1::Model model = engine::ToModelProto(weights, *rules);
    model.set_version(expected + 1);
    *model.mutable_updated_at() = util::ToTimestamp(options_.now());
    std::vector<std::string> outcome_ids;
    for (const Pending* p : learn) {
      if (!p->request->feedback_id().empty()) {
        outcome_ids.push_back(p->request->feedback_id());
      }
    }
    ASSIGN_OR_RETURN(
        ScoringStore::Cas cas,
        store_.CompareAndSetModel(tenant, expected, model, outcome_ids));
    if (cas.result == ScoringStore::CasResult::kApplied) {
      metrics_.outcome_applied.Increment(static_cast<double>(learn.size()));
      metrics_.model_version.Set(std::max(metrics_.model_version.Value(),
                                          static_cast<double>(expected + 1)));
      for (Pending* p : learn) p->result->mutable_response()->set_applied(true);
      version = expected + 1;
      learn.clear();
      break;
    }
    if (cas.result == ScoringStore::CasResult::kDuplicate) {
      // Learned before (or by another call meanwhile): learn the rest from
      // scratch.
      size_t k = 0;
      for (Pending* p : learn) {
        if (p->request->feedback_id().empty()) continue;
        if (std::find(cas.duplicates.begin(), cas.duplicates.end(), k) !=
            cas.duplicates.end()) {
          mark_duplicate(*p);
        }
        ++k;
      }
      version = expected;
      continue;
    }
    metrics_.model_conflicts.Increment();
    absl::SleepFor(util::JitteredBackoff(attempt, absl::Microseconds(100),
                                         absl::Milliseconds(20)));
  }
  if (!learn.empty()) {
    return absl::AbortedError(
        "the model changed too often while these outcomes were being "
        "learned; retry the call (it is idempotent with feedback ids)");
  }
  for (Pending& p : pending) {
    if (!p.failed) p.result->mutable_response()->set_model_version(version);
  }
  return absl::OkStatus();
}

absl::Status ScoringHandler::GetModel(absl::string_view tenant,
                                      const v1::GetModelRequest& request,
                                      v1::Model* model) {
  const std::shared_ptr<const engine::CompiledRules> rules = this->rules();
  ASSIGN_OR_RETURN(std::optional<v1::Model> stored, store_.LoadModel(tenant));
  engine::ModelWeights weights = stored
                                     ? engine::FromModelProto(*stored, *rules)
                                     : engine::DefaultWeights(*rules);
  *model = engine::ToModelProto(weights, *rules);
  if (stored) {
    model->set_version(stored->version());
    *model->mutable_updated_at() = stored->updated_at();
  }
  return absl::OkStatus();
}

}  // namespace rapport::scoring
