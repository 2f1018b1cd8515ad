// The sentence splitter: abbreviations, decimals, acronyms, initials,
// ellipses, bullets and questions.

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "services/scoring/engine/rules_internal.h"
#include "services/scoring/engine/text/structure.h"
#include "services/scoring/engine/text/syllables.h"
#include "tests/services/scoring_engine/test_util.h"

namespace rapport::scoring::engine::testing {
namespace {

std::vector<std::string> Sentences(const std::string& body) {
  text::FieldText f;
  text::NameHints hints;
  text::AnalyzeField(body, true, DefaultRules().data().text, hints, &f);
  std::vector<std::string> out;
  for (const text::Sentence& s : f.sentences) {
    out.push_back(body.substr(s.start, s.end - s.start));
  }
  return out;
}

TEST(SentencesTest, SplitsOnTerminalPunctuation) {
  EXPECT_EQ(Sentences("We met. It went well! Did it help? Yes."),
            (std::vector<std::string>{"We met.", "It went well!",
                                      "Did it help?", "Yes."}));
}

TEST(SentencesTest, DoesNotSplitAfterAbbreviationsThatPrecedeNames) {
  EXPECT_EQ(Sentences("Dr. Smith met Mr. Jones at the hub. Then they left."),
            (std::vector<std::string>{"Dr. Smith met Mr. Jones at the hub.",
                                      "Then they left."}));
}

TEST(SentencesTest, DoesNotSplitAfterEgAndIe) {
  EXPECT_EQ(
      Sentences("Some reps, e.g. Ana, ramp fast, i.e. Sales. Others wait."),
      (std::vector<std::string>{"Some reps, e.g. Ana, ramp fast, i.e. Sales.",
                                "Others wait."}));
}

TEST(SentencesTest, SplitsAfterInAndUsOnlyBeforeACapital) {
  EXPECT_EQ(
      Sentences("We work with Acme Inc. and Blah Inc. We grew in the U.S. "
                "It was fast."),
      (std::vector<std::string>{"We work with Acme Inc. and Blah Inc.",
                                "We grew in the U.S.", "It was fast."}));
}

TEST(SentencesTest, KeepsDecimalsAndInitials) {
  EXPECT_EQ(
      Sentences("Ramp fell 3.5 weeks. J. Smith saw it."),
      (std::vector<std::string>{"Ramp fell 3.5 weeks.", "J. Smith saw it."}));
}

TEST(SentencesTest, EllipsisEndsASentenceOnlyBeforeACapital) {
  EXPECT_EQ(Sentences("Mitchell\xE2\x80\xA6 We are here. Wait... and see."),
            (std::vector<std::string>{"Mitchell\xE2\x80\xA6", "We are here.",
                                      "Wait... and see."}));
}

TEST(SentencesTest, BulletLinesAreSentences) {
  EXPECT_EQ(Sentences("Three things:\n- ramp time\n- churn\n1. pipeline"),
            (std::vector<std::string>{"Three things:", "- ramp time", "- churn",
                                      "1. pipeline"}));
}

TEST(SentencesTest, ParagraphBreaksEndSentences) {
  EXPECT_EQ(Sentences("No period here\n\nNew paragraph"),
            (std::vector<std::string>{"No period here", "New paragraph"}));
}

TEST(SentencesTest, MarksQuestionsAndCountsWords) {
  text::FieldText f;
  text::NameHints hints;
  const std::string body = "How is the Denver hub going? It opened in May.";
  text::AnalyzeField(body, true, DefaultRules().data().text, hints, &f);
  ASSERT_EQ(f.sentences.size(), 2u);
  EXPECT_TRUE(f.sentences[0].question);
  EXPECT_EQ(f.sentences[0].words, 6u);
  EXPECT_FALSE(f.sentences[1].question);
}

TEST(SentencesTest, ClosingQuotesStayWithTheirSentence) {
  EXPECT_EQ(
      Sentences("He said \"we must change.\" We agreed."),
      (std::vector<std::string>{"He said \"we must change.\"", "We agreed."}));
}

}  // namespace
}  // namespace rapport::scoring::engine::testing

namespace rapport::scoring::engine::text {
namespace {

TEST(SyllablesTest, EstimatesCommonWords) {
  EXPECT_EQ(CountSyllables("the"), 1);
  EXPECT_EQ(CountSyllables("time"), 1);
  EXPECT_EQ(CountSyllables("make"), 1);
  EXPECT_EQ(CountSyllables("makes"), 1);
  EXPECT_EQ(CountSyllables("table"), 2);
  EXPECT_EQ(CountSyllables("opened"), 2);
  EXPECT_EQ(CountSyllables("wanted"), 2);
  EXPECT_EQ(CountSyllables("places"), 2);
  EXPECT_EQ(CountSyllables("yes"), 1);
  EXPECT_EQ(CountSyllables("onboarding"), 3);
  EXPECT_EQ(CountSyllables("congratulations"), 5);
  EXPECT_EQ(CountSyllables("caf\xC3\xA9"), 2);
  EXPECT_EQ(CountSyllables("rhythm"), 1);
  EXPECT_EQ(CountSyllables(""), 1);
}

TEST(SyllablesTest, FleschKincaidGrade) {
  // 0.39 * 10 + 11.8 * 1.5 - 15.59 = 6.01
  EXPECT_NEAR(FleschKincaidGrade(20, 2, 30), 6.01, 1e-9);
  EXPECT_EQ(FleschKincaidGrade(0, 0, 0), 0);
  EXPECT_EQ(FleschKincaidGrade(3, 1, 3), 0);       // clamped at 0
  EXPECT_EQ(FleschKincaidGrade(100, 1, 400), 18);  // clamped at 18
}

}  // namespace
}  // namespace rapport::scoring::engine::text
