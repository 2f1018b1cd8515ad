#pragma once

// Helpers of the scoring engine tests: the default rules, the seed's
// recipient and sender, and short ways to score a draft and look at the
// findings of one rule.

#include <gtest/gtest.h>

#include <fstream>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

#include "services/scoring/engine/engine.h"
#include "services/scoring/engine/rules.h"

namespace rapport::scoring::engine::testing {

namespace v1 = ::rapport::scoring::v1;
namespace common = ::rapport::common::v1;
namespace profile = ::rapport::profile::v1;

inline std::string RulesDir() { return RAPPORT_RULES_DIR; }

inline std::string ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

// A rules file the tests cannot run without: a load error fails the test
// binary at once.
inline std::shared_ptr<const CompiledRules> LoadRulesOrDie(
    const std::string& path) {
  auto r = LoadRules(path);
  if (!r.ok()) {
    ADD_FAILURE() << r.status();
    std::abort();
  }
  return *r;
}

// The default rules file, loaded once.
inline const CompiledRules& DefaultRules() {
  static const std::shared_ptr<const CompiledRules> rules =
      LoadRulesOrDie(RulesDir() + "/default.textproto");
  return *rules;
}

// Mitchell Grant, who goes by Mitch: the recipient of seed 004.
inline common::Contact SeedContact() {
  common::Contact c;
  c.set_id("check-seed-mitch");
  c.set_full_name("Mitchell Grant");
  c.set_preferred_name("Mitch");
  c.set_title("VP Sales");
  c.set_company("Acme Logistics");
  c.set_industry("Logistics");
  c.add_priorities("cut onboarding time for new reps");
  c.add_trigger_events()->set_description(
      "opened a new distribution hub in Denver");
  return c;
}

inline profile::Profile SeedProfile() {
  return ProfileFromContact(SeedContact());
}

inline common::Sender SeedSender() {
  common::Sender s;
  s.set_team(common::TEAM_SALES);
  s.set_rep_id("bob");
  s.set_company_name("Blah Inc");
  s.add_product_names("Blah");
  return s;
}

// The seed 004 message, exactly as the contract check sends it.
inline constexpr char kSeedBody[] =
    "Mitchell, my name is Bob Blah and I would really like to have just 10 "
    "minutes of your time to tell you all about my blah, blah, blah. We are "
    "number one in blah, blah, blah. And today we serve 159 of the Fortune 500 "
    "companies. Our blah, blah, blah, will help you sell more and solve all of "
    "your problems.";

struct Scored {
  v1::ScoreReport report;
  Signals signals;

  // Findings of one rule, in report order.
  std::vector<v1::Finding> Of(const std::string& rule_id) const {
    std::vector<v1::Finding> out;
    for (const v1::Finding& f : report.findings()) {
      if (f.rule_id() == rule_id) out.push_back(f);
    }
    return out;
  }
  bool Fired(const std::string& rule_id) const {
    const int i = DefaultRules().FindRule(rule_id);
    EXPECT_GE(i, 0) << "unknown rule " << rule_id;
    return i >= 0 && signals.x[static_cast<size_t>(i)] != 0;
  }
  double X(const std::string& rule_id) const {
    const int i = DefaultRules().FindRule(rule_id);
    EXPECT_GE(i, 0) << "unknown rule " << rule_id;
    return i < 0 ? 0 : signals.x[static_cast<size_t>(i)];
  }
};

struct Draft {
  std::string body;
  std::string subject = "Denver hub";
  common::Channel channel = common::CHANNEL_EMAIL;
  const profile::Profile* profile = nullptr;
  const common::Sender* sender = nullptr;
};

inline Scored ScoreDraft(const Draft& d,
                         const CompiledRules& rules = DefaultRules()) {
  v1::Draft draft;
  draft.set_channel(d.channel);
  draft.set_subject(d.subject);
  draft.set_body(d.body);
  ScoreInput in{&draft, d.profile, d.sender};
  Scored s;
  s.report = Score(in, rules, DefaultWeights(rules), &s.signals);
  return s;
}

// Scores `body` for the seed's recipient and sender.
inline Scored ScoreForMitch(const std::string& body,
                            const std::string& subject = "Denver hub") {
  static const profile::Profile profile = SeedProfile();
  static const common::Sender sender = SeedSender();
  return ScoreDraft(
      Draft{body, subject, common::CHANNEL_EMAIL, &profile, &sender});
}

// The text of the finding's span in `text`.
inline std::string Span(const std::string& text, const v1::Finding& f) {
  return text.substr(f.start(), f.end() - f.start());
}

}  // namespace rapport::scoring::engine::testing
