#pragma once

// Profile derivation: the pure core of profile-service. Given the stored
// contact, its interaction history and the time, Derive() fills every
// derived field of rapport.profile.v1.Profile. No I/O, no clock, no
// randomness: the same inputs and `now` give the same profile, so the store
// can derive on write and cache the result (GetProfile is one read).
//
// Why these rules: the seeds ask a seller to "do your homework about their
// world", to talk about what matters to *them*, to not pitch before the
// customer has a compelling need, and remember that "your customers want
// less, not more". Every number below is a DeriveOptions default.
//
// ── Interaction classes ────────────────────────────────────────────────────
//  touch        EMAIL_SENT; CALL or LINKEDIN_MESSAGE with direction OUTBOUND.
//  reply        EMAIL_REPLIED; LINKEDIN_MESSAGE INBOUND; CALL INBOUND or
//               with a duration (connected); MEETING (profile.proto); and
//               any interaction whose outcome is a reply (REPLIED,
//               POSITIVE/NEUTRAL/NEGATIVE_REPLY, MEETING_BOOKED), which
//               covers OUTCOME_REPORTED.
//  timed reply  EMAIL_REPLIED, LINKEDIN INBOUND, CALL INBOUND: the contact
//               chose the moment, so they feed reply delays and best hours.
//               Meetings (scheduled), connected outbound calls (our moment)
//               and outcome reports (reported later) do not.
//  engagement   a reply or an EVENT attended, unless its outcome is unwelcome
//               (NEGATIVE_REPLY, UNSUBSCRIBED, COMPLAINT, BOUNCED, NO_REPLY).
//               Only engagements move the buying stage: what the seller wrote
//               about says nothing about where the buyer is.
//  decline      outcome NEGATIVE_REPLY.  opt-out: UNSUBSCRIBED or COMPLAINT.
//
// ── Interests ──────────────────────────────────────────────────────────────
//  weight of one mention = w * 2^(-(now - t) / half_life), half_life 90 days
//  (the default: a quarter, one planning cycle; a topic raised last
//  quarter counts half as much as one raised today).
//    w = 2   engagement (inbound reply, meeting, call, event) and INTEREST
//            insight: they said it.                 (profile.proto: inbound 2)
//    w = 1   outbound touch: we said it.            (profile.proto: mention 1)
//    w = 0   decline, opt-out, bounce, no reply: ignored topics are not
//            interests (the mention is not counted either).
//    3       each stated priority and challenge, constant (no decay): still
//            true until the record changes; outranks one fresh mention, not a
//            topic they keep raising.
//  Topics are keyed by NormalizeTopic() (NFC, lower case, spaces folded); the
//  Interest.topic returned is that key (profile.proto: "normalised"). Top 20
//  by weight, then most recent, then topic. Topics of interactions trimmed
//  from the raw list live on in Aggregates.topics (decayed accumulators).
//
// ── Buying stage (first matching row wins) ─────────────────────────────────
//  Rows 2-5 are checked on the last 90 days (stage_window) first: recent
//  evidence wins. If none holds there, they are checked on all-time evidence
//  (Aggregates) and the reason says how old it is.
//  1 CUSTOMER       a CRM custom field marks it (key lifecyclestage,
//                   lifecycle_stage, type, account_type, customer_status,
//                   relationship; value starting with "customer": HubSpot
//                   "customer", Salesforce "Customer - Direct"), or any
//                   interaction topic, any time and direction, matches
//                   kCustomerTopics: renewal(s), qbr, quarterly business
//                   review, closed won, existing customer, current customer,
//                   or the topic is exactly "customer".
//  2 DECIDING       an engagement topic matches kDecidingTopics: contract(s),
//                   legal review, redline(s), procurement, negotiation(s),
//                   negotiate, terms and conditions, msa, master services
//                   agreement, order form, purchase order, sow, statement of
//                   work, dpa, data processing agreement, signature, vendor
//                   onboarding, budget approval.
//  3 EVALUATING     an engagement topic matches kEvaluatingTopics: pricing,
//                   price(s), quote, proposal, demo, trial, pilot, proof of
//                   concept, poc, security review, security questionnaire, rfp,
//                   rfi, rfq, business case, roi, references, reference call,
//                   vendor comparison, shortlist, evaluation.
//  4 EXPLORING      a conversation (MEETING, connected CALL, or outcome
//                   MEETING_BOOKED) or at least 2 engagements. A booked
//                   meeting is exploring, not evaluating: agreeing to talk is
//                   not comparing vendors, and pitching costs most early.
//  5 PROBLEM_AWARE  1 engagement, or a CHALLENGE / PRIORITY insight (they said
//                   it themselves; Contact.challenges alone may be research).
//  6 UNAWARE        touches or declines, but no engagement: they have not
//                   shown a need to change.
//  7 UNKNOWN        nothing to go on (no interactions, or only bounces).
//  Topic lists match whole words of the normalised topic ("new pricing" and
//  "pricing/packaging" match "pricing"; "repricing" does not).
//
// ── Responsiveness ─────────────────────────────────────────────────────────
//  reply_rate = (min(replies, touches) + a) / (touches + a + b), with
//  a = prior_reply_rate * prior_weight, b = (1 - prior_reply_rate) *
//  prior_weight: a Beta(0.5, 9.5) prior, mean 5%, worth 10 touches
//  (profile.proto). 5%: published cold-email reply rates average 1-5%
//  (Instantly 2026 benchmark 3.43%, top decile 10.7%; Cleanlist 2026 3.1%;
//  Belkins 2024 5.8%), and a CRM's contacts are partly warm. So 1 reply to 1
//  touch reads 1.5/11 = 14%, not 100%; 0/0 reads 5%. Replies beyond touches
//  (conversations they started) cannot push the rate past 1.
//  median_reply_time: each timed reply paired with the latest touch before it,
//  once per touch, over the kept raw history.
//  best_hours_utc: UTC hours with at least 2 timed replies, most first (ties:
//  earlier hour), at most 3, and only once 3 timed replies are known.
//
// ── Fatigue ("customers want less, not more") ──────────────────────────────
//  unanswered touches = touches after the last reply, within 90 days (u).
//  fatigued when any of:
//    A  >= 3 unanswered touches in the last 14 days. Replies fall with each
//       follow-up (Belkins 2024: the third email gets 20% fewer replies;
//       Growbots: negative replies per positive rise with every follow-up),
//       and by the 4th email unsubscribes and spam reports triple.
//    B  >= 2 unanswered touches in the last 3 days (min. spacing between
//       follow-ups in deliverability guides is 3-7 days).
//    C  declined (NEGATIVE_REPLY) within 90 days, with no welcome reply since:
//       they said no; come back only with something about them.
//    D  do_not_contact, or an opt-out (UNSUBSCRIBED / COMPLAINT) in the
//       history: no wait and no next contact, ever.
//  recommended_wait = max over the rules that apply, minus now, floored at 0:
//    cadence   last unanswered touch + 3 days * 2^(u-1), capped at 90 days
//              (u=1: 3d, 2: 6d, 3: 12d, 4: 24d, 5: 48d, 6+: 90d): each silence
//              doubles the pause instead of adding another touch;
//    A         3rd newest unanswered touch + 14 days (when A clears);
//    B         2nd newest unanswered touch + 3 days;
//    C         decline + 90 days.
//  next_contact_after = now + recommended_wait. The reason names counts and
//  dates only, and after 3 unanswered touches on one channel suggests another.
//  Cadence alone (not fatigued) still gives a wait but, per profile.proto, no
//  reason.
//
// ── Knowledge gaps (what a caring seller should learn first) ───────────────
//  NO_PRIORITIES            Contact.priorities empty.
//  NO_CHALLENGES            Contact.challenges empty.
//  NO_RECENT_TRIGGER_EVENTS no trigger event dated within 180 days (undated
//                           events count as recent).
//  NO_PREFERRED_NAME        Contact.preferred_name empty.
//  NO_INTERESTS             no interest learned from interactions or insights
//                           (stated priorities alone do not count).
//  NO_ROLE_CONTEXT          title, company or industry missing.
//  NO_INTERACTIONS          none recorded, or none within 180 days.
//  NEVER_REPLIED            >= 3 touches and 0 replies, all time.
//
// ── Other fields ───────────────────────────────────────────────────────────
//  address_as: preferred_name if set, else the first word of full_name,
//  skipping a leading honorific (Mr, Ms, Mrs, Dr, Prof, ...) and trailing
//  commas. The scoring engine compares drafts against it.
//  interaction_count, last_interaction_at: all time, from Aggregates.
//  insights: History.insights, newest first, at most 50.
//  Profile.version and updated_at are the store's and left untouched.

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "rapport/common/v1/common.pb.h"
#include "rapport/profile/v1/profile.pb.h"
#include "services/profile/model/profile_history.pb.h"

