// The sentence splitter: abbreviations, decimals, acronyms, initials,
// ellipses, bullets and questions.

#include <gtest/gtest.h>

#include <algorithm>
#include <functional>
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

// The silent-ending rules written out one suffix at a time, as the
// heuristic is usually stated; CountSyllables decides them on the last
// bytes and must agree on every word.
int ReferenceSyllables(absl::string_view w) {
  const int groups = [&] {
    // Vowel groups, as CountSyllables counts them.
    int g = 0;
    bool in_vowel = false;
    size_t letters = 0;
    for (const char ch : w) {
      const auto b = static_cast<unsigned char>(ch);
      if (b >= 0xC0) {
        g += in_vowel ? 0 : 1;
        in_vowel = true;
        ++letters;
        continue;
      }
      if (!(ch >= 'a' && ch <= 'z')) {
        if (b < 0x80) in_vowel = false;
        continue;
      }
      ++letters;
      const bool vowel =
          absl::string_view("aeiouy").find(ch) != absl::string_view::npos &&
          !(ch == 'y' && letters == 1);
      g += (vowel && !in_vowel) ? 1 : 0;
      in_vowel = vowel;
    }
    return g;
  }();
  if (groups <= 1) return 1;
  auto ends = [&](absl::string_view s) {
    return w.size() >= s.size() && w.substr(w.size() - s.size()) == s;
  };
  auto consonant_at = [&](size_t from_end) {
    if (w.size() < from_end) return false;
    const char c = w[w.size() - from_end];
    return c >= 'a' && c <= 'z' &&
           absl::string_view("aeiouy").find(c) == absl::string_view::npos;
  };
  const bool silent_e =
      ends("e") && !ends("le") && !ends("ee") && !ends("ie") && !ends("ye");
  const bool silent_le = ends("le") && !consonant_at(3);
  const bool silent_ed =
      ends("ed") && !ends("ted") && !ends("ded") && consonant_at(3);
  const bool silent_es = ends("es") && consonant_at(3) && !ends("ses") &&
                         !ends("zes") && !ends("ches") && !ends("shes") &&
                         !ends("ges") && !ends("ces") && !ends("xes");
  return std::max(groups - (silent_e || silent_le || silent_ed || silent_es),
                  1);
}

TEST(SyllablesTest, AgreesWithTheSuffixRulesOnEveryShortWord) {
  // Every word of up to five bytes over the letters the endings look at,
  // vowels, a capital, a non-letter and the bytes of "é".
  const std::string alphabet = "aeoylmtdshcgzxA'\xC3\xA9";
  std::string w;
  int checked = 0;
  std::function<void(size_t)> all = [&](size_t len) {
    if (w.size() == len) {
      ASSERT_EQ(CountSyllables(w), ReferenceSyllables(w)) << w;
      ++checked;
      return;
    }
    for (const char c : alphabet) {
      w.push_back(c);
      all(len);
      w.pop_back();
    }
  };
  for (size_t len = 0; len <= 5; ++len) all(len);
  EXPECT_GT(checked, 1500000);
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
