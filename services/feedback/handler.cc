#include "services/feedback/handler.h"

#include <google/protobuf/io/coded_stream.h>
#include <google/protobuf/io/zero_copy_stream_impl_lite.h>

#include <algorithm>
#include <utility>
#include <vector>

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/synchronization/notification.h"
#include "common/log/log.h"
#include "common/metrics/counters.h"
#include "common/status/macros.h"
#include "common/util/util.h"
#include "services/feedback/digest.h"
#include "services/feedback/validate.h"

namespace rapport::feedback {
namespace {

using common::v1::Team;

constexpr int kDigestPage = 1000;

absl::Status RequireWrite(const auth::Principal& principal) {
  if (principal.CanWrite()) return absl::OkStatus();
  return absl::PermissionDeniedError(
      absl::StrCat("the API key's role \"", principal.role,
                   "\" may only read; use a key with role writer or admin"));
}

// When the API key is bound to a team, authors must be of that team: a
// sales key cannot put words in marketing's mouth.
absl::Status CheckAuthorTeam(const auth::Principal& principal,
                             const v1::Feedback& item) {
  if (principal.team.empty()) return absl::OkStatus();
  const std::string author = TeamKeyName(item.author().team());
  if (author == principal.team) return absl::OkStatus();
  return absl::PermissionDeniedError(
      absl::StrCat("feedback.author.team: TEAM_", author,
                   " differs from the API key's team TEAM_", principal.team,
                   "; submit feedback as your own team"));
}

// The team a flagged item is aimed at, for the respect metric.
Team TargetTeam(const v1::Feedback& item) {
  if (item.has_note()) return item.note().to_team();
  if (item.subject().has_team()) return item.subject().team();
  return common::v1::TEAM_UNSPECIFIED;
}

int TeamIndex(Team team) {
  const int t = static_cast<int>(team);
  return t >= 0 && t < kTeamCount ? t : 0;
}

int64_t CeilMillis(absl::Time t) {
  const int64_t ms = absl::ToUnixMillis(t);  // truncates toward zero
  return absl::FromUnixMillis(ms) < t ? ms + 1 : ms;
}

}  // namespace

FeedbackMetrics::FeedbackMetrics(prometheus::Registry& registry)
    : duplicates(metrics::Counter(registry, "rapport_feedback_duplicates_total",
                                  "SubmitFeedback replays of an idempotency "
                                  "key, answered with the original item")),
      lexicon_reloaded(
          metrics::Counter(registry, "rapport_feedback_lexicon_reloads_total",
                           "Respect lexicon reloads (SIGHUP), by result",
                           {{"result", "loaded"}})),
      lexicon_rejected(
          metrics::Counter(registry, "rapport_feedback_lexicon_reloads_total",
                           "Respect lexicon reloads (SIGHUP), by result",
                           {{"result", "rejected"}})),
      watchers(metrics::Gauge(registry, "rapport_feedback_watchers",
                              "Open WatchFeedback streams")),
      unreadable_entries(metrics::Counter(
          registry, "rapport_feedback_unreadable_entries_total",
          "Feedback stream entries that could not be decoded and were "
          "skipped")) {
  auto& submitted = prometheus::BuildCounter()
                        .Name("rapport_feedback_submitted_total")
                        .Help("Feedback items stored, by author team and kind")
                        .Register(registry);
  auto& flags = prometheus::BuildCounter()
                    .Name("rapport_feedback_respect_flags_total")
                    .Help(
                        "Stored items the respect check flagged, by author "
                        "team and the team they are aimed at")
                    .Register(registry);
  for (int t = 0; t < kTeamCount; ++t) {
    const std::string team = TeamLabel(static_cast<Team>(t));
    for (int k = 0; k < kKindCount; ++k) {
      submitted_[t][k] = &submitted.Add(
          {{"team", team},
           {"kind", KindLabel(static_cast<v1::FeedbackKind>(k))}});
    }
    for (int u = 0; u < kTeamCount; ++u) {
      respect_flags_[t][u] =
          &flags.Add({{"author_team", team},
                      {"target_team", TeamLabel(static_cast<Team>(u))}});
    }
  }
}

prometheus::Counter& FeedbackMetrics::Submitted(Team team,
                                                v1::FeedbackKind kind) {
  const int k = static_cast<int>(kind);
  return *submitted_[TeamIndex(team)][k >= 0 && k < kKindCount ? k : 0];
}

prometheus::Counter& FeedbackMetrics::RespectFlag(Team author, Team target) {
  return *respect_flags_[TeamIndex(author)][TeamIndex(target)];
}

FeedbackHandler::FeedbackHandler(
    FeedbackStore& store, FeedbackMetrics& metrics,
    std::shared_ptr<const respect::RespectChecker> checker,
    HandlerOptions options)
    : store_(store),
      metrics_(metrics),
      options_(std::move(options)),
      checker_(std::move(checker)) {}

std::shared_ptr<const respect::RespectChecker> FeedbackHandler::checker()
    const {
  absl::MutexLock lock(&mu_);
  return checker_;
}

void FeedbackHandler::SetChecker(
    std::shared_ptr<const respect::RespectChecker> checker) {
  absl::MutexLock lock(&mu_);
  checker_ = std::move(checker);
}

absl::StatusOr<FeedbackHandler::SubmitPlan> FeedbackHandler::PrepareSubmit(
    const auth::Principal& principal, const v1::SubmitFeedbackRequest& request,
    v1::SubmitFeedbackResponse* response) {
  RETURN_IF_ERROR(RequireWrite(principal));
  if (!request.has_feedback()) {
    return absl::InvalidArgumentError("feedback: required");
  }
  SubmitPlan plan;
  plan.tenant = principal.tenant;
  ASSIGN_OR_RETURN(plan.item,
                   NormalizeSubmission(request.feedback(), options_.now()));
  RETURN_IF_ERROR(CheckAuthorTeam(principal, plan.item));

  for (v1::RespectWarning& w : checker()->CheckFeedback(plan.item)) {
    *plan.item.add_warnings() = std::move(w);
  }
  plan.item.set_flagged(plan.item.warnings_size() > 0);
  if (request.validate_only()) {
    *response->mutable_warnings() = plan.item.warnings();
    response->set_flagged(plan.item.flagged());
    plan.store = false;
  }
  return plan;
}

void FeedbackHandler::StoreSubmit(SubmitPlan plan,
                                  v1::SubmitFeedbackResponse* response,
                                  SubmitDone done) {
  if (!plan.store) {
    std::move(done)(absl::OkStatus());
    return;
  }
  const std::string key = plan.item.idempotency_key();
  store_.Append(
      plan.tenant, plan.item, key,
      [this, response, done = std::move(done)](
          absl::StatusOr<FeedbackStore::AppendResult> stored) mutable {
        if (!stored.ok()) {
          std::move(done)(stored.status());
          return;
        }
        const v1::Feedback& answer = stored->entry.feedback;
        response->set_feedback_id(stored->entry.id);
        *response->mutable_created_at() = answer.created_at();
        *response->mutable_warnings() = answer.warnings();
        response->set_flagged(answer.flagged());
        response->set_duplicate(stored->duplicate);
        if (stored->duplicate) {
          metrics_.duplicates.Increment();
        } else {
          metrics_.Submitted(answer.author().team(), KindOf(answer))
              .Increment();
          if (answer.flagged()) {
            metrics_.RespectFlag(answer.author().team(), TargetTeam(answer))
                .Increment();
          }
        }
        std::move(done)(absl::OkStatus());
      });
}

absl::Status FeedbackHandler::SubmitFeedback(
    const auth::Principal& principal, const v1::SubmitFeedbackRequest& request,
    v1::SubmitFeedbackResponse* response) {
  ASSIGN_OR_RETURN(SubmitPlan plan,
                   PrepareSubmit(principal, request, response));
  absl::Notification answered;
  absl::Status status;
  StoreSubmit(std::move(plan), response, [&](absl::Status s) {
    status = std::move(s);
    answered.Notify();
  });
  answered.WaitForNotification();
  return status;
}

std::string EncodePageToken(absl::string_view last_id,
                            const v1::FeedbackFilter& filter) {
  return absl::WebSafeBase64Escape(absl::StrCat(
      "f1:", absl::Hex(util::StableFingerprint(filter)), ":", last_id));
}

absl::StatusOr<std::string> DecodePageToken(absl::string_view token,
                                            const v1::FeedbackFilter& filter) {
  const absl::Status bad = absl::InvalidArgumentError(
      "page_token: not a token from a previous ListFeedback response; start "
      "again with an empty page_token");
  std::string raw;
  if (!absl::WebSafeBase64Unescape(token, &raw)) return bad;
  std::vector<absl::string_view> parts =
      absl::StrSplit(raw, absl::MaxSplits(':', 2));
  if (parts.size() != 3 || parts[0] != "f1" ||
      !ParseStreamId(parts[2]).has_value()) {
    return bad;
  }
  if (parts[1] != absl::StrCat(absl::Hex(util::StableFingerprint(filter)))) {
    return absl::InvalidArgumentError(
        "page_token: it was issued for a different filter; keep the filter "
        "unchanged while paging, or start again with an empty page_token");
  }
  return ToStr(parts[2]);
}

std::string RangeMin(const v1::FeedbackFilter& filter) {
  if (!filter.has_start_time()) return "-";
  // Items carry millisecond ids: the first millisecond at or after start.
  return absl::StrCat(
      std::max<int64_t>(0, CeilMillis(FromProto(filter.start_time()))));
}

std::string RangeMax(const v1::FeedbackFilter& filter, bool* empty) {
  *empty = false;
  if (!filter.has_end_time()) return "+";
  // Exclusive end: every sequence of the last millisecond before it (an id
  // without a sequence means its highest sequence as an XRANGE end).
  const int64_t end = CeilMillis(FromProto(filter.end_time()));
  if (end <= 0) {
    *empty = true;
    return "0";
  }
  return absl::StrCat(end - 1);
}

absl::Status FeedbackHandler::ListFeedback(
    absl::string_view tenant, const v1::ListFeedbackRequest& request,
    v1::ListFeedbackResponse* response) {
  RETURN_IF_ERROR(ValidatePaging(request.page_size(), request.page_token()));
  RETURN_IF_ERROR(
      ValidateFilter(request.filter(), "filter", /*allow_time_range=*/true));
  bool empty = false;
  std::string max = RangeMax(request.filter(), &empty);
  if (empty) return absl::OkStatus();
  const std::string min = RangeMin(request.filter());
  if (!request.page_token().empty()) {
    ASSIGN_OR_RETURN(std::string after,
                     DecodePageToken(request.page_token(), request.filter()));
    max = absl::StrCat("(", after);
  }
  const int page_size = EffectivePageSize(request.page_size());
  const int batch = std::clamp(page_size * 2, 100, 1000);
  int examined = 0;
  while (true) {
    bool exhausted = false;
    ASSIGN_OR_RETURN(std::vector<Entry> entries,
                     store_.Range(tenant, min, max, batch,
                                  /*newest_first=*/true, &exhausted));
    for (size_t i = 0; i < entries.size(); ++i) {
      Entry& e = entries[i];
      if (!e.readable) {
        metrics_.unreadable_entries.Increment();
        continue;
      }
      if (!Matches(e.feedback, request.filter())) continue;
      *response->add_items() = std::move(e.feedback);
      if (response->items_size() == page_size) {
        if (!(exhausted && i + 1 == entries.size())) {
          response->set_next_page_token(
              EncodePageToken(e.id, request.filter()));
        }
        return absl::OkStatus();
      }
    }
    if (exhausted || entries.empty()) return absl::OkStatus();
    const std::string& last = entries.back().id;
    max = absl::StrCat("(", last);
    examined += static_cast<int>(entries.size());
    if (examined >= options_.list_scan_budget) {
      // Few matches so far: answer a short page and where to go on.
      response->set_next_page_token(EncodePageToken(last, request.filter()));
      return absl::OkStatus();
    }
  }
}

absl::Status FeedbackHandler::GetDigest(absl::string_view tenant,
                                        const v1::GetDigestRequest& request,
                                        v1::Digest* response) {
  if (!common::v1::Team_IsValid(request.team())) {
    return absl::InvalidArgumentError(absl::StrCat(
        "team: ", static_cast<int>(request.team()), " is not a known team"));
  }
  const absl::Time now = options_.now();
  absl::Time end = now;
  if (request.has_end_time()) {
    ASSIGN_OR_RETURN(end, CheckTimestamp("end_time", request.end_time()));
  }
  absl::Time start = end - kDefaultDigestPeriod;
  if (request.has_start_time()) {
    ASSIGN_OR_RETURN(start, CheckTimestamp("start_time", request.start_time()));
  }
  if (start >= end) {
    return absl::InvalidArgumentError(
        "start_time: must be before end_time (or now, when end_time is "
        "unset)");
  }
  if (end - start > kMaxDigestPeriod) {
    return absl::InvalidArgumentError(absl::StrCat(
        "start_time: the period is ", absl::ToInt64Hours(end - start) / 24,
        " days long; a digest covers at most 92 days"));
  }

  DigestInput input;
  input.team = request.team();
  input.start = start;
  input.end = end;
  input.now = now;
  v1::FeedbackFilter range;
  *range.mutable_start_time() = util::ToTimestamp(start);
  *range.mutable_end_time() = util::ToTimestamp(end);
  bool empty = false;
  const std::string max = RangeMax(range, &empty);
  std::string min = RangeMin(range);
  while (!empty) {
    bool exhausted = false;
    ASSIGN_OR_RETURN(std::vector<Entry> entries,
                     store_.Range(tenant, min, max, kDigestPage,
                                  /*newest_first=*/false, &exhausted));
    for (Entry& e : entries) {
      if (!e.readable) {
        metrics_.unreadable_entries.Increment();
        continue;
      }
      input.items.push_back(std::move(e.feedback));
    }
    if (exhausted || entries.empty()) break;
    if (static_cast<int>(input.items.size()) >= options_.digest_max_items) {
      log::Warn("digest_truncated",
                {{"items", static_cast<int64_t>(input.items.size())}});
      break;
    }
    min = absl::StrCat("(", entries.back().id);
  }

  std::vector<std::string> outcome_ids;
  for (const v1::Feedback& f : input.items) {
    if (f.has_outcome() && f.subject().has_message_id() &&
        (input.team == common::v1::TEAM_UNSPECIFIED ||
         f.author().team() == input.team)) {
      outcome_ids.push_back(f.id());
    }
  }
  ASSIGN_OR_RETURN(input.outcomes, store_.GetOutcomes(tenant, outcome_ids));
  *response = ComputeDigest(input);
  return absl::OkStatus();
}

absl::StatusOr<WatchStart> FeedbackHandler::PrepareWatch(
    absl::string_view tenant, const v1::WatchFeedbackRequest& request) {
  RETURN_IF_ERROR(
      ValidateFilter(request.filter(), "filter", /*allow_time_range=*/false));
  WatchStart start;
  ASSIGN_OR_RETURN(start.stream_key, FeedbackStore::StreamKey(tenant));
  start.filter = request.filter();
  if (request.start_after_id().empty()) {
    ASSIGN_OR_RETURN(start.after_id, store_.LastId(tenant));
    return start;
  }
  const std::optional<StreamId> id = ParseStreamId(request.start_after_id());
  if (!id.has_value()) {
    return absl::InvalidArgumentError(absl::StrCat(
        "start_after_id: \"", absl::CEscape(request.start_after_id()),
        "\" is not a feedback id (pass Feedback.id of the last item "
        "received)"));
  }
  if (id->time() < options_.now() - store_.options().retention) {
    return absl::FailedPreconditionError(absl::StrCat(
        "start_after_id: ", id->ToString(),
        " is older than the retained feedback (",
        absl::ToInt64Hours(store_.options().retention) / 24,
        " days); use ListFeedback for what is kept, then watch from now"));
  }
  start.after_id = id->ToString();
  return start;
}

}  // namespace rapport::feedback