namespace rapport::profile::model {

// Raw interactions kept per contact (profile.proto's storage bound).
inline constexpr int kMaxRecentInteractions = 500;
// Insights kept per contact and returned in Profile.insights.
inline constexpr int kMaxInsights = 50;
// Profile.interests holds at most this many.
inline constexpr int kMaxInterests = 20;
// Topic accumulators kept in Aggregates.topics.
inline constexpr int kMaxTopicAccumulators = 256;

struct DeriveOptions {
  // Interests: halving time of a mention's weight.
  absl::Duration interest_half_life = absl::Hours(24 * 90);
  // Interests returned, clamped to [0, kMaxInterests].
  int max_interests = kMaxInterests;
  // Constant weight of each stated priority and challenge.
  double stated_interest_weight = 3.0;

  // Reply-rate prior: mean and strength in touches (profile.proto).
  double prior_reply_rate = 0.05;
  double prior_weight = 10.0;
  // Best hours: timed replies needed at all, and per listed hour.
  int best_hours_min_replies = 3;
  int best_hour_min_replies = 2;

  // Buying stage: the window in which recent evidence wins.
  absl::Duration stage_window = absl::Hours(24 * 90);

  // Fatigue.
  absl::Duration fatigue_window = absl::Hours(24 * 14);
  int fatigue_touches = 3;
  absl::Duration burst_window = absl::Hours(24 * 3);
  int burst_touches = 2;
  absl::Duration unanswered_lookback = absl::Hours(24 * 90);
  absl::Duration cadence_base = absl::Hours(24 * 3);
  absl::Duration cadence_cap = absl::Hours(24 * 90);
  absl::Duration decline_wait = absl::Hours(24 * 90);
  // Touches on one channel after which the reason suggests another channel.
  int switch_channel_after = 3;

