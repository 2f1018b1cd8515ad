#include "services/feedback/digest.h"

#include <algorithm>
#include <map>
#include <tuple>
#include <utility>

#include "absl/container/flat_hash_set.h"
#include "common/util/util.h"
#include "services/feedback/validate.h"

namespace rapport::feedback {
namespace {

using common::v1::Outcome;
using common::v1::Team;

double Ratio(int64_t num, int64_t den) {
  return den == 0 ? 0.0 : static_cast<double>(num) / static_cast<double>(den);
}

bool OwnedBy(const v1::Feedback& f, Team team) {
  return team == common::v1::TEAM_UNSPECIFIED || f.author().team() == team;
}

bool HasCheckedText(const v1::Feedback& f) {
  switch (f.kind_case()) {
    case v1::Feedback::kReview:
      return !f.review().comment().empty() || f.review().tags_size() > 0;
    case v1::Feedback::kInsight:
    case v1::Feedback::kNote:
      return true;
    default:
      return false;
  }
}

// Acceptance order: the stream id, then the id text as a tie-breaker for
// ids that do not parse (never in practice).
bool EarlierThan(const v1::Feedback& a, const v1::Feedback& b) {
  const std::optional<StreamId> ia = ParseStreamId(a.id());
  const std::optional<StreamId> ib = ParseStreamId(b.id());
  if (ia.has_value() && ib.has_value() && *ia != *ib) return *ia < *ib;
  return a.id() < b.id();
}

// Groups outcome reports by template or campaign id and ranks them.
std::vector<v1::GroupOutcomeStats> RankGroups(
    const std::map<std::string, std::vector<Outcome>>& groups) {
  std::vector<v1::GroupOutcomeStats> out;
  out.reserve(groups.size());
  for (const auto& [id, outcomes] : groups) {
    v1::GroupOutcomeStats g;
    g.set_id(id);
    *g.mutable_stats() = ComputeOutcomeStats(outcomes);
    out.push_back(std::move(g));
  }
  std::sort(out.begin(), out.end(),
            [](const v1::GroupOutcomeStats& a, const v1::GroupOutcomeStats& b) {
              if (a.stats().reply_rate() != b.stats().reply_rate()) {
                return a.stats().reply_rate() > b.stats().reply_rate();
              }
              if (a.stats().total() != b.stats().total()) {
                return a.stats().total() > b.stats().total();
              }
              return a.id() < b.id();
            });
  return out;
}

int64_t Delivered(const v1::OutcomeStats& s) {
  int64_t bounced = 0;
  for (const v1::OutcomeCount& c : s.by_outcome()) {
    if (c.outcome() == common::v1::OUTCOME_BOUNCED) bounced += c.count();
  }
  return s.total() - bounced;
}

void FillBestWorst(const std::vector<v1::GroupOutcomeStats>& ranked,
                   v1::Digest* digest) {
  std::vector<v1::GroupOutcomeStats> eligible;
  for (const v1::GroupOutcomeStats& g : ranked) {
    if (Delivered(g.stats()) >= kMinBestWorstDelivered) eligible.push_back(g);
  }
  // `ranked` is highest reply rate first.
  absl::flat_hash_set<std::string> best;
  for (const v1::GroupOutcomeStats& g : eligible) {
    if (static_cast<int>(best.size()) == kMaxBestWorst) break;
    *digest->add_best_templates() = g;
    best.insert(g.id());
  }
  // Lowest reply rate first; among equal rates, more evidence first.
  std::stable_sort(
      eligible.begin(), eligible.end(),
      [](const v1::GroupOutcomeStats& a, const v1::GroupOutcomeStats& b) {
        if (a.stats().reply_rate() != b.stats().reply_rate()) {
          return a.stats().reply_rate() < b.stats().reply_rate();
        }
        return a.stats().total() > b.stats().total();
      });
  for (const v1::GroupOutcomeStats& g : eligible) {
    if (digest->worst_templates_size() == kMaxBestWorst) break;
    if (best.contains(g.id())) continue;
    *digest->add_worst_templates() = g;
  }
}

void FillRuleLifts(const std::vector<const v1::Feedback*>& outcome_items,
                   const DigestInput& input, v1::Digest* digest) {
  // Latest report per message (items are in acceptance order).
  std::map<std::string, const v1::Feedback*> latest;
  for (const v1::Feedback* f : outcome_items) {
    if (!f->subject().has_message_id()) continue;
    if (!input.outcomes.contains(f->id())) continue;
    latest[f->subject().message_id()] = f;
  }
  struct Counts {
    int64_t fired = 0;
    int64_t fired_replies = 0;
  };
  std::map<std::string, Counts> rules;
  int64_t messages = 0;
  int64_t replies = 0;
  for (const auto& [message_id, f] : latest) {
    const Outcome o = f->outcome().outcome();
    if (o == common::v1::OUTCOME_BOUNCED) continue;
    const bool welcome = IsWelcomeReply(o);
    ++messages;
    if (welcome) ++replies;
    const store::OutcomeEnrichment& e = input.outcomes.at(f->id());
    absl::flat_hash_set<std::string> seen;
    for (const std::string& rule : e.fired_rule_ids()) {
      if (!seen.insert(rule).second) continue;
      Counts& c = rules[rule];
      ++c.fired;
      if (welcome) ++c.fired_replies;
    }
  }
  std::vector<v1::RuleLift> lifts;
  for (const auto& [rule, c] : rules) {
    const int64_t not_fired = messages - c.fired;
    const int64_t not_fired_replies = replies - c.fired_replies;
    if (c.fired < kMinLiftSamples || not_fired < kMinLiftSamples) continue;
    v1::RuleLift lift;
    lift.set_rule_id(rule);
    lift.set_fired_count(c.fired);
    lift.set_fired_reply_rate(Ratio(c.fired_replies, c.fired));
    lift.set_not_fired_count(not_fired);
    lift.set_not_fired_reply_rate(Ratio(not_fired_replies, not_fired));
    const double fired_smoothed = static_cast<double>(c.fired_replies + 1) /
                                  static_cast<double>(c.fired + 2);
    const double not_fired_smoothed =
        static_cast<double>(not_fired_replies + 1) /
        static_cast<double>(not_fired + 2);
    lift.set_lift(fired_smoothed / not_fired_smoothed);
    lifts.push_back(std::move(lift));
  }
  std::sort(lifts.begin(), lifts.end(),
            [](const v1::RuleLift& a, const v1::RuleLift& b) {
              if (a.lift() != b.lift()) return a.lift() < b.lift();
              return a.rule_id() < b.rule_id();
            });
  if (static_cast<int>(lifts.size()) > kMaxRuleLifts) {
    lifts.resize(kMaxRuleLifts);
  }
  for (v1::RuleLift& l : lifts) *digest->add_rule_lifts() = std::move(l);
}

}  // namespace

bool IsWelcomeReply(Outcome outcome) {
  switch (outcome) {
    case common::v1::OUTCOME_REPLIED:
    case common::v1::OUTCOME_POSITIVE_REPLY:
    case common::v1::OUTCOME_NEUTRAL_REPLY:
    case common::v1::OUTCOME_MEETING_BOOKED:
      return true;
    default:
      return false;
  }
}

v1::OutcomeStats ComputeOutcomeStats(const std::vector<Outcome>& outcomes) {
  std::map<int, int64_t> by;
  int64_t welcome = 0;
  for (const Outcome o : outcomes) {
    ++by[static_cast<int>(o)];
    if (IsWelcomeReply(o)) ++welcome;
  }
  auto count = [&](Outcome o) {
    auto it = by.find(static_cast<int>(o));
    return it == by.end() ? int64_t{0} : it->second;
  };
  v1::OutcomeStats s;
  const auto total = static_cast<int64_t>(outcomes.size());
  s.set_total(total);
  for (const auto& [outcome, n] : by) {
    v1::OutcomeCount* c = s.add_by_outcome();
    c->set_outcome(static_cast<Outcome>(outcome));
    c->set_count(n);
  }
  const int64_t bounced = count(common::v1::OUTCOME_BOUNCED);
  const int64_t delivered = total - bounced;
  s.set_reply_rate(Ratio(welcome, delivered));
  s.set_meeting_rate(
      Ratio(count(common::v1::OUTCOME_MEETING_BOOKED), delivered));
  s.set_unsubscribe_rate(Ratio(count(common::v1::OUTCOME_UNSUBSCRIBED) +
                                   count(common::v1::OUTCOME_COMPLAINT),
                               delivered));
  s.set_bounce_rate(Ratio(bounced, total));
  return s;
}

v1::Digest ComputeDigest(const DigestInput& input) {
  v1::Digest digest;
  digest.set_team(input.team);
  *digest.mutable_start_time() = util::ToTimestamp(input.start);
  *digest.mutable_end_time() = util::ToTimestamp(input.end);
  *digest.mutable_generated_at() = util::ToTimestamp(input.now);

  std::vector<const v1::Feedback*> items;
  items.reserve(input.items.size());
  for (const v1::Feedback& f : input.items) {
    const absl::Time at = FromProto(f.created_at());
    if (at >= input.start && at < input.end) items.push_back(&f);
  }
  std::sort(items.begin(), items.end(),
            [](const v1::Feedback* a, const v1::Feedback* b) {
              return EarlierThan(*a, *b);
            });

  std::map<std::pair<int, int>, int64_t> counts;
  std::vector<Outcome> outcomes;
  std::vector<const v1::Feedback*> outcome_items;
  std::map<std::string, std::vector<Outcome>> templates;
  std::map<std::string, std::vector<Outcome>> campaigns;
  int64_t reviews = 0;
  int64_t rating_sum = 0;
  std::map<std::string, int64_t> tags;
  std::vector<const v1::Feedback*> notes;
  v1::RespectStats* respect = digest.mutable_respect();
  const bool whole_tenant = input.team == common::v1::TEAM_UNSPECIFIED;

  for (const v1::Feedback* f : items) {
    ++counts[{static_cast<int>(f->author().team()),
              static_cast<int>(KindOf(*f))}];
    if (f->has_note() && (whole_tenant || (f->note().to_team() == input.team &&
                                           f->author().team() != input.team))) {
      notes.push_back(f);
    }
    if (f->has_note() && f->flagged() &&
        (whole_tenant || f->note().to_team() == input.team)) {
      respect->set_flagged_received(respect->flagged_received() + 1);
    }
    if (!OwnedBy(*f, input.team)) continue;
    if (HasCheckedText(*f)) {
      respect->set_checked_authored(respect->checked_authored() + 1);
    }
    if (f->flagged()) {
      respect->set_flagged_authored(respect->flagged_authored() + 1);
    }
    if (f->has_outcome()) {
      const Outcome o = f->outcome().outcome();
      outcomes.push_back(o);
      outcome_items.push_back(f);
      auto it = input.outcomes.find(f->id());
      if (it != input.outcomes.end()) {
        if (!it->second.template_id().empty()) {
          templates[it->second.template_id()].push_back(o);
        }
        if (!it->second.campaign_id().empty()) {
          campaigns[it->second.campaign_id()].push_back(o);
        }
      }
    } else if (f->has_review()) {
      ++reviews;
      rating_sum += f->review().rating();
      absl::flat_hash_set<std::string> seen;
      for (const std::string& tag : f->review().tags()) {
        if (seen.insert(tag).second) ++tags[tag];
      }
    }
  }

  for (const auto& [key, n] : counts) {
    v1::KindCount* c = digest.add_counts();
    c->set_team(static_cast<Team>(key.first));
    c->set_kind(static_cast<v1::FeedbackKind>(key.second));
    c->set_count(n);
  }
  *digest.mutable_outcomes() = ComputeOutcomeStats(outcomes);

  std::vector<v1::GroupOutcomeStats> ranked_templates = RankGroups(templates);
  FillBestWorst(ranked_templates, &digest);
  for (size_t i = 0;
       i < ranked_templates.size() && static_cast<int>(i) < kMaxGroups; ++i) {
    *digest.add_templates() = std::move(ranked_templates[i]);
  }
  std::vector<v1::GroupOutcomeStats> ranked_campaigns = RankGroups(campaigns);
  for (size_t i = 0;
       i < ranked_campaigns.size() && static_cast<int>(i) < kMaxGroups; ++i) {
    *digest.add_campaigns() = std::move(ranked_campaigns[i]);
  }

  FillRuleLifts(outcome_items, input, &digest);

  for (auto it = notes.rbegin();
       it != notes.rend() && digest.notes_size() < kMaxDigestNotes; ++it) {
    *digest.add_notes() = **it;
  }

  v1::ReviewStats* rs = digest.mutable_reviews();
  rs->set_count(reviews);
  rs->set_mean_rating(Ratio(rating_sum, reviews));
  std::vector<std::pair<std::string, int64_t>> sorted_tags(tags.begin(),
                                                           tags.end());
  std::sort(sorted_tags.begin(), sorted_tags.end(),
            [](const auto& a, const auto& b) {
              if (a.second != b.second) return a.second > b.second;
              return a.first < b.first;
            });
  for (size_t i = 0; i < sorted_tags.size() && i < kMaxTopTags; ++i) {
    v1::TagCount* t = rs->add_top_tags();
    t->set_tag(sorted_tags[i].first);
    t->set_count(sorted_tags[i].second);
  }
  return digest;
}

TemplateRatings RateTemplates(const std::vector<v1::Feedback>& items, Team team,
                              int min_reviews, int limit) {
  std::map<std::string, std::pair<int64_t, int64_t>> sums;  // count, sum
  for (const v1::Feedback& f : items) {
    if (!f.has_review() || !f.subject().has_template_id()) continue;
    if (!OwnedBy(f, team)) continue;
    auto& [count, sum] = sums[f.subject().template_id()];
    ++count;
    sum += f.review().rating();
  }
  std::vector<TemplateRating> all;
  for (const auto& [id, cs] : sums) {
    if (cs.first < min_reviews) continue;
    all.push_back({id, cs.first, Ratio(cs.second, cs.first)});
  }
  std::sort(all.begin(), all.end(),
            [](const TemplateRating& a, const TemplateRating& b) {
              if (a.mean_rating != b.mean_rating) {
                return a.mean_rating > b.mean_rating;
              }
              if (a.count != b.count) return a.count > b.count;
              return a.template_id < b.template_id;
            });
  TemplateRatings out;
  absl::flat_hash_set<std::string> high;
  for (const TemplateRating& r : all) {
    if (static_cast<int>(out.highest.size()) == limit) break;
    out.highest.push_back(r);
    high.insert(r.template_id);
  }
  for (auto it = all.rbegin(); it != all.rend(); ++it) {
    if (static_cast<int>(out.lowest.size()) == limit) break;
    if (high.contains(it->template_id)) continue;
    out.lowest.push_back(*it);
  }
  return out;
}

}  // namespace rapport::feedback
