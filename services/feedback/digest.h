#pragma once

// GetDigest's arithmetic, pure: items and outcome enrichments in, a Digest
// out. No Redis, no gRPC, no clock (the caller passes `now`).
//
// Definitions (rapport.feedback.v1.Digest documents the fields):
// - "The team's items": items authored by `team`; every item when team is
//   TEAM_UNSPECIFIED (the whole tenant). `counts` always covers all teams.
// - Outcome rates count outcome *reports*: two reports about one message
//   count twice (OutcomeStats.total is "outcomes reported"). Welcome replies
//   are REPLIED, POSITIVE_REPLY, NEUTRAL_REPLY and MEETING_BOOKED (as in
//   common.proto); delivered = total - BOUNCED.
// - Templates and campaigns come from the outcome's enrichment (what
//   scoring's RecordOutcome said about the message); outcomes about a
//   contact, or whose message scoring did not know, have no template.
// - Rule lifts count *messages*: per message the latest report (acceptance
//   order) decides whether it got a welcome reply, so "no reply" followed by
//   "replied" counts as replied once. Only delivered messages with an
//   enrichment count (the fired rules must be known); a rule is "not fired"
//   on every such message where it did not fire. Rules need at least
//   kMinLiftSamples fired and kMinLiftSamples not-fired messages: below that
//   the rates are noise. lift = rate'(fired) / rate'(not fired) with add-one
//   (Laplace) smoothing, rate' = (replies + 1) / (messages + 2), so it is
//   finite and shrinks toward 1 on small counts; the reported rates are the
//   raw ones. It is a correlation in the team's own data, not a causal
//   effect: a rule that fires on a campaign's template inherits that
//   campaign's audience.

#include <cstdint>
#include <string>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/time/time.h"
#include "rapport/common/v1/common.pb.h"
#include "rapport/feedback/v1/feedback.pb.h"
#include "services/feedback/feedback_store.pb.h"

namespace rapport::feedback {

inline constexpr int kMinLiftSamples = 5;
inline constexpr int kMaxRuleLifts = 50;
inline constexpr int kMaxGroups = 100;  // templates, campaigns
inline constexpr int kMinBestWorstDelivered = 10;
inline constexpr int kMaxBestWorst = 3;
inline constexpr int kMaxDigestNotes = 50;
inline constexpr int kMaxTopTags = 10;

// Welcome reply (label 1 in scoring's learning).
bool IsWelcomeReply(common::v1::Outcome outcome);

// OutcomeStats over a list of outcome reports.
v1::OutcomeStats ComputeOutcomeStats(
    const std::vector<common::v1::Outcome>& outcomes);

struct DigestInput {
  common::v1::Team team = common::v1::TEAM_UNSPECIFIED;
  absl::Time start;
  absl::Time end;
  absl::Time now;
  // Every item accepted in [start, end), with id and created_at filled, in
  // any order. Items outside the period are ignored.
  std::vector<v1::Feedback> items;
  // Enrichments by feedback id (outcome items with a message subject).
  absl::flat_hash_map<std::string, store::OutcomeEnrichment> outcomes;
};

v1::Digest ComputeDigest(const DigestInput& input);

// Review ratings of templates (reviews whose subject is a template_id):
// the digest proto has no field for them yet, so rapportctl computes them
// from ListFeedback with this function.
struct TemplateRating {
  std::string template_id;
  int64_t count = 0;
  double mean_rating = 0;
};
struct TemplateRatings {
  std::vector<TemplateRating> highest;  // highest mean first
  std::vector<TemplateRating> lowest;   // lowest mean first, not in highest
};
// Over the team's reviews (all when TEAM_UNSPECIFIED); templates need at
// least `min_reviews` reviews; at most `limit` in each list.
TemplateRatings RateTemplates(const std::vector<v1::Feedback>& items,
                              common::v1::Team team, int min_reviews = 1,
                              int limit = 3);

}  // namespace rapport::feedback