  // Knowledge gaps.
  absl::Duration gap_window = absl::Hours(24 * 180);
  int never_replied_touches = 3;
};

// Everything kept about a contact besides the contact record.
struct History {
  // Oldest first (sorted by occurred_at), at most kMaxRecentInteractions,
  // topics normalised. Maintained by FoldInteraction().
  std::vector<v1::Interaction> recent;
  // Running totals over every interaction ever folded in, and the topics of
  // trimmed ones. See profile_history.proto.
  Aggregates aggregates;
  // Newest first (by observed_at), at most kMaxInsights. Maintained by
  // ApplyInsight().
  std::vector<common::v1::ContactInsight> insights;
};

// The store's byte format for History (a HistoryRecord proto, format 1,
// deterministic bytes). Parse fails with DATA_LOSS on bytes that are not a
// HistoryRecord and FAILED_PRECONDITION on a newer format version.
std::string SerializeHistory(const History& history);
absl::StatusOr<History> ParseHistory(absl::string_view bytes);

// Adds one validated interaction: normalises and de-duplicates its topics,
// updates the aggregates, inserts it in time order (an out-of-order backfill
// lands in place) and trims the raw list to kMaxRecentInteractions, oldest
// out, folding the topics of each trimmed interaction into
// Aggregates.topics. Returns false, changing nothing, when an interaction
// with the same non-empty id is still in `recent`: the store must remember
// older ids itself to be idempotent beyond the raw window. `options` supplies
// the half-life used to pre-decay trimmed topics.
bool FoldInteraction(const v1::Interaction& interaction, History* history,
                     const DeriveOptions& options = {});

// The contact-record side of an interaction: an UNSUBSCRIBED or COMPLAINT
// outcome sets do_not_contact with reason "unsubscribed 2024-05-02" /
// "complaint 2024-05-02" (profile.proto). Returns true when `contact`
// changed. Call it with FoldInteraction().
bool ApplyInteractionToContact(const v1::Interaction& interaction,
                               common::v1::Contact* contact);

// What ApplyInsight() did.
struct InsightEffect {
  // source_feedback_id was already among the kept insights: nothing changed.
  bool duplicate = false;
  // The contact record changed (priorities, challenges, trigger events,
  // preferred name or do-not-contact) and must be stored.
  bool contact_changed = false;
};

// Applies an insight as rapport.common.v1.InsightKind defines, and keeps it
// in History.insights (newest first, at most 50; observed_at defaults to
// `now`):
//   PRIORITY / CHALLENGE  appended to Contact.priorities / challenges unless
//                         already there (compared as NormalizeTopic()) or the
//                         list holds 32 items;
//   TRIGGER_EVENT         prepended to Contact.trigger_events (description =
//                         text, occurred_at = observed_at) unless the same
//                         description is there; the oldest dropped past 32;
//   PREFERRED_NAME        replaces Contact.preferred_name (trimmed);
//   INTEREST              adds an inbound mention (weight 2 at observed_at) to
//                         the topic's accumulator;
//   DO_NOT_CONTACT        sets do_not_contact, text (cut to 512 bytes) as the
//                         reason;
//   PREFERENCE / OTHER    kept in the insights only.
// PRIORITY and CHALLENGE also count as stage evidence (PROBLEM_AWARE).
// Expects a validated insight.
InsightEffect ApplyInsight(const common::v1::ContactInsight& insight,
                           absl::Time now, common::v1::Contact* contact,
                           History* history, const DeriveOptions& options = {});

// Fills every derived field of `out` (see the table above) and copies
// `contact` into out->contact; keeps out->version and out->updated_at.
void Derive(const common::v1::Contact& contact, const History& history,
            absl::Time now, const DeriveOptions& options, v1::Profile* out);

// Profile.address_as for a contact.
std::string AddressAs(const common::v1::Contact& contact);

}  // namespace rapport::profile::model
