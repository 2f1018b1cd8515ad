#include "services/profile/model/derive.h"

#include <algorithm>
#include <array>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <limits>
#include <string>
#include <utility>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/strings/string_view.h"
#include "absl/strings/strip.h"
#include "absl/time/time.h"
#include "google/protobuf/duration.pb.h"
#include "google/protobuf/io/coded_stream.h"
#include "google/protobuf/io/zero_copy_stream_impl_lite.h"
#include "google/protobuf/message_lite.h"
#include "google/protobuf/timestamp.pb.h"
#include "services/profile/model/text.h"

namespace rapport::profile::model {
namespace {

using common::v1::BuyingStage;
using common::v1::Contact;
using common::v1::ContactInsight;
using common::v1::Outcome;
using v1::Interaction;

constexpr int kHistoryFormatVersion = 1;
constexpr int kHoursPerDay = 24;
constexpr size_t kMaxShortTextBytes = 512;
constexpr size_t kMaxDescriptionBytes = 1024;
constexpr int kMaxContactListItems = 32;
constexpr double kEngagementWeight = 2.0;
constexpr double kTouchWeight = 1.0;

// ── Time conversions ────────────────────────────────────────────────────────

absl::Time ToTime(const google::protobuf::Timestamp& ts) {
  return absl::FromUnixSeconds(ts.seconds()) + absl::Nanoseconds(ts.nanos());
}

void SetTimestamp(absl::Time t, google::protobuf::Timestamp* out) {
  const int64_t seconds = absl::ToUnixSeconds(t);  // floors
  out->set_seconds(seconds);
  out->set_nanos(static_cast<int32_t>((t - absl::FromUnixSeconds(seconds)) /
                                      absl::Nanoseconds(1)));
}

void SetDuration(absl::Duration d, google::protobuf::Duration* out) {
  absl::Duration remainder;
  const int64_t seconds = absl::IDivDuration(d, absl::Seconds(1), &remainder);
  out->set_seconds(seconds);
  out->set_nanos(static_cast<int32_t>(remainder / absl::Nanoseconds(1)));
}

absl::Time TimeOf(const Interaction& i) { return ToTime(i.occurred_at()); }

std::string Date(absl::Time t) {
  return absl::FormatTime("%Y-%m-%d", t, absl::UTCTimeZone());
}

// Whole days, rounded up, at least 1 for any positive wait.
int64_t DaysCeil(absl::Duration d) {
  const int64_t hours = absl::ToInt64Hours(absl::Ceil(d, absl::Hours(1)));
  return std::max<int64_t>(1, (hours + kHoursPerDay - 1) / kHoursPerDay);
}

std::string Plural(int64_t n, absl::string_view one, absl::string_view many) {
  return absl::StrCat(n, " ", n == 1 ? one : many);
}

// ── Interaction classes (the table in derive.h) ─────────────────────────────

bool IsReplyOutcome(Outcome o) {
  return o == common::v1::OUTCOME_REPLIED ||
         o == common::v1::OUTCOME_POSITIVE_REPLY ||
         o == common::v1::OUTCOME_NEUTRAL_REPLY ||
         o == common::v1::OUTCOME_NEGATIVE_REPLY ||
         o == common::v1::OUTCOME_MEETING_BOOKED;
}

bool IsUnwelcomeOutcome(Outcome o) {
  return o == common::v1::OUTCOME_NEGATIVE_REPLY ||
         o == common::v1::OUTCOME_UNSUBSCRIBED ||
         o == common::v1::OUTCOME_COMPLAINT ||
         o == common::v1::OUTCOME_BOUNCED || o == common::v1::OUTCOME_NO_REPLY;
}

bool IsOptOut(Outcome o) {
  return o == common::v1::OUTCOME_UNSUBSCRIBED ||
         o == common::v1::OUTCOME_COMPLAINT;
}

bool IsDecline(const Interaction& i) {
  return i.outcome() == common::v1::OUTCOME_NEGATIVE_REPLY;
}

bool Outbound(const Interaction& i) {
  return i.direction() == v1::DIRECTION_OUTBOUND;
}
bool Inbound(const Interaction& i) {
  return i.direction() == v1::DIRECTION_INBOUND;
}

bool IsConnectedCall(const Interaction& i) {
  if (i.kind() != v1::INTERACTION_KIND_CALL) return false;
  const bool has_duration = i.has_duration() && (i.duration().seconds() > 0 ||
                                                 i.duration().nanos() > 0);
  return Inbound(i) || has_duration;
}

bool IsTouch(const Interaction& i) {
  switch (i.kind()) {
    case v1::INTERACTION_KIND_EMAIL_SENT:
      return true;
    case v1::INTERACTION_KIND_CALL:
    case v1::INTERACTION_KIND_LINKEDIN_MESSAGE:
      return Outbound(i);
    default:
      return false;
  }
}

bool IsReply(const Interaction& i) {
  switch (i.kind()) {
    case v1::INTERACTION_KIND_EMAIL_REPLIED:
    case v1::INTERACTION_KIND_MEETING:
      return true;
    case v1::INTERACTION_KIND_LINKEDIN_MESSAGE:
      if (Inbound(i)) return true;
      break;
    case v1::INTERACTION_KIND_CALL:
      if (IsConnectedCall(i)) return true;
      break;
    default:
      break;
  }
  return IsReplyOutcome(i.outcome());
}

// A reply whose time the contact chose.
bool IsTimedReply(const Interaction& i) {
  switch (i.kind()) {
    case v1::INTERACTION_KIND_EMAIL_REPLIED:
      return true;
    case v1::INTERACTION_KIND_LINKEDIN_MESSAGE:
    case v1::INTERACTION_KIND_CALL:
      return Inbound(i);
    default:
      return false;
  }
}

bool IsEngagement(const Interaction& i) {
  if (IsUnwelcomeOutcome(i.outcome())) return false;
  return IsReply(i) || i.kind() == v1::INTERACTION_KIND_EVENT;
}

bool IsConversation(const Interaction& i) {
  return IsEngagement(i) &&
         (i.kind() == v1::INTERACTION_KIND_MEETING || IsConnectedCall(i) ||
          i.outcome() == common::v1::OUTCOME_MEETING_BOOKED);
}

double MentionWeight(const Interaction& i) {
  if (IsUnwelcomeOutcome(i.outcome())) return 0.0;
  if (IsEngagement(i)) return kEngagementWeight;
  if (IsTouch(i)) return kTouchWeight;
  return 0.0;  // e.g. an outcome report without outcome meaning
}

// ── Stage topic lists (the table in derive.h) ───────────────────────────────

constexpr std::array<absl::string_view, 8> kCustomerTopics = {
    "renewal",
    "renewals",
    "qbr",
    "quarterly business review",
    "closed won",
    "existing customer",
    "current customer",
    "customer success review"};
constexpr absl::string_view kCustomerExactTopic = "customer";

constexpr std::array<absl::string_view, 21> kDecidingTopics = {
    "contract",
    "contracts",
    "legal review",
    "redline",
    "redlines",
    "procurement",
    "negotiation",
    "negotiations",
    "negotiate",
    "terms and conditions",
    "msa",
    "master services agreement",
    "order form",
    "purchase order",
    "sow",
    "statement of work",
    "dpa",
    "data processing agreement",
    "signature",
    "vendor onboarding",
    "budget approval"};

constexpr std::array<absl::string_view, 23> kEvaluatingTopics = {
    "pricing",
    "price",
    "prices",
    "quote",
    "proposal",
    "demo",
    "trial",
    "pilot",
    "proof of concept",
    "poc",
    "security review",
    "security questionnaire",
    "rfp",
    "rfi",
    "rfq",
    "business case",
    "roi",
    "references",
    "reference call",
    "vendor comparison",
    "shortlist",
    "evaluation",
    "comparison"};

template <size_t N>
bool MatchesAny(absl::string_view topic,
                const std::array<absl::string_view, N>& phrases) {
  for (const absl::string_view phrase : phrases) {
    if (ContainsPhrase(topic, phrase)) return true;
  }
  return false;
}

bool IsCustomerTopic(absl::string_view topic) {
  return topic == kCustomerExactTopic || MatchesAny(topic, kCustomerTopics);
}

// Custom-field keys that carry a CRM lifecycle / account type, compared
// lower case with '_', '.', '-' removed.
bool IsLifecycleKey(absl::string_view key) {
  std::string folded;
  for (const char c : key) {
    if (c == '_' || c == '.' || c == '-') continue;
    folded.push_back(absl::ascii_tolower(static_cast<unsigned char>(c)));
  }
  return folded == "lifecyclestage" || folded == "type" ||
         folded == "accounttype" || folded == "customerstatus" ||
         folded == "relationship";
}

// "customer", "Customer - Direct", "customer (renewing)"; not "customers",
// "former customer".
bool IsCustomerValue(absl::string_view value) {
  value = absl::StripLeadingAsciiWhitespace(value);
  constexpr absl::string_view kCustomer = "customer";
  if (value.size() < kCustomer.size() ||
      !absl::EqualsIgnoreCase(value.substr(0, kCustomer.size()), kCustomer)) {
    return false;
  }
  return value.size() == kCustomer.size() ||
         !absl::ascii_isalnum(
             static_cast<unsigned char>(value[kCustomer.size()]));
}

// The custom-field key marking the contact a customer, or empty.
std::string CustomerFieldKey(const Contact& contact) {
  std::string found;
  for (const auto& [key, value] : contact.custom_fields()) {
    if (IsLifecycleKey(key) && IsCustomerValue(value) &&
        (found.empty() || key < found)) {
      found = key;
    }
  }
  return found;
}

// ── Aggregates maintenance ──────────────────────────────────────────────────

void KeepMax(absl::Time t, google::protobuf::Timestamp* ts, bool present) {
  if (!present || t > ToTime(*ts)) SetTimestamp(t, ts);
}

void Note(absl::Time t, absl::string_view topic, Evidence* e) {
  e->set_count(e->count() + 1);
  if (!e->has_last_at() || t >= ToTime(e->last_at())) {
    SetTimestamp(t, e->mutable_last_at());
    if (!topic.empty()) e->set_topic(ToString(topic));
  }
}

double Decay(absl::Duration age, absl::Duration half_life) {
  if (half_life <= absl::ZeroDuration()) return 1.0;
  return std::exp2(-absl::FDivDuration(age, half_life));
}

void AddMention(double weight, absl::Time t, absl::Duration half_life,
                TopicAccumulator* acc) {
  if (acc->mentions() == 0 && !acc->has_weight_at()) {
    acc->set_weight(weight);
    SetTimestamp(t, acc->mutable_weight_at());
  } else {
    const absl::Time at = ToTime(acc->weight_at());
    if (t >= at) {
      acc->set_weight(acc->weight() * Decay(t - at, half_life) + weight);
      SetTimestamp(t, acc->mutable_weight_at());
    } else {
      acc->set_weight(acc->weight() + weight * Decay(at - t, half_life));
    }
  }
  acc->set_mentions(acc->mentions() + 1);
  KeepMax(t, acc->mutable_last_seen_at(), acc->has_last_seen_at());
}

// Finds or inserts the accumulator of `topic` (kept sorted by topic).
TopicAccumulator* Accumulator(absl::string_view topic, Aggregates* agg) {
  auto* topics = agg->mutable_topics();
  auto it = std::lower_bound(topics->begin(), topics->end(), topic,
                             [](const TopicAccumulator& a,
                                absl::string_view t) { return a.topic() < t; });
  if (it != topics->end() && it->topic() == topic) return &*it;
  const int index = static_cast<int>(it - topics->begin());
  topics->Add()->set_topic(ToString(topic));
  for (int k = topics->size() - 1; k > index; --k) {
    topics->SwapElements(k, k - 1);
  }
  return topics->Mutable(index);
}

// Drops the weakest accumulators (weight decayed to the newest weight_at;
// ties: older last mention, then larger topic) beyond kMaxTopicAccumulators.
void CapAccumulators(absl::Duration half_life, Aggregates* agg) {
  auto* topics = agg->mutable_topics();
  while (topics->size() > kMaxTopicAccumulators) {
    absl::Time reference = absl::InfinitePast();
    for (const TopicAccumulator& a : *topics) {
      reference = std::max(reference, ToTime(a.weight_at()));
    }
    int weakest = 0;
    double weakest_weight = std::numeric_limits<double>::infinity();
    for (int k = 0; k < topics->size(); ++k) {
      const TopicAccumulator& a = topics->Get(k);
      const double w =
          a.weight() * Decay(reference - ToTime(a.weight_at()), half_life);
      const TopicAccumulator& b = topics->Get(weakest);
      const bool weaker =
          w < weakest_weight ||
          (w == weakest_weight &&
           (ToTime(a.last_seen_at()) < ToTime(b.last_seen_at()) ||
            (ToTime(a.last_seen_at()) == ToTime(b.last_seen_at()) &&
             a.topic() > b.topic())));
      if (k == 0 || weaker) {
        weakest = k;
        weakest_weight = w;
      }
    }
    topics->DeleteSubrange(weakest, 1);
  }
}

void FoldTrimmedTopics(const Interaction& i, absl::Duration half_life,
                       Aggregates* agg) {
  const double weight = MentionWeight(i);
  if (weight <= 0.0) return;
  const absl::Time t = TimeOf(i);
  for (const std::string& topic : i.topics()) {
    AddMention(weight, t, half_life, Accumulator(topic, agg));
  }
  CapAccumulators(half_life, agg);
}

void UpdateAggregates(const Interaction& i, Aggregates* agg) {
  const absl::Time t = TimeOf(i);
  agg->set_interaction_count(agg->interaction_count() + 1);
  // Validated interactions have a known kind; anything else is not counted
  // per kind rather than growing the list.
  if (const int kind = static_cast<int>(i.kind());
      v1::InteractionKind_IsValid(kind)) {
    while (agg->kind_counts_size() <= kind) agg->add_kind_counts(0);
    agg->set_kind_counts(kind, agg->kind_counts(kind) + 1);
  }
  if (!agg->has_first_interaction_at() ||
      t < ToTime(agg->first_interaction_at())) {
    SetTimestamp(t, agg->mutable_first_interaction_at());
  }
  KeepMax(t, agg->mutable_last_interaction_at(),
          agg->has_last_interaction_at());

  if (IsTouch(i)) {
    agg->set_touches(agg->touches() + 1);
    KeepMax(t, agg->mutable_last_touch_at(), agg->has_last_touch_at());
  }
  if (IsReply(i)) {
    agg->set_replies(agg->replies() + 1);
    KeepMax(t, agg->mutable_last_reply_at(), agg->has_last_reply_at());
  }
  if (IsTimedReply(i)) {
    while (agg->reply_hour_counts_size() < kHoursPerDay) {
      agg->add_reply_hour_counts(0);
    }
    const int hour = absl::ToCivilHour(t, absl::UTCTimeZone()).hour();
    agg->set_reply_hour_counts(hour, agg->reply_hour_counts(hour) + 1);
  }
  if (IsEngagement(i)) {
    Note(t, "", agg->mutable_engagements());
    for (const std::string& topic : i.topics()) {
      if (MatchesAny(topic, kDecidingTopics)) {
        Note(t, topic, agg->mutable_deciding());
        break;
      }
    }
    for (const std::string& topic : i.topics()) {
      if (MatchesAny(topic, kEvaluatingTopics)) {
        Note(t, topic, agg->mutable_evaluating());
        break;
      }
    }
  }
  if (IsConversation(i)) Note(t, "", agg->mutable_conversations());
  if (IsDecline(i)) Note(t, "", agg->mutable_declines());
  for (const std::string& topic : i.topics()) {
    if (IsCustomerTopic(topic)) {
      Note(t, topic, agg->mutable_customer());
      break;
    }
  }
  if (IsOptOut(i.outcome()) &&
      (!agg->has_opted_out_at() || t < ToTime(agg->opted_out_at()))) {
    SetTimestamp(t, agg->mutable_opted_out_at());
    agg->set_opt_out_outcome(i.outcome());
  }
}

// Normalised, non-empty, unique topics in their original order.
void NormalizeTopics(Interaction* i) {
  std::vector<std::string> kept;
  kept.reserve(i->topics_size());
  for (const std::string& topic : i->topics()) {
    std::string key = NormalizeTopic(topic);
    if (key.empty() || std::find(kept.begin(), kept.end(), key) != kept.end()) {
      continue;
    }
    kept.push_back(std::move(key));
  }
  i->clear_topics();
  for (std::string& topic : kept) i->add_topics(std::move(topic));
}

// Cuts text to at most `max_bytes`, at the last space in the second half
// when there is one.
std::string CutText(absl::string_view text, size_t max_bytes) {
  absl::string_view kept = TruncateUtf8(text, max_bytes);
  if (kept.size() < text.size()) {
    if (const size_t space = kept.rfind(' ');
        space != absl::string_view::npos && space >= max_bytes / 2) {
      kept = kept.substr(0, space);
    }
  }
  return ToString(absl::StripTrailingAsciiWhitespace(kept));
}

bool AppendUnique(absl::string_view text,
                  google::protobuf::RepeatedPtrField<std::string>* list) {
  const std::string key = NormalizeTopic(text, kMaxShortTextBytes);
  if (key.empty() || list->size() >= kMaxContactListItems) return false;
  for (const std::string& item : *list) {
    if (NormalizeTopic(item, kMaxShortTextBytes) == key) return false;
  }
  list->Add(CutText(text, kMaxShortTextBytes));
  return true;
}

// ── Derivation helpers ──────────────────────────────────────────────────────

// Engagements by what a person would call them, for reasons.
struct Tally {
  int replies = 0;
  int calls = 0;
  int meetings = 0;
  int events = 0;

