// Behaviour of the respect check with the default lexicon
// (services/feedback/respect/lexicon.textproto): the seed's sentences, the
// contract check's sentence, each category on a target and a near miss,
// offsets in multi-byte UTF-8, the all-caps rule, exceptions, overlaps and
// the warning cap.

#include "services/feedback/respect/respect.h"

#include <gmock/gmock.h>
#include <google/protobuf/text_format.h>
#include <gtest/gtest.h>

#include <fstream>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "tests/services/respect/respect_test_util.h"

namespace rapport::feedback::respect {
namespace {

using testing::DefaultChecker;
using testing::DefaultLexiconPath;
using ::testing::ElementsAre;
using testing::Excerpts;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using ::testing::SizeIs;
using testing::Terms;

std::vector<v1::RespectWarning> Check(const std::string& text) {
  return DefaultChecker()->Check(text, "note.text");
}

// Expects every warning's span to be text[start, end) == excerpt.
void ExpectSpansMatch(const std::string& text,
                      const std::vector<v1::RespectWarning>& warnings) {
  for (const auto& w : warnings) {
    ASSERT_LE(w.start(), w.end());
    ASSERT_LE(w.end(), text.size());
    EXPECT_EQ(text.substr(w.start(), w.end() - w.start()), w.excerpt())
        << w.term();
  }
}

TEST(RespectDefaultLexiconTest, Loads) {
  const auto checker = DefaultChecker();
  ASSERT_NE(checker, nullptr) << LoadLexicon(DefaultLexiconPath()).status();
  EXPECT_GT(checker->version(), 0);
  EXPECT_EQ(checker->max_warnings(), kMaxWarnings);
  const std::vector<std::string> expected = {
      "insult.stupid",      "insult.clueless",
      "insult.incompetent", "contempt.turkeys",
      "contempt.garbage",   "sarcasm.mockery",
      "sarcasm.genius",     "generalization.team_always_never",
      "dismissal.whatever", "dismissal.better_without",
      "profanity.strong",   std::string{kShoutingTermId}};
  EXPECT_THAT(checker->term_ids(), ::testing::IsSupersetOf(expected));
}

// Review rule for the shipped file: every term explains itself, brings its
// own rephrasing and cites where it comes from.
TEST(RespectDefaultLexiconTest, EveryTermHasHintAndEvidence) {
  std::ifstream in(DefaultLexiconPath());
  std::stringstream text;
  text << in.rdbuf();
  v1::RespectLexicon lexicon;
  ASSERT_TRUE(
      google::protobuf::TextFormat::ParseFromString(text.str(), &lexicon));
  for (const auto& term : lexicon.terms()) {
    EXPECT_FALSE(term.rephrase_hint().empty()) << term.id();
    EXPECT_GT(term.evidence_size(), 0) << term.id();
  }
  EXPECT_GE(lexicon.examples_size(), 20);
}

// Seed 002, verbatim: "They are so stupid…. they are clueless…. they don’t
// know what they are doing….Turkeys!"
TEST(RespectSeedTest, FlagsSellersOnCustomers) {
  const std::string text =
      "They are so stupid\u2026. they are clueless\u2026. they don\u2019t know "
      "what they are doing\u2026.Turkeys!";
  const auto w = Check(text);
  EXPECT_THAT(Terms(w),
              ElementsAre("insult.stupid", "insult.clueless",
                          "insult.no_idea_what_doing", "contempt.turkeys"));
  EXPECT_THAT(Excerpts(w),
              ElementsAre("stupid", "clueless",
                          "don\u2019t know what they are doing", "Turkeys"));
  ExpectSpansMatch(text, w);
}

// Seed 002: "Those sellers are just so incompetent….. Why don’t they do
// their jobs…. We’d be better without them."
TEST(RespectSeedTest, FlagsColleaguesOnSellers) {
  const std::string text =
      "Those sellers are just so incompetent\u2026.. Why don\u2019t they do "
      "their jobs\u2026. We\u2019d be better without them.";
  const auto w = Check(text);
  EXPECT_THAT(Terms(w), ElementsAre("generalization.group_is_bad",
                                    "generalization.do_their_jobs",
                                    "dismissal.better_without"));
  EXPECT_THAT(Excerpts(w), ElementsAre("Those sellers are just so incompetent",
                                       "Why don\u2019t they do their jobs",
                                       "better without them"));
  ExpectSpansMatch(text, w);
}

// shared/checks/check_feedback.py requires a warning on this note.
TEST(RespectSeedTest, FlagsContractCheckSentence) {
  const std::string text =
      "Marketing's leads are garbage, they are clueless turkeys.";
  const auto w = DefaultChecker()->Check(text, "note.text");
  ASSERT_THAT(w, SizeIs(3));
  EXPECT_EQ(w[0].term(), "contempt.garbage");
  EXPECT_EQ(w[0].start(), 22u);
  EXPECT_EQ(w[0].end(), 29u);
  EXPECT_EQ(w[0].category(), v1::RESPECT_CATEGORY_CONTEMPT);
  EXPECT_EQ(w[1].term(), "insult.clueless");
  EXPECT_EQ(w[1].excerpt(), "clueless");
  EXPECT_EQ(w[1].category(), v1::RESPECT_CATEGORY_INSULT);
  EXPECT_EQ(w[2].term(), "contempt.turkeys");
  EXPECT_EQ(w[2].excerpt(), "turkeys");
  for (const auto& x : w) {
    EXPECT_EQ(x.field(), "note.text");
    EXPECT_FALSE(x.explanation().empty());
    EXPECT_FALSE(x.suggestion().empty());
  }
  ExpectSpansMatch(text, w);
  // {match} in the explanation is replaced by the excerpt.
  EXPECT_THAT(w[1].explanation(), HasSubstr("'clueless'"));
  EXPECT_THAT(w[1].suggestion(), HasSubstr("budget owner"));
}

// The plea of seed 002 is for respect, not silence: the respectful version
// of the same complaint passes.
TEST(RespectSeedTest, RespectfulRephrasingPasses) {
  EXPECT_THAT(Check("The last 40 MQLs from the webinar had no budget owner; "
                    "can we add a qualification question?"),
              IsEmpty());
  EXPECT_THAT(Check("High performing sales people recognize this and act "
                    "differently. They seek to understand the customer and "
                    "their business."),
              IsEmpty());
}

struct Case {
  const char* text;
  const char* term;  // must be among the warnings; "" = no warning at all
};

void PrintTo(const Case& c, std::ostream* os) { *os << c.text; }

class RespectCategoryTest : public ::testing::TestWithParam<Case> {};

TEST_P(RespectCategoryTest, FiresOnTargetQuietOnNearMiss) {
  const Case& c = GetParam();
  const std::string text = c.text;
  const auto w = Check(text);
  if (std::string(c.term).empty()) {
    EXPECT_THAT(Terms(w), IsEmpty()) << text;
  } else {
    EXPECT_THAT(Terms(w), ::testing::Contains(c.term)) << text;
  }
  ExpectSpansMatch(text, w);
}

INSTANTIATE_TEST_SUITE_P(
    Insult, RespectCategoryTest,
    ::testing::Values(
        Case{"That was a stupid decision by pricing.", "insult.stupid"},
        Case{"The setup is stupid simple.", ""},
        Case{"There are no stupid questions here.", ""},
        Case{"Dumb question: does the deck cover EMEA?", ""},
        Case{"I was so stupid to miss the renewal date.", ""},
        Case{"Those idiots in ops lost the file.", "insult.idiots"},
        Case{"The April Fools campaign went well.", ""},
        Case{"She's no fool: she read the whole contract.", ""},
        Case{"Don't fool yourself: they care about their problems.", ""},
        Case{"The buyer seemed clueless about our pricing.", "insult.clueless"},
        Case{"Can you give me a clue where the deck is?", ""},
        Case{"Marketing doesn't have a clue.", "insult.clueless"},
        Case{"They just don't get it.", "insult.clueless"},
        Case{"They can't get it to sync with Outlook.", ""},
        Case{"Honestly, they have no idea what they're doing.",
             "insult.no_idea_what_doing"},
        Case{"I don't know what they're doing about the renewal.", ""},
        Case{"The rep was incompetent on that call.", "insult.incompetent"},
        Case{"Competent, fast turnaround from legal.", ""},
        Case{"The new battlecard is useless.", "insult.useless"},
        Case{"The SDRs are lazy.", "insult.lazy"},
        Case{"Lazy loading keeps the page fast.", ""},
        Case{"Their buyer is a liar.", "insult.dishonest"},
        Case{"Avoid weasel words in the proposal.", ""}));

INSTANTIATE_TEST_SUITE_P(
    Contempt, RespectCategoryTest,
    ::testing::Values(
        Case{"These leads are garbage.", "contempt.garbage"},
        Case{"We need to stop the garbage collection pauses.", ""},
        Case{"Half the sequence landed in junk.", ""},
        Case{"Garbage in, garbage out: clean the CRM first.", ""},
        Case{"What a turkey.", "contempt.turkeys"},
        Case{"Turkey sandwich for the offsite, please.", ""},
        Case{"Ordered two turkeys for the holiday party.", ""},
        Case{"Our partner in Turkey signed.", ""},
        Case{"She quit cold turkey.", ""},
        Case{"The bean counters blocked it again.", "contempt.labels"},
        Case{"SurveyMonkey results are in.", ""},
        Case{"Their forecast is a joke.", "contempt.joke"},
        Case{"He told a joke at the QBR.", ""},
        Case{"I can't stand those people.", "contempt.hate"},
        Case{"I hate Mondays.", ""},
        Case{"We're sick of chasing signatures.", ""},
        Case{"They're a waste of space.", "contempt.worthless"}));

INSTANTIATE_TEST_SUITE_P(
    Sarcasm, RespectCategoryTest,
    ::testing::Values(
        Case{"Yeah, right.", "sarcasm.mockery"},
        Case{"Yeah, right now works for me.", ""},
        Case{"Oh great, another reorg.", "sarcasm.oh_great"},
        Case{"Oh great, thanks for the intro!", ""},
        Case{"What a genius.", "sarcasm.genius"},
        Case{"Real genius, launching on a Friday.", "sarcasm.genius"},
        Case{"Genius Bar appointment at 3.", ""},
        Case{"Great idea to launch on a Friday /s", "sarcasm.slash_s"},
        Case{"See example.com/s/abc for the deck.", ""},
        Case{"Another brilliant plan from management, said nobody.",
             "sarcasm.mockery"},
        Case{"Per my last email, it's attached.", "sarcasm.condescension"}));

INSTANTIATE_TEST_SUITE_P(
    Generalization, RespectCategoryTest,
    ::testing::Values(
        Case{"Legal always says no.", "generalization.team_always_never"},
        Case{"Marketing always...", "generalization.team_always_never"},
        Case{"Sales never follows up.", "generalization.team_always_never"},
        Case{"Sales always dip in August.", ""},
        Case{"Our product never crashes.", ""},
        Case{"Marketing never got the updated persona doc; resending.", ""},
        Case{"Support always responds within the hour, thanks!", ""},
        Case{"Legal is useless.", "generalization.group_is_bad"},
        Case{"Customers are stupid.", "generalization.group_is_bad"},
        Case{"Why don't they just do their jobs?",
             "generalization.do_their_jobs"},
        Case{"Here is what you need to do your job well.", ""}));

INSTANTIATE_TEST_SUITE_P(
    Dismissal, RespectCategoryTest,
    ::testing::Values(Case{"We'd be better off without marketing.",
                           "dismissal.better_without"},
                      Case{"We'd be better off without the manual export.", ""},
                      Case{"Not my problem.", "dismissal.not_my_problem"},
                      Case{"Who cares?", "dismissal.not_my_problem"},
                      Case{"Who cares about security at Acme?", ""},
                      Case{"Whatever, ship it.", "dismissal.whatever"},
                      Case{"Use Zoom, Teams, whatever.", ""},
                      Case{"Whatever works for you.", ""}));

INSTANTIATE_TEST_SUITE_P(
    Profanity, RespectCategoryTest,
    ::testing::Values(Case{"This is f*cking late.", "profanity.strong"},
                      Case{"That's bullshit.", "profanity.strong"},
                      Case{"What the hell happened?", "profanity.mild"},
                      Case{"Scunthorpe and Penistone accounts renewed.", ""},
                      Case{"The assessment went to Dickinson in Middlesex.",
                           ""},
                      Case{"Hello from the Shell account team.", ""},
                      Case{"Cocktail reception after the summit.", ""}));

INSTANTIATE_TEST_SUITE_P(
    Shouting, RespectCategoryTest,
    ::testing::Values(
        Case{"PLEASE STOP SENDING THESE.", "shouting.all_caps"},
        Case{"Q3 EMEA ROI review: SLA for B2B API customers in the USA.", ""},
        Case{"FYI the CRM and ERP sync is down.", ""},
        Case{"This is VERY IMPORTANT.", ""}));

TEST(RespectOffsetTest, ByteOffsetsInMultiByteUtf8) {
  // Accents, an em dash, an emoji and curly apostrophes before the matches.
  const std::string text =
      "R\u00e9sum\u00e9 \u2014 the na\u00efve leads \U0001F983 are garbage; "
      "they\u2019re clueless.";
  const auto w = Check(text);
  ASSERT_THAT(w, SizeIs(2));
  EXPECT_EQ(w[0].excerpt(), "garbage");
  EXPECT_EQ(w[0].start(), text.find("garbage"));
  EXPECT_EQ(w[0].end(), text.find("garbage") + 7);
  EXPECT_EQ(w[1].excerpt(), "clueless");
  EXPECT_EQ(w[1].start(), text.find("clueless"));
  EXPECT_EQ(w[1].end(), text.find("clueless") + 8);
}

TEST(RespectOffsetTest, SpanCoversCurlyApostrophe) {
  const std::string text = "Sure, \u201cthey don\u2019t get it\u201d.";
  const auto w = Check(text);
  ASSERT_THAT(w, SizeIs(1));
  EXPECT_EQ(w[0].excerpt(), "they don\u2019t get it");
  ExpectSpansMatch(text, w);
}

TEST(RespectMatchingTest, WholeWordsInAnyScript) {
  // A letter in any script next to the phrase means it is part of a word.
  EXPECT_THAT(Check("\u00d1clueless"), IsEmpty());
  EXPECT_THAT(Check("clueless\u00e9"), IsEmpty());
  EXPECT_THAT(Check("cluelessness"), IsEmpty());
  EXPECT_THAT(Terms(Check("(clueless)")), ElementsAre("insult.clueless"));
  EXPECT_THAT(Terms(Check("#clueless-marketing")),
              ElementsAre("insult.clueless"));
}

TEST(RespectMatchingTest, CaseInsensitiveAndApostropheOptional) {
  EXPECT_THAT(Terms(Check("They are CLUELESS.")),
              ElementsAre("insult.clueless"));
  EXPECT_THAT(Terms(Check("not my job, dont care")),
              ElementsAre("dismissal.not_my_problem"));
  EXPECT_THAT(Terms(Check("Why dont they do their jobs")),
              ElementsAre("generalization.do_their_jobs"));
}

TEST(RespectMatchingTest, NegationIsNotAnInsult) {
  EXPECT_THAT(Check("They are not stupid."), IsEmpty());
  EXPECT_THAT(Check("They aren't lazy, they're overloaded."), IsEmpty());
  EXPECT_THAT(Check("Please stop calling customers clueless."), IsEmpty());
  // "not just lazy" still calls them lazy.
  EXPECT_THAT(Terms(Check("They are not just lazy, they are useless.")),
              ElementsAre("insult.lazy", "insult.useless"));
}

TEST(RespectMatchingTest, QuotedCustomerWordsAreNotTheAuthors) {
  EXPECT_THAT(Check("The customer said \u201cthis onboarding is garbage\u201d "
                    "and asked for a checklist."),
              IsEmpty());
  EXPECT_THAT(Check("Their CFO told us 'your pricing page is a joke'."),
              IsEmpty());
  // Outside the quotes the author's own words are still checked.
  const auto w = Check(
      "The customer said \"this is garbage\" and honestly they are clueless.");
  EXPECT_THAT(Terms(w), ElementsAre("insult.clueless"));
}

TEST(RespectMatchingTest, LongerWarningSwallowsTheOneInsideIt) {
  const auto w = Check("Legal is useless.");
  ASSERT_THAT(w, SizeIs(1));
  EXPECT_EQ(w[0].term(), "generalization.group_is_bad");
  EXPECT_EQ(w[0].excerpt(), "Legal is useless");
  EXPECT_EQ(w[0].category(), v1::RESPECT_CATEGORY_GENERALIZATION);
}

TEST(RespectMatchingTest, EmptyAndInvalidUtf8) {
  EXPECT_THAT(Check(""), IsEmpty());
  const std::string text = "\xff\xfe they are clueless \xc3";
  const auto w = Check(text);
  ASSERT_THAT(w, SizeIs(1));
  EXPECT_EQ(w[0].start(), text.find("clueless"));
  ExpectSpansMatch(text, w);
}

TEST(RespectMatchingTest, NothingIsRewritten) {
  const std::string text = "These leads are garbage.";
  const auto w = Check(text);
  ASSERT_THAT(w, SizeIs(1));
  EXPECT_EQ(text, "These leads are garbage.");
  EXPECT_EQ(w[0].excerpt(), "garbage");
}

TEST(RespectShoutingTest, FlagsRunOfThreeCapsWords) {
  const std::string text = "Please fix it. WHY IS THIS STILL BROKEN?";
  const auto w = Check(text);
  ASSERT_THAT(w, SizeIs(1));
  EXPECT_EQ(w[0].term(), kShoutingTermId);
  EXPECT_EQ(w[0].excerpt(), "WHY IS THIS STILL BROKEN");
  EXPECT_EQ(w[0].category(), v1::RESPECT_CATEGORY_CONTEMPT);
  ExpectSpansMatch(text, w);
}

TEST(RespectShoutingTest, AcronymsNeitherCountNorBreakARun) {
  EXPECT_THAT(Check("The EMEA QBR ROI SLA API CRM B2B deck."), IsEmpty());
  EXPECT_THAT(Check("Send the ROI deck ASAP please"), IsEmpty());
  EXPECT_THAT(Check("STOP PLEASE."), IsEmpty());  // two words
  // Three shouted words around an acronym: flagged, acronym inside the span.
  EXPECT_THAT(Excerpts(Check("STOP SENDING ROI DECKS")),
              ElementsAre("STOP SENDING ROI DECKS"));
  // A lower-case word breaks the run.
  EXPECT_THAT(Check("STOP SENDING the DECKS NOW"), IsEmpty());
  // One-letter words do not count: "I AM" ...
  EXPECT_THAT(Excerpts(Check("I REALLY NEED THIS NOW")),
              ElementsAre("REALLY NEED THIS NOW"));
}

TEST(RespectShoutingTest, NonAsciiCapitals) {
  EXPECT_THAT(Terms(Check("DAS IST ÜBERHAUPT NICHT OK")),
              ElementsAre(std::string{kShoutingTermId}));
  EXPECT_THAT(Check("Der Vertrag für München ist fertig."), IsEmpty());
}

TEST(RespectCapTest, AtMostMaxWarningsInTextOrder) {
  std::string text;
  for (int i = 0; i < 30; ++i) text += "clueless idiots. ";
  const auto w = Check(text);
  ASSERT_THAT(w, SizeIs(kMaxWarnings));
  for (size_t i = 1; i < w.size(); ++i) {
    EXPECT_LT(w[i - 1].start(), w[i].start());
  }
}

TEST(RespectCheckFeedbackTest, ChecksEveryTextFieldWithItsPath) {
  v1::Feedback review;
  review.mutable_review()->set_rating(1);
  review.mutable_review()->set_comment("Opening line is fine.");
  review.mutable_review()->add_tags("too-long");
  review.mutable_review()->add_tags("clueless-rep");
  auto w = DefaultChecker()->CheckFeedback(review);
  ASSERT_THAT(w, SizeIs(1));
  EXPECT_EQ(w[0].field(), "review.tags[1]");
  EXPECT_EQ(w[0].excerpt(), "clueless");

  v1::Feedback note;
  note.mutable_note()->set_text("Legal is useless.");
  w = DefaultChecker()->CheckFeedback(note);
  ASSERT_THAT(w, SizeIs(1));
  EXPECT_EQ(w[0].field(), "note.text");

  v1::Feedback insight;
  insight.mutable_insight()->set_text("The CFO thinks the rep is an idiot");
  EXPECT_THAT(Terms(DefaultChecker()->CheckFeedback(insight)),
              ElementsAre("insult.idiots"));

  v1::Feedback outcome;
  outcome.mutable_outcome();
  EXPECT_THAT(DefaultChecker()->CheckFeedback(outcome), IsEmpty());
}

TEST(RespectThreadTest, ConcurrentChecksAgree) {
  const auto checker = DefaultChecker();
  const std::string text =
      "Marketing's leads are garbage, they are clueless turkeys. WHY IS "
      "NOBODY FIXING THIS? Yeah right.";
  const auto expected = Terms(checker->Check(text, "note.text"));
  ASSERT_THAT(expected, SizeIs(5));
  std::vector<std::thread> threads;
  threads.reserve(4);
  std::vector<int> mismatches(4, 0);
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < 500; ++i) {
        if (Terms(checker->Check(text, "note.text")) != expected) {
          ++mismatches[t];
        }
      }
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_THAT(mismatches, ElementsAre(0, 0, 0, 0));
}

}  // namespace
}  // namespace rapport::feedback::respect
