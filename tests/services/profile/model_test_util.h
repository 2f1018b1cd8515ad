#pragma once

// Builders shared by the profile model tests: a fixed clock, interactions in
// one line, and a Derive() that returns the profile.

#include <initializer_list>
#include <string>
#include <utility>

#include "absl/strings/string_view.h"
#include "absl/time/civil_time.h"
#include "absl/time/time.h"
#include "google/protobuf/duration.pb.h"
#include "google/protobuf/timestamp.pb.h"
#include "rapport/common/v1/common.pb.h"
#include "rapport/profile/v1/profile.pb.h"
#include "services/profile/model/derive.h"

namespace rapport::profile::model::test_util {

// Monday 2 June 2025, 12:00 UTC.
inline const absl::Time kNow = absl::FromCivil(
    absl::CivilSecond(2025, 6, 2, 12, 0, 0), absl::UTCTimeZone());

inline absl::Duration Days(double n) { return absl::Hours(24 * n); }

inline google::protobuf::Timestamp Ts(absl::Time t) {
  google::protobuf::Timestamp ts;
  const int64_t seconds = absl::ToUnixSeconds(t);
  ts.set_seconds(seconds);
  ts.set_nanos(static_cast<int32_t>((t - absl::FromUnixSeconds(seconds)) /
                                    absl::Nanoseconds(1)));
  return ts;
}

inline absl::Time T(const google::protobuf::Timestamp& ts) {
  return absl::FromUnixSeconds(ts.seconds()) + absl::Nanoseconds(ts.nanos());
}

inline absl::Duration D(const google::protobuf::Duration& d) {
  return absl::Seconds(d.seconds()) + absl::Nanoseconds(d.nanos());
}

inline v1::Interaction Make(
    v1::InteractionKind kind, v1::Direction direction, absl::Time at,
    std::initializer_list<absl::string_view> topics = {},
    common::v1::Outcome outcome = common::v1::OUTCOME_UNSPECIFIED) {
  v1::Interaction i;
  i.set_contact_id("c-1");
  i.set_kind(kind);
  i.set_direction(direction);
  *i.mutable_occurred_at() = Ts(at);
  for (const absl::string_view topic : topics) i.add_topics(std::string(topic));
  i.set_outcome(outcome);
  return i;
}

inline v1::Interaction Sent(
    absl::Time at, std::initializer_list<absl::string_view> topics = {}) {
  return Make(v1::INTERACTION_KIND_EMAIL_SENT, v1::DIRECTION_OUTBOUND, at,
              topics);
}

inline v1::Interaction Replied(
    absl::Time at, std::initializer_list<absl::string_view> topics = {},
    common::v1::Outcome outcome = common::v1::OUTCOME_UNSPECIFIED) {
  return Make(v1::INTERACTION_KIND_EMAIL_REPLIED, v1::DIRECTION_INBOUND, at,
              topics, outcome);
}

inline v1::Interaction Meeting(
    absl::Time at, std::initializer_list<absl::string_view> topics = {}) {
  return Make(v1::INTERACTION_KIND_MEETING, v1::DIRECTION_OUTBOUND, at, topics);
}

inline v1::Interaction Reported(absl::Time at, common::v1::Outcome outcome) {
  return Make(v1::INTERACTION_KIND_OUTCOME_REPORTED, v1::DIRECTION_INBOUND, at,
              {}, outcome);
}

inline common::v1::Contact BaseContact() {
  common::v1::Contact c;
  c.set_id("c-1");
  c.set_full_name("Mitchell Grant");
  return c;
}

// A contact with nothing missing: no knowledge gap from the record.
inline common::v1::Contact CompleteContact() {
  common::v1::Contact c = BaseContact();
  c.set_preferred_name("Mitch");
  c.set_title("VP Sales");
  c.set_company("Acme Logistics");
  c.set_industry("Logistics");
  c.add_priorities("cut onboarding time for new reps");
  c.add_challenges("rep churn in EMEA");
  common::v1::TriggerEvent* e = c.add_trigger_events();
  e->set_description("opened a distribution hub in Denver");
  *e->mutable_occurred_at() = Ts(kNow - Days(20));
  return c;
}

inline History Fold(std::initializer_list<v1::Interaction> interactions) {
  History h;
  for (const v1::Interaction& i : interactions) FoldInteraction(i, &h);
  return h;
}

inline v1::Profile DeriveAt(const common::v1::Contact& contact,
                            const History& history, absl::Time now = kNow,
                            const DeriveOptions& options = {}) {
  v1::Profile p;
  Derive(contact, history, now, options, &p);
  return p;
}

const v1::Interest* FindInterest(const v1::Profile&& p,
                                 absl::string_view topic) = delete;

inline bool HasGap(const v1::Profile& p, v1::KnowledgeGapCode code) {
  for (const v1::KnowledgeGap& g : p.knowledge_gaps()) {
    if (g.code() == code) return true;
  }
  return false;
}

// Points into `p`: keep the profile alive while using the result.
inline const v1::Interest* FindInterest(const v1::Profile& p,
                                        absl::string_view topic) {
  for (const v1::Interest& i : p.interests()) {
    if (i.topic() == topic) return &i;
  }
  return nullptr;
}

inline common::v1::ContactInsight Insight(common::v1::InsightKind kind,
                                          absl::string_view text,
                                          absl::Time observed = kNow) {
  common::v1::ContactInsight insight;
  insight.set_contact_id("c-1");
  insight.set_kind(kind);
  insight.set_text(std::string(text));
  *insight.mutable_observed_at() = Ts(observed);
  return insight;
}

}  // namespace rapport::profile::model::test_util