  void Add(const Interaction& i) {
    if (i.kind() == v1::INTERACTION_KIND_MEETING) {
      ++meetings;
    } else if (i.kind() == v1::INTERACTION_KIND_CALL) {
      ++calls;
    } else if (i.kind() == v1::INTERACTION_KIND_EVENT) {
      ++events;
    } else {
      ++replies;
    }
  }
  int Total() const { return replies + calls + meetings + events; }

  // "1 meeting, 2 replies and 1 event attended".
  std::string Describe() const {
    std::vector<std::string> parts;
    if (meetings > 0) parts.push_back(Plural(meetings, "meeting", "meetings"));
    if (calls > 0) parts.push_back(Plural(calls, "call", "calls"));
    if (replies > 0) parts.push_back(Plural(replies, "reply", "replies"));
    if (events > 0) {
      parts.push_back(Plural(events, "event attended", "events attended"));
    }
    if (parts.empty()) return "";
    if (parts.size() == 1) return parts[0];
    const std::string last = parts.back();
    parts.pop_back();
    return absl::StrCat(absl::StrJoin(parts, ", "), " and ", last);
  }
};

// What the last `stage_window` shows.
struct WindowEvidence {
  Tally engagements;
  int conversations = 0;
  Tally deciding;
  absl::string_view deciding_topic;
  absl::Time deciding_at = absl::InfinitePast();
  Tally evaluating;
  absl::string_view evaluating_topic;
  absl::Time evaluating_at = absl::InfinitePast();
  int stated_needs = 0;
  absl::Time stated_at = absl::InfinitePast();
};

// Stage classes of a topic, memoised per distinct topic: a contact's
// interactions reuse a few topics, and phrase matching is the costly part of
// deriving the stage.
class TopicClasses {
 public:
  absl::string_view FirstDeciding(const Interaction& i) {
    return First(i, kDeciding);
  }
  absl::string_view FirstEvaluating(const Interaction& i) {
    return First(i, kEvaluating);
  }

