// Structure of a body: greeting, signature and quoted reply detection (the
// scored text excludes them; offsets still point into the original), also
// with CRLF line ends.

#include "services/scoring/engine/text/structure.h"

#include <gtest/gtest.h>

#include <string>

#include "services/scoring/engine/rules_internal.h"
#include "tests/services/scoring_engine/test_util.h"

namespace rapport::scoring::engine::testing {
namespace {

using text::FieldText;
using text::Region;

struct Analyzed {
  std::string text;
  FieldText f;
  text::NameHints hints;

  explicit Analyzed(std::string body,
                    std::vector<absl::string_view> names = {"mitch", "mitchell",
                                                            "grant"},
                    std::vector<absl::string_view> sender = {"bob", "blah"})
      : text(std::move(body)) {
    hints.recipient = std::move(names);
    hints.sender = std::move(sender);
    text::AnalyzeField(text, true, DefaultRules().data().text, hints, &f);
  }
  std::string Greeting() const {
    if (!f.greeting.found) return "";
    const auto& g = f.greeting;
    return text.substr(
        f.tokens[g.tok_begin].start,
        f.tokens[g.tok_end - 1].end - f.tokens[g.tok_begin].start);
  }
  std::string GreetingName() const {
    const auto& g = f.greeting;
    if (!g.found || g.name_begin >= g.name_end) return "";
    return text.substr(
        f.tokens[g.name_begin].start,
        f.tokens[g.name_end - 1].end - f.tokens[g.name_begin].start);
  }
  // The scored text, tokens joined by single spaces.
  std::string Scored() const {
    std::string out;
    for (size_t i = 0; i < f.tokens.size(); ++i) {
      if (f.tokens[i].region != Region::kScored) continue;
      if (!out.empty() && (f.tokens[i].flags & text::kSpaceBefore)) out += ' ';
      const absl::string_view word = f.Original(i);
      out.append(word.data(), word.size());
    }
    return out;
  }
};

TEST(GreetingTest, FindsGreetingWordAndName) {
  const Analyzed a("Hi Mitch,\n\nHow is the Denver hub?");
  EXPECT_EQ(a.Greeting(), "Hi Mitch,");
  EXPECT_EQ(a.GreetingName(), "Mitch");
  EXPECT_TRUE(a.f.greeting.has_greeting_word);
  EXPECT_EQ(a.Scored(), "How is the Denver hub?");
}

TEST(GreetingTest, FindsABareNameOnItsOwnLine) {
  const Analyzed a("Mitchell,\nHow is the Denver hub?", {});
  EXPECT_EQ(a.Greeting(), "Mitchell,");
  EXPECT_FALSE(a.f.greeting.has_greeting_word);
}

TEST(GreetingTest, FindsABareRecipientNameOpeningTheFirstSentence) {
  const Analyzed a(kSeedBody);
  EXPECT_EQ(a.Greeting(), "Mitchell,");
  EXPECT_EQ(a.f.scored_start, 10u);  // "my name is ..."
}

TEST(GreetingTest, SkipsHonorificsAndReadsTheName) {
  const Analyzed a("Dear Mr. Grant,\nThanks for the note on Denver.");
  EXPECT_EQ(a.Greeting(), "Dear Mr. Grant,");
  EXPECT_EQ(a.GreetingName(), "Grant");
}

TEST(GreetingTest, HandlesACommaAfterTheGreetingWord) {
  const Analyzed a("Hello, Mitch! How is Denver?");
  EXPECT_EQ(a.Greeting(), "Hello, Mitch!");
  EXPECT_EQ(a.Scored(), "How is Denver?");
}

TEST(GreetingTest, MarksGenericSalutations) {
  const Analyzed a("Hi there,\nHow is the Denver hub?");
  EXPECT_EQ(a.Greeting(), "Hi there,");
  EXPECT_TRUE(a.f.greeting.generic);
  EXPECT_EQ(a.GreetingName(), "");
}

TEST(GreetingTest, ACapitalisedWordBeforeACommaIsNotAGreeting) {
  EXPECT_FALSE(Analyzed("Congratulations, Mitch! The hub looks great.")
                   .f.greeting.found);
  EXPECT_FALSE(Analyzed("Today, we opened a hub.").f.greeting.found);
  EXPECT_FALSE(Analyzed("I saw the Denver news.").f.greeting.found);
}

TEST(SignatureTest, StripsSignoffAndNameLines) {
  const Analyzed a(
      "Hi Mitch,\n\nHow is the Denver hub going?\n\nBest,\nBob Blah\n"
      "VP Partnerships, Blah Inc\n+1 555 010 0199");
  EXPECT_EQ(a.Scored(), "How is the Denver hub going?");
  EXPECT_EQ(a.f.words, 6u);
}

TEST(SignatureTest, StripsSignoffWithNameOnOneLine) {
  const Analyzed a("How is the Denver hub going?\nThanks, Bob");
  EXPECT_EQ(a.Scored(), "How is the Denver hub going?");
}

TEST(SignatureTest, StripsDashDashDelimiterAndMobileSignature) {
  EXPECT_EQ(Analyzed("How is Denver?\n-- \nBob Blah\nBlah Inc").Scored(),
            "How is Denver?");
  EXPECT_EQ(Analyzed("How is Denver?\n\nSent from my iPhone").Scored(),
            "How is Denver?");
}

TEST(SignatureTest, KeepsAClosingSentenceThatIsNotASignoff) {
  const Analyzed a(
      "How is Denver?\nThanks for the update on the hub last week.");
  EXPECT_EQ(a.Scored(),
            "How is Denver? Thanks for the update on the hub last week.");
}

TEST(SignatureTest, KeepsLongTextAfterASignoffWord) {
  const Analyzed a(
      "How is Denver?\nBest,\nI wanted to add one more thought about the "
      "onboarding plan for the new reps in the Denver hub this quarter.");
  EXPECT_NE(a.Scored().find("onboarding plan"), std::string::npos);
}

TEST(QuoteTest, StripsQuotedLinesAndTheAttributedReply) {
  const Analyzed a(
      "Great to hear, Mitch.\nHow did the launch go?\n\n"
      "On Tue, Mar 3, 2024 at 10:02 AM Mitchell Grant <mitch@acme.example> "
      "wrote:\n"
      "> We opened the hub.\n> It went well.");
  EXPECT_EQ(a.Scored(), "Great to hear, Mitch. How did the launch go?");
  size_t quoted = 0;
  for (const auto& t : a.f.tokens) {
    quoted += t.region == Region::kQuoted ? 1 : 0;
  }
  EXPECT_GT(quoted, 10u);
}

TEST(QuoteTest, StripsAWrappedAttributionLine) {
  const Analyzed a(
      "Thanks, that helps a lot with the plan.\n\n"
      "On Tue, Mar 3, 2024 at 10:02 AM Mitchell Grant <\n"
      "mitch@acme.example> wrote:\nOld text here.");
  EXPECT_EQ(a.Scored(), "Thanks, that helps a lot with the plan.");
}

TEST(QuoteTest, StripsOriginalMessageBlocksAndInlineQuotes) {
  EXPECT_EQ(
      Analyzed("See below.\n-----Original Message-----\nFrom: x\nOld").Scored(),
      "See below.");
  EXPECT_EQ(Analyzed("> you asked about ramp\nIt takes six months.").Scored(),
            "It takes six months.");
}

TEST(StructureTest, CrLfBodiesAnalyseLikeLfBodies) {
  const std::string lf = "Hi Mitch,\n\nHow is the Denver hub?\n\nBest,\nBob";
  std::string crlf;
  for (char c : lf) {
    if (c == '\n') crlf += '\r';
    crlf += c;
  }
  const Analyzed a(lf);
  const Analyzed b(crlf);
  EXPECT_EQ(a.Scored(), b.Scored());
  EXPECT_EQ(b.Greeting(), "Hi Mitch,");
  ASSERT_EQ(b.f.sentences.size(), 1u);
  // Offsets point into the CRLF text.
  EXPECT_EQ(b.text.substr(b.f.sentences[0].start,
                          b.f.sentences[0].end - b.f.sentences[0].start),
            "How is the Denver hub?");
}

TEST(StructureTest, ParagraphsSplitOnBlankLines) {
  const Analyzed a("One two three.\nFour five.\n\nSix seven.\n \nEight.");
  ASSERT_EQ(a.f.paragraphs.size(), 3u);
  EXPECT_EQ(a.f.paragraphs[0].words, 5u);
  EXPECT_EQ(a.f.paragraphs[1].words, 2u);
}

}  // namespace
}  // namespace rapport::scoring::engine::testing
