// Every rule of the default rules fires on its target and stays quiet on a
// near miss; findings point at the right bytes (also with multi-byte UTF-8
// and CRLF); reports keep their invariants.

#include <gtest/gtest.h>

#include <atomic>
#include <set>
#include <string>
#include <thread>

#include "tests/services/scoring_engine/test_util.h"

namespace rapport::scoring::engine::testing {
namespace {

struct RuleCase {
  const char* rule;
  const char* fires;      // body on which the rule fires
  const char* near_miss;  // similar body on which it must not
  bool for_mitch = true;  // score for the seed's recipient and sender
};

// Text rules and detectors of the default rules, one case each (the rules
// file's own examples run when it loads; these are different sentences).
const RuleCase kCases[] = {
    {"focus.self_centred",
     "I think our team can help. We built our tool because we love it and I am "
     "proud.",
     "You told me your reps need months. How is your team handling it?"},
    {"focus.self_opening", "We help teams like this one.",
     "Your team helps others."},
    {"focus.seller_mentions", "Blah cuts ramp time.", "Acme cut ramp time."},
    {"focus.about_them", "Your team opened your hub. How are your reps doing?",
     "We opened our office and I am happy."},
    {"pitch.hype", "We are the market leader in onboarding.",
     "Onboarding is your number one priority."},
    {"pitch.social_proof", "We work with over 1,000 companies.",
     "You work with 1,000 carriers."},
    {"pitch.feature_talk", "Our platform has a dashboard.",
     "Your team has a plan."},
    {"pitch.overpromise", "We will double your pipeline.",
     "Your pipeline grew."},
    {"pitch.seller_offer", "My company builds onboarding tools.",
     "Your company builds trucks."},
    {"burden.time_ask", "Can I get 15 minutes next week?",
     "Your reps take 15 weeks to ramp."},
    {"burden.many_asks", "Let me know. Can we meet? Would you be open to it?",
     "How is the hub going?"},
    {"generic.merge_field", "Hi [First Name], how is [Company] doing?",
     "Hi Mitch, how is Acme doing?"},
    {"generic.stock_phrase", "Just following up on the hub.",
     "Following the hub news."},
    {"generic.companies_like_yours", "Customers like you love it.",
     "Customers love you."},
    {"generic.generic_benefit", "We reduce costs.", "Your costs went up."},
    {"name.formal_name", "Mitchell, how is Denver?", "Mitch, how is Denver?"},
    {"name.wrong_name", "Hi Michael, how is Denver?",
     "Hi Mitch, how is Denver?"},
    {"name.no_name", "Hello all, how is Denver?",
     "Hello Mitch, how is Denver?"},
    {"relevance.missing", "We are a platform.",
     "How is the new Denver distribution hub?"},
    {"relevance.overlap", "How is the new Denver distribution hub?",
     "We are a platform."},
    {"conversation.no_question", "The hub opened.",
     "How is your new hub doing?"},
    {"conversation.too_many_questions",
     "How is it? Who leads it? Why there? What next? When done?",
     "How is it going for you?"},
    {"conversation.closed_only", "Did your hub open on time?",
     "How did your hub open?"},
    {"conversation.open_question", "What slowed your new hires down?",
     "Did your new hires slow down?"},
    {"change.no_why_now", "We sell onboarding software.",
     "Every week a new rep waits costs your team pipeline."},
    {"change.consequence",
     "Every week a new rep waits costs your team pipeline.",
     "We sell onboarding software."},
    {"tone.pressure", "This is your last chance.",
     "This is your chance to ask."},
    {"tone.guilt", "I haven't heard back from you.",
     "I heard back from your team."},
    {"tone.shouting", "This is the BEST DEAL of the year.",
     "This is the best deal the USA team saw."},
    {"tone.condescension", "Obviously, ramp time matters.",
     "Ramp time matters."},
    {"readability.jargon", "We synergize your ecosystem.",
     "We help your team."},
    {"readability.long_sentence",
     "Your team opened a new hub in Denver and the reps there are still "
     "learning the "
     "accounts and the tools and the territory while the hub is already "
     "running.",
     "Your team opened a new hub in Denver."},
    {"readability.reading_grade",
     "Organizational transformation necessitates comprehensive stakeholder "
     "alignment.",
     "How is the new hub going? Are the reps up to speed?"},
    {"relevance.knowledge_gap", "How is Denver?", "How is Denver?",
     /*for_mitch=*/false},
};

class RuleCaseTest : public ::testing::TestWithParam<RuleCase> {};

TEST_P(RuleCaseTest, FiresOnTargetAndStaysQuietOnNearMiss) {
  const RuleCase& c = GetParam();
  if (c.for_mitch) {
    EXPECT_TRUE(ScoreForMitch(c.fires).Fired(c.rule)) << c.fires;
    EXPECT_FALSE(ScoreForMitch(c.near_miss).Fired(c.rule)) << c.near_miss;
  } else {
    // Without a profile it fires; with the seed's profile it does not.
    EXPECT_TRUE(ScoreDraft({c.fires}).Fired(c.rule));
    EXPECT_FALSE(ScoreForMitch(c.near_miss).Fired(c.rule));
  }
}

INSTANTIATE_TEST_SUITE_P(DefaultRules, RuleCaseTest,
                         ::testing::ValuesIn(kCases),
                         [](const ::testing::TestParamInfo<RuleCase>& info) {
                           std::string name = info.param.rule;
                           for (char& ch : name) {
                             if (ch == '.') ch = '_';
                           }
                           return name;
                         });

TEST(ConversationTest, SoftenedOpenQuestionsCountAndAsksDoNot) {
  EXPECT_TRUE(ScoreForMitch("I'm curious how your team handles ramp time?")
                  .Fired("conversation.open_question"));
  const Scored ask =
      ScoreForMitch("Would you have 15 minutes for a call this week?");
  EXPECT_FALSE(ask.Fired("conversation.open_question"));
  EXPECT_TRUE(ask.Fired(
      "conversation.no_question"));  // an ask is not a question about them
  EXPECT_TRUE(ScoreForMitch("Did you get my last email?")
                  .Fired("conversation.no_question"));
}

TEST(RuleCoverageTest, EveryRuleOfTheDefaultFileHasACase) {
  // Rules covered elsewhere: length, paragraphs, subjects (below), timing
  // (below).
  const std::set<std::string> elsewhere = {
      "burden.too_long",     "burden.too_short",     "burden.long_paragraph",
      "burden.long_subject", "burden.empty_subject", "timing.do_not_contact",
      "timing.fatigue"};
  std::set<std::string> covered(elsewhere);
  for (const RuleCase& c : kCases) covered.insert(c.rule);
  for (size_t i = 0; i < DefaultRules().size(); ++i) {
    EXPECT_TRUE(covered.count(DefaultRules().rule(i).id))
        << DefaultRules().rule(i).id;
  }
}

std::string Words(int n) {
  std::string s;
  for (int i = 0; i < n; ++i) s += (i % 10 == 9) ? "hub. " : "hub ";
  return s;
}

TEST(BurdenTest, WordCountFindingsUseTheChannelLimits) {
  EXPECT_TRUE(ScoreForMitch(Words(130)).Fired("burden.too_long"));
  EXPECT_FALSE(ScoreForMitch(Words(120)).Fired("burden.too_long"));
  EXPECT_TRUE(ScoreForMitch(Words(40)).Fired("burden.too_short"));
  EXPECT_FALSE(ScoreForMitch(Words(60)).Fired("burden.too_short"));
  // Magnitude grows with the excess: 250 words is twice the limit.
  EXPECT_NEAR(ScoreForMitch(Words(250)).X("burden.too_long"), 2.0, 1e-9);
  // LinkedIn allows shorter messages.
  static const profile::Profile p = SeedProfile();
  EXPECT_FALSE(ScoreDraft({Words(30), "", common::CHANNEL_LINKEDIN, &p})
                   .Fired("burden.too_short"));
}

TEST(BurdenTest, LongParagraphIsFoundAndSplitParagraphsAreNot) {
  EXPECT_TRUE(ScoreForMitch(Words(70)).Fired("burden.long_paragraph"));
  std::string split = Words(35) + "\n\n" + Words(35);
  EXPECT_FALSE(ScoreForMitch(split).Fired("burden.long_paragraph"));
}

TEST(BurdenTest, SubjectFindings) {
  EXPECT_TRUE(
      ScoreForMitch("How is Denver?", "").Fired("burden.empty_subject"));
  EXPECT_FALSE(
      ScoreForMitch("How is Denver?", "Denver").Fired("burden.empty_subject"));
  const std::string long_subject =
      "A quick question about how your whole team onboards new reps today";
  const Scored s = ScoreForMitch("How is Denver?", long_subject);
  ASSERT_EQ(s.Of("burden.long_subject").size(), 1u);
  EXPECT_EQ(s.Of("burden.long_subject")[0].field(), v1::MESSAGE_FIELD_SUBJECT);
  EXPECT_EQ(s.Of("burden.long_subject")[0].end(), long_subject.size());
  // Call openers have no subject.
  static const profile::Profile p = SeedProfile();
  EXPECT_FALSE(
      ScoreDraft({"How is Denver?", "", common::CHANNEL_CALL_OPENER, &p})
          .Fired("burden.empty_subject"));
}

TEST(TimingTest, DoNotContactIsCriticalAndCapsTheScore) {
  common::Contact c = SeedContact();
  c.set_do_not_contact(true);
  const profile::Profile p = ProfileFromContact(c);
  const std::string rewrite =
      ReadFile(RulesDir() + "/examples/seed_rewrite.txt");
  const Scored s = ScoreDraft(
      {rewrite, "Ramp time for the Denver hub", common::CHANNEL_EMAIL, &p});
  ASSERT_EQ(s.Of("timing.do_not_contact").size(), 1u);
  const v1::Finding f = s.Of("timing.do_not_contact")[0];
  EXPECT_EQ(f.severity(), v1::SEVERITY_CRITICAL);
  EXPECT_EQ(f.field(), v1::MESSAGE_FIELD_NONE);
  EXPECT_LE(s.report.score(), 10);
  EXPECT_EQ(s.report.findings(0).rule_id(),
            "timing.do_not_contact");  // most severe first
  EXPECT_GT(f.impact(), 50);
}

TEST(TimingTest, FatigueFromTheProfileIsAFindingWithTheWait) {
  profile::Profile p = SeedProfile();
  p.mutable_fatigue()->set_fatigued(true);
  p.mutable_fatigue()->mutable_recommended_wait()->set_seconds(9 * 86400 - 60);
  const Scored s = ScoreDraft(
      {"How is the Denver hub?", "Denver", common::CHANNEL_EMAIL, &p});
  ASSERT_EQ(s.Of("timing.fatigue").size(), 1u);
  EXPECT_EQ(s.Of("timing.fatigue")[0].suggestion(),
            "Wait 9 days before the next touch, then try a different channel.");
  EXPECT_FALSE(ScoreForMitch("How is the Denver hub?").Fired("timing.fatigue"));
}

TEST(KnowledgeGapTest, EmptyProfileGetsAHomeworkSuggestion) {
  common::Contact c;
  c.set_id("x");
  c.set_full_name("Dana Lee");
  c.set_company("Globex");
  const profile::Profile p = ProfileFromContact(c);
  const Scored s =
      ScoreDraft({"How is the team?", "Team", common::CHANNEL_EMAIL, &p});
  ASSERT_EQ(s.Of("relevance.knowledge_gap").size(), 1u);
  EXPECT_EQ(
      s.Of("relevance.knowledge_gap")[0].suggestion(),
      "Do your homework first: find one priority, challenge or recent event at "
      "Globex before writing.");
  // Without any profile the fallback is used.
  const Scored none = ScoreDraft({"How is the team?"});
  EXPECT_EQ(
      none.Of("relevance.knowledge_gap")[0].suggestion(),
      "Do your homework first: find one priority, challenge or recent event in "
      "their world before writing.");
}

// ---- Offsets --------------------------------------------------------------

TEST(OffsetsTest, FindingsPointAtTheRightBytesWithMultiByteText) {
  // é (2 bytes), ’ (3 bytes) and an emoji (4 bytes) before the matches.
  const std::string body =
      "Caf\xC3\xA9 owners \xF0\x9F\x98\x80 say we\xE2\x80\x99re the market "
      "leader. "
      "Today we serve 159 of the Fortune 500.";
  const Scored s = ScoreForMitch(body);
  const auto hype = s.Of("pitch.hype");
  ASSERT_EQ(hype.size(), 1u);
  EXPECT_EQ(Span(body, hype[0]), "market leader");
  EXPECT_EQ(hype[0].start(), body.find("market leader"));
  const auto proof = s.Of("pitch.social_proof");
  ASSERT_EQ(proof.size(), 1u);
  EXPECT_EQ(Span(body, proof[0]), "159 of the Fortune 500");
  EXPECT_EQ(proof[0].excerpt(), "159 of the Fortune 500");
}

TEST(OffsetsTest, PhrasesWithTypographicApostrophesSpanTheOriginalBytes) {
  const std::string body = "I\xE2\x80\x99ve tried to reach you twice.";
  const Scored s = ScoreForMitch(body);
  const auto guilt = s.Of("tone.guilt");
  ASSERT_EQ(guilt.size(), 1u);
  EXPECT_EQ(guilt[0].start(), 0u);
  EXPECT_EQ(Span(body, guilt[0]), "I\xE2\x80\x99ve tried to reach you");
}

TEST(OffsetsTest, PatternMatchesAcrossCrLfSpanTheOriginalBytes) {
  // The time-ask pattern "just 10 minutes of your time" wraps over CRLF.
  const std::string body =
      "Hi Mitch,\r\n\r\nI would like just 10\r\nminutes of your time.";
  const Scored s = ScoreForMitch(body);
  const auto ask = s.Of("burden.time_ask");
  ASSERT_EQ(ask.size(), 1u);
  EXPECT_EQ(Span(body, ask[0]), "just 10\r\nminutes of your time");
}

TEST(OffsetsTest, FindingsInTheSubjectUseSubjectOffsets) {
  const std::string subject = "\xC3\x89quipe: we are number one";
  const Scored s = ScoreForMitch("How is Denver?", subject);
  const auto hype = s.Of("pitch.hype");
  ASSERT_EQ(hype.size(), 1u);
  EXPECT_EQ(hype[0].field(), v1::MESSAGE_FIELD_SUBJECT);
  EXPECT_EQ(subject.substr(hype[0].start(), hype[0].end() - hype[0].start()),
            "number one");
}

TEST(OffsetsTest, SignatureAndQuotedTextAreNotScored) {
  const std::string body =
      "Hi Mitch,\n\nHow is the Denver hub going?\n\nBest,\nBob\nWe are number "
      "one\n\n"
      "On Mon, Bob wrote:\n> We are the market leader. 10 minutes of your "
      "time?";
  const Scored s = ScoreForMitch(body);
  EXPECT_FALSE(s.Fired("pitch.hype"));
  EXPECT_FALSE(s.Fired("burden.time_ask"));
  EXPECT_EQ(s.report.word_count(), 6);
}

// ---- Report invariants ----------------------------------------------------

TEST(ReportTest, EveryFindingHasASuggestionAndAValidSpan) {
  for (const std::string& body :
       {std::string(kSeedBody),
        ReadFile(RulesDir() + "/examples/seed_rewrite.txt"),
        std::string("Hi {{first_name}},\n\nJust checking in. Did you get my "
                    "last email? "
                    "Act now!\n\n-- \nBob")}) {
    const Scored s = ScoreForMitch(body, "Quick question");
    double last_severity = 10;
    for (const v1::Finding& f : s.report.findings()) {
      EXPECT_FALSE(f.suggestion().empty()) << f.rule_id();
      EXPECT_FALSE(f.explanation().empty()) << f.rule_id();
      EXPECT_GE(f.impact(), 0);
      EXPECT_LE(f.start(), f.end());
      if (f.field() == v1::MESSAGE_FIELD_BODY) {
        EXPECT_LE(f.end(), body.size());
        EXPECT_EQ(f.excerpt(), Span(body, f).substr(0, 200) +
                                   (f.end() - f.start() > 200 ? "..." : ""));
      } else if (f.field() == v1::MESSAGE_FIELD_NONE) {
        EXPECT_EQ(f.start(), 0u);
        EXPECT_EQ(f.end(), 0u);
      }
      EXPECT_LE(f.severity(), last_severity);
      last_severity = f.severity();
    }
    ASSERT_EQ(s.report.dimensions_size(), 11);
    double total = 0;
    double weights = 0;
    for (const v1::DimensionScore& d : s.report.dimensions()) {
      total += d.weight() * d.score();
      weights += d.weight();
    }
    EXPECT_NEAR(weights, 1.0, 1e-9);
    EXPECT_NEAR(total, s.report.score(), 0.01);
    EXPECT_GE(s.report.reply_probability(), 0);
    EXPECT_LE(s.report.reply_probability(), 1);
    EXPECT_EQ(s.report.rules_version(), DefaultRules().version());
  }
}

TEST(ReportTest, SignalsAreAlignedWithTheRules) {
  const Scored s = ScoreForMitch(kSeedBody);
  ASSERT_EQ(s.signals.x.size(), DefaultRules().size());
  for (const v1::Finding& f : s.report.findings()) {
    EXPECT_GT(s.X(f.rule_id()), 0) << f.rule_id();
  }
}

TEST(ReportTest, InvalidUtf8InputYieldsAValidReport) {
  common::Contact c = SeedContact();
  c.set_preferred_name(
      "Mi\xFF"
      "ch");
  c.add_priorities("cut \xC3 onboarding");
  const profile::Profile p = ProfileFromContact(c);
  const common::Sender sender = SeedSender();
  const std::string body =
      "Hi Mi\xFF"
      "ch,\n\nWe are number one \xF0\x9F in \xC3 blah.";
  const Scored s =
      ScoreDraft({body, "S\xE2\x82", common::CHANNEL_EMAIL, &p, &sender});
  std::string bytes;
  ASSERT_TRUE(s.report.SerializeToString(&bytes));
  v1::ScoreReport parsed;
  EXPECT_TRUE(parsed.ParseFromString(bytes));  // strings are valid UTF-8
  for (const v1::Finding& f : s.report.findings()) {
    EXPECT_LE(f.end(),
              f.field() == v1::MESSAGE_FIELD_SUBJECT ? 4u : body.size());
  }
}

TEST(ReportTest, EmptyDraftAndNullInputsAreSafe) {
  ScoreInput in;
  const v1::ScoreReport r =
      Score(in, DefaultRules(), DefaultWeights(DefaultRules()));
  EXPECT_GE(r.score(), 0);
  EXPECT_EQ(r.word_count(), 0);
}

TEST(ReportTest, OneCompiledRulesIsSharedSafelyByManyThreads) {
  const std::string rewrite =
      ReadFile(RulesDir() + "/examples/seed_rewrite.txt");
  const std::string expected_seed =
      ScoreForMitch(kSeedBody).report.SerializeAsString();
  const std::string expected_rewrite =
      ScoreForMitch(rewrite).report.SerializeAsString();
  std::atomic<int> mismatches{0};
  std::vector<std::thread> threads;
  threads.reserve(4);
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      for (int n = 0; n < 200; ++n) {
        const bool seed = (n + t) % 2 == 0;
        const std::string got =
            ScoreForMitch(seed ? std::string(kSeedBody) : rewrite)
                .report.SerializeAsString();
        if (got != (seed ? expected_seed : expected_rewrite)) ++mismatches;
      }
    });
  }
  for (std::thread& th : threads) th.join();
  EXPECT_EQ(mismatches.load(), 0);
}

TEST(ReportTest, ReusedReportsGiveTheSameResult) {
  const Scored a = ScoreForMitch(kSeedBody);
  v1::Draft draft;
  draft.set_channel(common::CHANNEL_EMAIL);
  draft.set_subject("Denver hub");
  const profile::Profile p = SeedProfile();
  const common::Sender sender = SeedSender();
  v1::ScoreReport reused;
  draft.set_body(ReadFile(RulesDir() + "/examples/seed_rewrite.txt"));
  Score({&draft, &p, &sender}, DefaultRules(), DefaultWeights(DefaultRules()),
        &reused);
  draft.set_body(kSeedBody);
  Score({&draft, &p, &sender}, DefaultRules(), DefaultWeights(DefaultRules()),
        &reused);
  EXPECT_EQ(reused.SerializeAsString(), a.report.SerializeAsString());
}

}  // namespace
}  // namespace rapport::scoring::engine::testing