 private:
  static constexpr uint8_t kDeciding = 1;
  static constexpr uint8_t kEvaluating = 2;

  uint8_t Classes(absl::string_view topic) {
    const auto [it, inserted] = memo_.try_emplace(topic, 0);
    if (inserted) {
      if (MatchesAny(topic, kDecidingTopics)) it->second |= kDeciding;
      if (MatchesAny(topic, kEvaluatingTopics)) it->second |= kEvaluating;
    }
    return it->second;
  }

  absl::string_view First(const Interaction& i, uint8_t wanted) {
    for (const std::string& topic : i.topics()) {
      if ((Classes(topic) & wanted) != 0) return topic;
    }
    return {};
  }

  absl::flat_hash_map<absl::string_view, uint8_t> memo_;
};

std::string Quoted(absl::string_view topic) {
  return absl::StrCat("'", topic, "'");
}

bool IsStatedNeed(const ContactInsight& insight) {
  return insight.kind() == common::v1::INSIGHT_KIND_PRIORITY ||
         insight.kind() == common::v1::INSIGHT_KIND_CHALLENGE;
}

struct StageResult {
  BuyingStage stage;
  std::string reason;
};

StageResult DeriveStage(const Contact& contact, const History& history,
                        const std::vector<const Interaction*>& ordered,
                        absl::Time now, const DeriveOptions& options) {
  const Aggregates& agg = history.aggregates;
  const int window_days =
      static_cast<int>(absl::ToInt64Hours(options.stage_window) / kHoursPerDay);
  const std::string in_window =
      absl::StrCat("in the last ", window_days, " days");

  // 1 CUSTOMER: marker in the record, or a customer topic at any time.
  if (const std::string key = CustomerFieldKey(contact); !key.empty()) {
    return {common::v1::BUYING_STAGE_CUSTOMER,
            absl::StrCat("The CRM marks them as a customer (custom field '",
                         key, "').")};
  }
  if (agg.customer().count() > 0) {
    return {common::v1::BUYING_STAGE_CUSTOMER,
            absl::StrCat(Quoted(agg.customer().topic()), " came up on ",
                         Date(ToTime(agg.customer().last_at())),
                         ": they are already a customer.")};
  }

  // Rows 2-5 on the window.
  const absl::Time since = now - options.stage_window;
  WindowEvidence w;
  TopicClasses classes;
  for (auto it = ordered.rbegin(); it != ordered.rend(); ++it) {
    const Interaction& i = **it;
    const absl::Time t = TimeOf(i);
    if (t < since) break;
    if (!IsEngagement(i)) continue;
    w.engagements.Add(i);
    if (IsConversation(i)) ++w.conversations;
    if (const absl::string_view topic = classes.FirstDeciding(i);
        !topic.empty()) {
      w.deciding.Add(i);
      if (t > w.deciding_at) {
        w.deciding_at = t;
        w.deciding_topic = topic;
      }
    }
    if (const absl::string_view topic = classes.FirstEvaluating(i);
        !topic.empty()) {
      w.evaluating.Add(i);
      if (t > w.evaluating_at) {
        w.evaluating_at = t;
        w.evaluating_topic = topic;
      }
    }
  }
  for (const ContactInsight& insight : history.insights) {
    if (!IsStatedNeed(insight)) continue;
    const absl::Time t = ToTime(insight.observed_at());
    if (t < since) continue;
    ++w.stated_needs;
    w.stated_at = std::max(w.stated_at, t);
  }

  if (w.deciding.Total() > 0) {
    return {common::v1::BUYING_STAGE_DECIDING,
            absl::StrCat(w.deciding.Describe(), " ", in_window, " mentioning ",
                         Quoted(w.deciding_topic), ": a decision is near.")};
  }
  if (w.evaluating.Total() > 0) {
    return {common::v1::BUYING_STAGE_EVALUATING,
            absl::StrCat(w.evaluating.Describe(), " ", in_window,
                         " mentioning ", Quoted(w.evaluating_topic),
                         ": they are comparing options.")};
  }
  if (w.conversations > 0 || w.engagements.Total() >= 2) {
    return {common::v1::BUYING_STAGE_EXPLORING,
            absl::StrCat(w.engagements.Describe(), " ", in_window,
                         ", none about pricing, demos or contracts yet: they "
                         "are exploring.")};
  }
  if (w.engagements.Total() == 1) {
    return {common::v1::BUYING_STAGE_PROBLEM_AWARE,
            absl::StrCat(w.engagements.Describe(), " ", in_window,
                         ": they are open to the subject but not yet looking "
                         "at solutions.")};
  }
  if (w.stated_needs > 0) {
    return {common::v1::BUYING_STAGE_PROBLEM_AWARE,
            absl::StrCat("They stated a challenge or priority on ",
                         Date(w.stated_at),
                         ": they recognise a problem; not yet looking at "
                         "solutions.")};
  }

  // Rows 2-5 on all-time evidence: older, so say how old.
  const auto older = [&](const Evidence& e) {
    return absl::StrCat("the latest on ", Date(ToTime(e.last_at())), ", over ",
                        window_days,
                        " days ago: check whether it still holds.");
  };
  if (agg.deciding().count() > 0) {
    return {common::v1::BUYING_STAGE_DECIDING,
            absl::StrCat("They engaged about ", Quoted(agg.deciding().topic()),
                         " before, ", older(agg.deciding()))};
  }
  if (agg.evaluating().count() > 0) {
    return {
        common::v1::BUYING_STAGE_EVALUATING,
        absl::StrCat("They engaged about ", Quoted(agg.evaluating().topic()),
                     " before, ", older(agg.evaluating()))};
  }
  if (agg.conversations().count() > 0 || agg.engagements().count() >= 2) {
    const Evidence& e = agg.conversations().count() > 0 ? agg.conversations()
                                                        : agg.engagements();
    return {common::v1::BUYING_STAGE_EXPLORING,
            absl::StrCat(agg.conversations().count() > 0
                             ? Plural(agg.conversations().count(),
                                      "conversation", "conversations")
                             : Plural(agg.engagements().count(), "reply",
                                      "replies or events"),
                         " before, ", older(e))};
  }
  if (agg.engagements().count() > 0 || agg.stated_needs().count() > 0) {
    const Evidence& e =
        agg.engagements().count() > 0 ? agg.engagements() : agg.stated_needs();
    return {common::v1::BUYING_STAGE_PROBLEM_AWARE,
            absl::StrCat(agg.engagements().count() > 0
                             ? "They engaged once"
                             : "They stated a challenge or priority",
                         ", ", older(e))};
  }

  // 6 UNAWARE / 7 UNKNOWN.
  if (agg.declines().count() > 0) {
    return {common::v1::BUYING_STAGE_UNAWARE,
            absl::StrCat("Declined on ", Date(ToTime(agg.declines().last_at())),
                         " and no welcome reply: they see no need to change "
                         "yet.")};
  }
  if (agg.touches() > 0) {
    return {common::v1::BUYING_STAGE_UNAWARE,
            absl::StrCat(Plural(agg.touches(), "touch", "touches"),
                         " and no reply yet: they have not shown a need to "
                         "change; lead with their situation, not the "
                         "product.")};
  }
  if (agg.interaction_count() > 0) {
    return {common::v1::BUYING_STAGE_UNKNOWN,
            "No touch, reply or meeting recorded yet."};
  }
  return {common::v1::BUYING_STAGE_UNKNOWN, "No interactions recorded yet."};
}

struct TopicScore {
  double weight = 0.0;
  int64_t mentions = 0;
  absl::Time last_seen = absl::InfinitePast();
  bool stated = false;
};

// Fills out->interests; returns whether any interest was learned from
// interactions or insights (as opposed to stated priorities only).
bool DeriveInterests(const Contact& contact, const History& history,
                     absl::Time now, const DeriveOptions& options,
                     v1::Profile* out) {
  absl::flat_hash_map<absl::string_view, TopicScore> scores;
  std::deque<std::string> owned;  // keys not already normalised in place
  const auto key_of = [&owned](absl::string_view topic) -> absl::string_view {
    if (IsNormalizedAsciiTopic(topic)) return topic;
    owned.push_back(NormalizeTopic(topic));
    return owned.back();
  };

  for (const Interaction& i : history.recent) {
    const double weight = MentionWeight(i);
    if (weight <= 0.0 || i.topics().empty()) continue;
    const absl::Time t = TimeOf(i);
    const double w = weight * Decay(now - t, options.interest_half_life);
    for (const std::string& topic : i.topics()) {
      const absl::string_view key = key_of(topic);
      if (key.empty()) continue;
      TopicScore& s = scores[key];
      s.weight += w;
      ++s.mentions;
      s.last_seen = std::max(s.last_seen, t);
    }
  }
  for (const TopicAccumulator& acc : history.aggregates.topics()) {
    if (acc.topic().empty() || acc.mentions() == 0) continue;
    TopicScore& s = scores[acc.topic()];
    s.weight += acc.weight() * Decay(now - ToTime(acc.weight_at()),
                                     options.interest_half_life);
    s.mentions += acc.mentions();
    s.last_seen = std::max(s.last_seen, ToTime(acc.last_seen_at()));
  }
  bool learned = false;
  for (const auto& [key, s] : scores) {
    if (s.mentions > 0 && s.weight > 0.0) learned = true;
  }
  for (const auto* list : {&contact.priorities(), &contact.challenges()}) {
    for (const std::string& text : *list) {
      owned.push_back(NormalizeTopic(text));
      if (owned.back().empty()) continue;
      TopicScore& s = scores[owned.back()];
      if (s.stated) continue;
      s.stated = true;
      s.weight += options.stated_interest_weight;
    }
  }

  std::vector<std::pair<absl::string_view, const TopicScore*>> ranked;
  ranked.reserve(scores.size());
  for (const auto& [key, s] : scores) {
    if (s.weight > 0.0) ranked.emplace_back(key, &s);
  }
  const size_t limit =
      static_cast<size_t>(std::clamp(options.max_interests, 0, kMaxInterests));
  const auto better = [](const auto& a, const auto& b) {
    if (a.second->weight != b.second->weight) {
      return a.second->weight > b.second->weight;
    }
    if (a.second->last_seen != b.second->last_seen) {
      return a.second->last_seen > b.second->last_seen;
    }
    return a.first < b.first;
  };
  const size_t kept = std::min(limit, ranked.size());
  std::partial_sort(ranked.begin(),
                    ranked.begin() + static_cast<ptrdiff_t>(kept), ranked.end(),
                    better);
  for (size_t k = 0; k < kept; ++k) {
    const auto& [key, s] = ranked[k];
    v1::Interest* interest = out->add_interests();
    interest->set_topic(ToString(key));
    interest->set_weight(s->weight);
    interest->set_mentions(static_cast<int32_t>(
        std::min<int64_t>(s->mentions, std::numeric_limits<int32_t>::max())));
    if (s->mentions > 0) {
      SetTimestamp(s->last_seen, interest->mutable_last_seen_at());
    }
  }
  return learned;
}

int32_t ClampInt32(int64_t n) {
  return static_cast<int32_t>(
      std::clamp<int64_t>(n, 0, std::numeric_limits<int32_t>::max()));
}

void DeriveResponsiveness(const History& history,
                          const std::vector<const Interaction*>& ordered,
                          const DeriveOptions& options,
                          v1::Responsiveness* out) {
  const Aggregates& agg = history.aggregates;
  const double prior = std::clamp(options.prior_reply_rate, 0.0, 1.0);
  const double strength = std::max(options.prior_weight, 0.0);
  const double a = prior * strength;
  const double b = (1.0 - prior) * strength;
  const auto touches = static_cast<double>(std::max<int64_t>(agg.touches(), 0));
  const double replies = std::min(
      static_cast<double>(std::max<int64_t>(agg.replies(), 0)), touches);
  const double denominator = touches + a + b;
  out->set_reply_rate(denominator > 0.0
                          ? std::clamp((replies + a) / denominator, 0.0, 1.0)
                          : prior);
  out->set_prior_reply_rate(prior);
  out->set_replies(ClampInt32(agg.replies()));
  out->set_touches(ClampInt32(agg.touches()));

  // Each timed reply against the latest touch before it, once per touch.
  std::vector<absl::Duration> delays;
  absl::Time last_touch = absl::InfinitePast();
  bool pending = false;
  for (const Interaction* i : ordered) {
    if (IsTouch(*i)) {
      last_touch = TimeOf(*i);
      pending = true;
    } else if (pending && IsTimedReply(*i)) {
      delays.push_back(TimeOf(*i) - last_touch);
      pending = false;
    }
  }
  if (!delays.empty()) {
    const size_t mid = delays.size() / 2;
    std::nth_element(delays.begin(),
                     delays.begin() + static_cast<ptrdiff_t>(mid),
                     delays.end());
    absl::Duration median = delays[mid];
    if (delays.size() % 2 == 0) {
      const absl::Duration lower = *std::max_element(
          delays.begin(), delays.begin() + static_cast<ptrdiff_t>(mid));
      median = lower + (median - lower) / 2;
    }
    SetDuration(median, out->mutable_median_reply_time());
  }

  int64_t timed = 0;
  for (const int64_t n : agg.reply_hour_counts()) timed += n;
  if (timed >= options.best_hours_min_replies) {
    std::vector<std::pair<int64_t, int>> hours;  // (count, hour)
    for (int h = 0; h < agg.reply_hour_counts_size() && h < kHoursPerDay; ++h) {
      if (agg.reply_hour_counts(h) >= options.best_hour_min_replies) {
        hours.emplace_back(agg.reply_hour_counts(h), h);
      }
    }
    std::sort(hours.begin(), hours.end(), [](const auto& x, const auto& y) {
      return x.first != y.first ? x.first > y.first : x.second < y.second;
    });
    constexpr size_t kMaxBestHours = 3;
    for (size_t k = 0; k < hours.size() && k < kMaxBestHours; ++k) {
      out->add_best_hours_utc(hours[k].second);
    }
  }
  if (agg.has_last_reply_at()) {
    *out->mutable_last_reply_at() = agg.last_reply_at();
  }
}

absl::string_view ChannelNoun(v1::InteractionKind kind, bool plural) {
  switch (kind) {
    case v1::INTERACTION_KIND_EMAIL_SENT:
      return plural ? "emails" : "email";
    case v1::INTERACTION_KIND_CALL:
      return plural ? "calls" : "call";
    case v1::INTERACTION_KIND_LINKEDIN_MESSAGE:
      return plural ? "LinkedIn messages" : "LinkedIn message";
    default:
      return plural ? "touches" : "touch";
  }
}

absl::string_view ChannelName(v1::InteractionKind kind) {
  switch (kind) {
    case v1::INTERACTION_KIND_EMAIL_SENT:
      return "email";
    case v1::INTERACTION_KIND_CALL:
      return "phone";
    default:
      return "LinkedIn";
  }
}

std::string Wait(absl::Duration wait) {
  return absl::StrCat("wait ", Plural(DaysCeil(wait), "day", "days"));
}

void DeriveFatigue(const Contact& contact, const History& history,
                   const std::vector<const Interaction*>& ordered,
                   absl::Time now, const DeriveOptions& options,
                   v1::Fatigue* out) {
  const Aggregates& agg = history.aggregates;
  const absl::Time last_reply = agg.has_last_reply_at()
                                    ? ToTime(agg.last_reply_at())
                                    : absl::InfinitePast();
  if (agg.has_last_touch_at()) {
    *out->mutable_last_touch_at() = agg.last_touch_at();
  }

  // Unanswered touches, newest first.
  std::vector<const Interaction*> unanswered;
  int touches_14d = 0;
  int replies_14d = 0;
  const absl::Time fatigue_since = now - options.fatigue_window;
  const absl::Time lookback = now - options.unanswered_lookback;
  for (auto it = ordered.rbegin(); it != ordered.rend(); ++it) {
    const Interaction& i = **it;
    const absl::Time t = TimeOf(i);
    if (t < std::min(fatigue_since, lookback)) break;
    const bool touch = IsTouch(i);
    if (t >= fatigue_since) {
      if (touch) ++touches_14d;
      if (IsReply(i)) ++replies_14d;
    }
    if (touch && t > last_reply && t >= lookback) unanswered.push_back(&i);
  }
  out->set_touches_14d(touches_14d);
  out->set_replies_14d(replies_14d);

  // D: do not contact, from the record or an opt-out in the history.
  if (contact.do_not_contact() || agg.has_opted_out_at()) {
    out->set_fatigued(true);
    if (contact.do_not_contact()) {
      out->set_reason(contact.do_not_contact_reason().empty()
                          ? std::string("Do not contact (no reason recorded).")
                          : absl::StrCat("Do not contact: ",
                                         contact.do_not_contact_reason(), "."));
    } else {
      out->set_reason(
          absl::StrCat(agg.opt_out_outcome() == common::v1::OUTCOME_COMPLAINT
                           ? "Complained on "
                           : "Unsubscribed on ",
                       Date(ToTime(agg.opted_out_at())), ": do not contact."));
    }
    return;
  }

  absl::Time until = now;
  const auto within = [&](absl::Duration window) {
    int n = 0;
    for (const Interaction* i : unanswered) {
      if (TimeOf(*i) > now - window) ++n;
    }
    return n;
  };
  const int u = static_cast<int>(unanswered.size());
  if (u >= 1) {
    absl::Duration gap = options.cadence_base;
    for (int k = 1; k < u && gap < options.cadence_cap; ++k) gap *= 2;
    until = std::max(
        until, TimeOf(*unanswered[0]) + std::min(gap, options.cadence_cap));
  }
  const int in_fatigue_window = within(options.fatigue_window);
  const bool rule_a = options.fatigue_touches > 0 &&
                      in_fatigue_window >= options.fatigue_touches;
  if (rule_a) {
    until = std::max(until, TimeOf(*unanswered[options.fatigue_touches - 1]) +
                                options.fatigue_window);
  }
  const int in_burst_window = within(options.burst_window);
  const bool rule_b =
      options.burst_touches > 0 && in_burst_window >= options.burst_touches;
  if (rule_b) {
    until = std::max(until, TimeOf(*unanswered[options.burst_touches - 1]) +
                                options.burst_window);
  }
  bool rule_c = false;
  absl::Time declined_at = absl::InfinitePast();
  if (agg.declines().count() > 0) {
    declined_at = ToTime(agg.declines().last_at());
    const bool superseded = agg.engagements().count() > 0 &&
                            ToTime(agg.engagements().last_at()) > declined_at;
    if (!superseded && declined_at + options.decline_wait > now) {
      rule_c = true;
      until = std::max(until, declined_at + options.decline_wait);
    }
  }

  const absl::Duration wait = std::max(until - now, absl::ZeroDuration());
  SetDuration(wait, out->mutable_recommended_wait());
  SetTimestamp(now + wait, out->mutable_next_contact_after());
  out->set_fatigued(rule_a || rule_b || rule_c);
  if (!out->fatigued()) return;

  if (rule_c) {
    out->set_reason(absl::StrCat("Declined on ", Date(declined_at), ": ",
                                 Wait(wait),
                                 ", and write again only with something new "
                                 "about their situation."));
    return;
  }
  // One channel word when every counted touch used the same channel.
  const int counted = rule_a ? in_fatigue_window : in_burst_window;
  bool one_channel = true;
  for (int k = 1; k < u; ++k) {
    if (unanswered[k]->kind() != unanswered[0]->kind()) one_channel = false;
  }
  bool counted_one_channel = true;
  for (int k = 1; k < counted; ++k) {
    if (unanswered[k]->kind() != unanswered[0]->kind()) {
      counted_one_channel = false;
    }
  }
  const absl::string_view noun =
      counted_one_channel
          ? ChannelNoun(unanswered[0]->kind(), counted != 1)
          : absl::string_view(counted == 1 ? "touch" : "touches");
  const int window_days =
      static_cast<int>(absl::ToInt64Hours(rule_a ? options.fatigue_window
                                                 : options.burst_window) /
                       kHoursPerDay);
  std::string reason = absl::StrCat(
      counted, " ", noun, " in the last ", window_days, " days and no reply ",
      last_reply == absl::InfinitePast()
          ? std::string("yet")
          : absl::StrCat("since ", Date(last_reply)),
      ": ", Wait(wait));
  if (one_channel && u >= options.switch_channel_after) {
    absl::StrAppend(&reason, ", then try a channel other than ",
                    ChannelName(unanswered[0]->kind()));
  }
  absl::StrAppend(&reason, ".");
  out->set_reason(std::move(reason));
}

void AddGap(v1::KnowledgeGapCode code, std::string description,
            v1::Profile* out) {
  v1::KnowledgeGap* gap = out->add_knowledge_gaps();
  gap->set_code(code);
  gap->set_description(std::move(description));
}

void DeriveGaps(const Contact& contact, const History& history,
                bool learned_interests, absl::Time now,
                const DeriveOptions& options, v1::Profile* out) {
  const Aggregates& agg = history.aggregates;
  const absl::Time recent_since = now - options.gap_window;
  const int64_t gap_days =
      absl::ToInt64Hours(options.gap_window) / kHoursPerDay;
  if (contact.priorities().empty()) {
    AddGap(v1::KNOWLEDGE_GAP_CODE_NO_PRIORITIES,
           "No stated priorities yet: do your homework first (their company's "
           "latest results, news and posts), or ask what matters most to them "
           "this quarter.",
           out);
  }
  if (contact.challenges().empty()) {
    AddGap(v1::KNOWLEDGE_GAP_CODE_NO_CHALLENGES,
           "No known challenges yet: ask what is getting in their way, and "
           "listen before talking about what you sell.",
           out);
  }
  const bool recent_event = std::any_of(
      contact.trigger_events().begin(), contact.trigger_events().end(),
      [&](const common::v1::TriggerEvent& e) {
        return !e.has_occurred_at() || ToTime(e.occurred_at()) >= recent_since;
      });
  if (!recent_event) {
    AddGap(v1::KNOWLEDGE_GAP_CODE_NO_RECENT_TRIGGER_EVENTS,
           absl::StrCat("No trigger event in the last ", gap_days,
                        " days: find out what changed in their world (a new "
                        "role, funding, an expansion, a reorganisation) "
                        "before writing."),
           out);
  }
  if (absl::StripAsciiWhitespace(contact.preferred_name()).empty()) {
    AddGap(v1::KNOWLEDGE_GAP_CODE_NO_PREFERRED_NAME,
           "Preferred name unknown: use the name they sign with, not the "
           "formal name from the database.",
           out);
  }
  if (!learned_interests) {
    AddGap(v1::KNOWLEDGE_GAP_CODE_NO_INTERESTS,
           "No interests learned yet: record the topics of every conversation "
           "so the next message can be about what they care about.",
           out);
  }
  std::vector<absl::string_view> missing;
  if (absl::StripAsciiWhitespace(contact.title()).empty()) {
    missing.push_back("title");
  }
  if (absl::StripAsciiWhitespace(contact.company()).empty()) {
    missing.push_back("company");
  }
  if (absl::StripAsciiWhitespace(contact.industry()).empty()) {
    missing.push_back("industry");
  }
  if (!missing.empty()) {
    std::string fields = ToString(missing[0]);
    if (missing.size() == 2) {
      fields = absl::StrCat(missing[0], " and ", missing[1]);
    }
    if (missing.size() == 3) {
      fields = absl::StrCat(missing[0], ", ", missing[1], " and ", missing[2]);
    }
    AddGap(
        v1::KNOWLEDGE_GAP_CODE_NO_ROLE_CONTEXT,
        absl::StrCat("Missing ", fields,
                     ": learn their role and their business before writing."),
        out);
  }
  if (agg.interaction_count() == 0) {
    AddGap(v1::KNOWLEDGE_GAP_CODE_NO_INTERACTIONS,
           "No interaction recorded yet: everything here comes from the CRM; "
           "check it against their own words when you can.",
           out);
  } else if (ToTime(agg.last_interaction_at()) < recent_since) {
    AddGap(v1::KNOWLEDGE_GAP_CODE_NO_INTERACTIONS,
           absl::StrCat("No interaction in the last ", gap_days,
                        " days: what you knew may be stale; check what changed "
                        "before writing."),
           out);
  }
  if (agg.touches() >= options.never_replied_touches && agg.replies() == 0) {
    AddGap(v1::KNOWLEDGE_GAP_CODE_NEVER_REPLIED,
           absl::StrCat(
               "No reply after ", Plural(agg.touches(), "touch", "touches"),
               ": stop and rethink rather than follow up again; is the "
               "message about them? Try a trigger event or a "
               "different channel."),
           out);
  }
}

bool IsHonorific(absl::string_view word) {
  absl::string_view w = word;
  if (!w.empty() && w.back() == '.') w.remove_suffix(1);
  static constexpr std::array<absl::string_view, 16> kHonorifics = {
      "mr",  "mrs",  "ms",   "miss", "mx", "dr",  "prof", "professor",
      "sir", "dame", "herr", "frau", "sr", "sra", "mme",  "mlle"};
  for (const absl::string_view h : kHonorifics) {
    if (absl::EqualsIgnoreCase(w, h)) return true;
  }
  return false;
}

}  // namespace

std::string SerializeHistory(const History& history) {
  // Exactly the bytes of the equivalent HistoryRecord, written field by field
  // so the kept interactions are not first copied into one. No map fields
  // anywhere below, so the bytes are deterministic.
  using google::protobuf::MessageLite;
  constexpr uint32_t kVarint = 0;
  constexpr uint32_t kLengthDelimited = 2;
  const auto tag = [](int field, uint32_t wire_type) {
    return (static_cast<uint32_t>(field) << 3) | wire_type;
  };
  // First pass: sizes (cached in each message for the second).
  size_t total = 2;
  const auto add = [&total](const MessageLite& m) {
    const size_t size = m.ByteSizeLong();
    total +=
        1 + google::protobuf::io::CodedOutputStream::VarintSize64(size) + size;
  };
  for (const Interaction& i : history.recent) add(i);
  add(history.aggregates);
  for (const ContactInsight& insight : history.insights) add(insight);

  std::string out;
  out.reserve(total);
  {
    google::protobuf::io::StringOutputStream stream(&out);
    google::protobuf::io::CodedOutputStream coded(&stream);
    const auto write = [&](int field, const MessageLite& m) {
      coded.WriteTag(tag(field, kLengthDelimited));
      coded.WriteVarint32(static_cast<uint32_t>(m.GetCachedSize()));
      m.SerializeWithCachedSizes(&coded);
    };
    coded.WriteTag(tag(HistoryRecord::kFormatVersionFieldNumber, kVarint));
    coded.WriteVarint32(kHistoryFormatVersion);
    for (const Interaction& i : history.recent) {
      write(HistoryRecord::kRecentFieldNumber, i);
    }
    write(HistoryRecord::kAggregatesFieldNumber, history.aggregates);
    for (const ContactInsight& insight : history.insights) {
      write(HistoryRecord::kInsightsFieldNumber, insight);
    }
  }
  return out;
}

absl::StatusOr<History> ParseHistory(absl::string_view bytes) {
  HistoryRecord record;
  if (!record.ParseFromArray(bytes.data(), static_cast<int>(bytes.size()))) {
    return absl::DataLossError("profile history: not a HistoryRecord");
  }
  if (record.format_version() > kHistoryFormatVersion) {
    return absl::FailedPreconditionError(
        absl::StrCat("profile history: format ", record.format_version(),
                     " is newer than this server's ", kHistoryFormatVersion));
  }
  History history;
  history.recent.reserve(record.recent_size());
  for (Interaction& i : *record.mutable_recent()) {
    history.recent.push_back(std::move(i));
  }
  history.aggregates = std::move(*record.mutable_aggregates());
  history.insights.reserve(record.insights_size());
  for (ContactInsight& insight : *record.mutable_insights()) {
    history.insights.push_back(std::move(insight));
  }
  return history;
}

bool FoldInteraction(const Interaction& interaction, History* history,
                     const DeriveOptions& options) {
  if (!interaction.id().empty()) {
    for (const Interaction& kept : history->recent) {
      if (kept.id() == interaction.id()) return false;
    }
  }
  Interaction copy = interaction;
  NormalizeTopics(&copy);
  UpdateAggregates(copy, &history->aggregates);

  const absl::Time t = TimeOf(copy);
  auto& recent = history->recent;
  const auto at = std::upper_bound(
      recent.begin(), recent.end(), t,
      [](absl::Time x, const Interaction& i) { return x < TimeOf(i); });
  recent.insert(at, std::move(copy));
  if (recent.size() > static_cast<size_t>(kMaxRecentInteractions)) {
    const auto excess =
        static_cast<ptrdiff_t>(recent.size()) - kMaxRecentInteractions;
    for (auto it = recent.begin(); it != recent.begin() + excess; ++it) {
      FoldTrimmedTopics(*it, options.interest_half_life, &history->aggregates);
    }
    history->aggregates.set_trimmed_interactions(
        history->aggregates.trimmed_interactions() + excess);
    recent.erase(recent.begin(), recent.begin() + excess);
  }
  return true;
}

bool ApplyInteractionToContact(const Interaction& interaction,
                               Contact* contact) {
  if (!IsOptOut(interaction.outcome()) || contact->do_not_contact()) {
    return false;
  }
  contact->set_do_not_contact(true);
  contact->set_do_not_contact_reason(absl::StrCat(
      interaction.outcome() == common::v1::OUTCOME_COMPLAINT ? "complaint "
                                                             : "unsubscribed ",
      Date(TimeOf(interaction))));
  return true;
}

InsightEffect ApplyInsight(const ContactInsight& insight, absl::Time now,
                           Contact* contact, History* history,
                           const DeriveOptions& options) {
  InsightEffect effect;
  if (!insight.source_feedback_id().empty()) {
    for (const ContactInsight& kept : history->insights) {
      if (kept.source_feedback_id() == insight.source_feedback_id()) {
        effect.duplicate = true;
        return effect;
      }
    }
  }
  ContactInsight kept = insight;
  if (!kept.has_observed_at()) SetTimestamp(now, kept.mutable_observed_at());
  const absl::Time t = ToTime(kept.observed_at());
  const absl::string_view text = kept.text();
  Aggregates* agg = &history->aggregates;

  switch (kept.kind()) {
    case common::v1::INSIGHT_KIND_PRIORITY:
      effect.contact_changed =
          AppendUnique(text, contact->mutable_priorities());
      Note(t, "", agg->mutable_stated_needs());
      break;
    case common::v1::INSIGHT_KIND_CHALLENGE:
      effect.contact_changed =
          AppendUnique(text, contact->mutable_challenges());
      Note(t, "", agg->mutable_stated_needs());
      break;
    case common::v1::INSIGHT_KIND_TRIGGER_EVENT: {
      const std::string key = NormalizeTopic(text, kMaxDescriptionBytes);
      bool present = false;
      for (const common::v1::TriggerEvent& e : contact->trigger_events()) {
        if (NormalizeTopic(e.description(), kMaxDescriptionBytes) == key) {
          present = true;
        }
      }
      if (!present && !key.empty()) {
        auto* events = contact->mutable_trigger_events();
        common::v1::TriggerEvent* event = events->Add();
        event->set_description(ToString(text));
        *event->mutable_occurred_at() = kept.observed_at();
        for (int k = events->size() - 1; k > 0; --k) {
          events->SwapElements(k, k - 1);
        }
        if (events->size() > kMaxContactListItems) {
          events->DeleteSubrange(kMaxContactListItems,
                                 events->size() - kMaxContactListItems);
        }
        effect.contact_changed = true;
      }
      break;
    }
    case common::v1::INSIGHT_KIND_PREFERRED_NAME: {
      const absl::string_view name = absl::StripAsciiWhitespace(text);
      if (!name.empty() && contact->preferred_name() != name) {
        contact->set_preferred_name(ToString(name));
        effect.contact_changed = true;
      }
      break;
    }
    case common::v1::INSIGHT_KIND_INTEREST: {
      const std::string topic = NormalizeTopic(text);
      if (!topic.empty()) {
        AddMention(kEngagementWeight, t, options.interest_half_life,
                   Accumulator(topic, agg));
        CapAccumulators(options.interest_half_life, agg);
      }
      break;
    }
    case common::v1::INSIGHT_KIND_DO_NOT_CONTACT: {
      const std::string reason = CutText(text, kMaxShortTextBytes);
      if (!contact->do_not_contact() ||
          contact->do_not_contact_reason() != reason) {
        contact->set_do_not_contact(true);
        contact->set_do_not_contact_reason(reason);
        effect.contact_changed = true;
      }
      break;
    }
    default:  // PREFERENCE, OTHER: kept in the insights only.
      break;
  }

  // Newest first; an insight observed at the same time as kept ones goes
  // before them (it arrived later).
  auto& insights = history->insights;
  const auto at = std::find_if(
      insights.begin(), insights.end(),
      [t](const ContactInsight& i) { return ToTime(i.observed_at()) <= t; });
  insights.insert(at, std::move(kept));
  if (insights.size() > static_cast<size_t>(kMaxInsights)) {
    insights.resize(kMaxInsights);
  }
  return effect;
}

std::string AddressAs(const Contact& contact) {
  const absl::string_view preferred =
      absl::StripAsciiWhitespace(contact.preferred_name());
  if (!preferred.empty()) return ToString(preferred);
  const std::vector<absl::string_view> words = absl::StrSplit(
      contact.full_name(), absl::ByAnyChar(" \t\r\n"), absl::SkipEmpty());
  size_t k = 0;
  while (k + 1 < words.size() && IsHonorific(words[k])) ++k;
  if (k >= words.size()) return "";
  absl::string_view word = words[k];
  while (word.size() > 1 && word.back() == ',') word.remove_suffix(1);
  return ToString(word);
}

void Derive(const Contact& contact, const History& history, absl::Time now,
            const DeriveOptions& options, v1::Profile* out) {
  // Everything but the store's fields is recomputed from scratch.
  const int64_t version = out->version();
  google::protobuf::Timestamp updated_at;
  const bool has_updated_at = out->has_updated_at();
  if (has_updated_at) updated_at = out->updated_at();
  out->Clear();
  out->set_version(version);
  if (has_updated_at) *out->mutable_updated_at() = updated_at;
  *out->mutable_contact() = contact;

  std::vector<const Interaction*> ordered;
  ordered.reserve(history.recent.size());
  for (const Interaction& i : history.recent) ordered.push_back(&i);
  const auto earlier = [](const Interaction* a, const Interaction* b) {
    return TimeOf(*a) < TimeOf(*b);
  };
  if (!std::is_sorted(ordered.begin(), ordered.end(), earlier)) {
    std::stable_sort(ordered.begin(), ordered.end(), earlier);
  }

  const bool learned = DeriveInterests(contact, history, now, options, out);
  StageResult stage = DeriveStage(contact, history, ordered, now, options);
  out->set_stage(stage.stage);
  out->set_stage_reason(std::move(stage.reason));
  DeriveResponsiveness(history, ordered, options,
                       out->mutable_responsiveness());
  DeriveFatigue(contact, history, ordered, now, options,
                out->mutable_fatigue());
  DeriveGaps(contact, history, learned, now, options, out);

  out->set_interaction_count(history.aggregates.interaction_count());
  if (history.aggregates.has_last_interaction_at()) {
    *out->mutable_last_interaction_at() =
        history.aggregates.last_interaction_at();
  }
  out->set_address_as(AddressAs(contact));
  const size_t insights =
      std::min(history.insights.size(), static_cast<size_t>(kMaxInsights));
  for (size_t k = 0; k < insights; ++k) {
    *out->add_insights() = history.insights[k];
  }
}

}  // namespace rapport::profile::model
