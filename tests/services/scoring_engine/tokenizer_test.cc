// The tokenizer: kinds, byte offsets into the original text (also with
// multi-byte UTF-8 and CRLF), folding, merge fields, URLs, e-mails and
// invalid input.

#include "services/scoring/engine/text/tokenizer.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "services/scoring/engine/text/utf8.h"

namespace rapport::scoring::engine::text {
namespace {

struct Tokens {
  std::vector<Token> tokens;
  std::string folded;
  std::string text;

  explicit Tokens(std::string t) : text(std::move(t)) {
    Tokenize(text, &tokens, &folded);
  }
  std::string Original(size_t i) const {
    return text.substr(tokens[i].start, tokens[i].end - tokens[i].start);
  }
  std::string Folded(size_t i) const {
    return std::string(FoldedText(folded, tokens[i]));
  }
};

TEST(TokenizerTest, SplitsWordsNumbersAndPunctuationWithOffsets) {
  const Tokens t("Hi Mitch, it's 3.5 times 1,000!");
  ASSERT_EQ(t.tokens.size(), 8u);
  EXPECT_EQ(t.Original(0), "Hi");
  EXPECT_EQ(t.tokens[0].kind, TokenKind::kWord);
  EXPECT_EQ(t.Original(2), ",");
  EXPECT_EQ(t.tokens[2].kind, TokenKind::kPunct);
  EXPECT_FALSE(t.tokens[2].flags & kSpaceBefore);
  EXPECT_EQ(t.Original(3), "it's");
  EXPECT_EQ(t.Original(4), "3.5");
  EXPECT_EQ(t.tokens[4].kind, TokenKind::kNumber);
  EXPECT_EQ(t.Original(6), "1,000");
  EXPECT_EQ(t.tokens[6].kind, TokenKind::kNumber);
  EXPECT_EQ(t.Original(7), "!");
  EXPECT_TRUE(t.tokens[7].flags & kTerminal);
  EXPECT_EQ(t.tokens[1].start, 3u);
  EXPECT_EQ(t.tokens[1].end, 8u);
}

TEST(TokenizerTest, FoldsCaseAndTypographicQuotes) {
  const Tokens t("DON\xE2\x80\x99T \xE2\x80\x9CNumber One\xE2\x80\x9D");
  ASSERT_EQ(t.tokens.size(), 5u);
  EXPECT_EQ(t.Original(0), "DON\xE2\x80\x99T");  // ’ joins the word
  EXPECT_EQ(t.Folded(0), "don't");
  EXPECT_TRUE(t.tokens[0].flags & kAllCaps);
  EXPECT_TRUE(t.tokens[0].flags & kCurlyQuote);
  EXPECT_EQ(t.Folded(1), "\"");
  EXPECT_EQ(t.Folded(2), "number");
  EXPECT_TRUE(t.tokens[2].flags & kCapitalized);
}

TEST(TokenizerTest, OffsetsPointIntoTheOriginalWithMultiByteText) {
  // "Café" (é is 2 bytes), a coffee emoji (3 bytes), an em dash (3 bytes),
  // a grinning face (4 bytes).
  const Tokens t(
      "Caf\xC3\xA9 \xE2\x98\x95 na\xC3\xAFve \xE2\x80\x94 \xF0\x9F\x98\x80 ok");
  ASSERT_EQ(t.tokens.size(), 6u);
  EXPECT_EQ(t.Original(0), "Caf\xC3\xA9");
  EXPECT_EQ(t.tokens[0].end, 5u);
  EXPECT_EQ(t.Folded(0), "caf\xC3\xA9");
  EXPECT_EQ(t.tokens[1].kind, TokenKind::kSymbol);
  EXPECT_EQ(t.tokens[1].start, 6u);
  EXPECT_EQ(t.tokens[1].end, 9u);
  EXPECT_EQ(t.Original(2), "na\xC3\xAFve");
  EXPECT_EQ(t.tokens[3].kind, TokenKind::kPunct);  // em dash
  EXPECT_EQ(t.tokens[4].kind, TokenKind::kSymbol);
  EXPECT_EQ(t.tokens[4].end - t.tokens[4].start, 4u);
  EXPECT_EQ(t.Original(5), "ok");
}

TEST(TokenizerTest, FoldsNonAsciiCase) {
  const Tokens t(
      "\xC3\x89LODIE \xC3\x9C"
      "BER");  // ÉLODIE ÜBER
  ASSERT_EQ(t.tokens.size(), 2u);
  EXPECT_EQ(t.Folded(0), "\xC3\xA9lodie");
  EXPECT_EQ(t.Folded(1),
            "\xC3\xBC"
            "ber");
  EXPECT_TRUE(t.tokens[0].flags & kCapitalized);
}

TEST(TokenizerTest, CountsCrLfAsOneLineBreak) {
  const Tokens t("Hi Mitch,\r\n\r\nHow are you?\rFine\nok");
  ASSERT_EQ(t.tokens.size(), 9u);
  EXPECT_EQ(t.Original(3), "How");
  EXPECT_EQ(t.tokens[3].newlines_before, 2);  // CRLF CRLF: a blank line
  EXPECT_EQ(t.tokens[3].start, 13u);
  EXPECT_EQ(t.Original(7), "Fine");
  EXPECT_EQ(t.tokens[7].newlines_before, 1);  // lone CR
  EXPECT_EQ(t.Original(8), "ok");
  EXPECT_EQ(t.tokens[8].newlines_before, 1);  // LF
}

TEST(TokenizerTest, RecognisesMergeFields) {
  const Tokens t(
      "Hi {{first_name}}, {{ company }} [Company] [First Name] "
      "%FIRST_NAME% {FirstName} <<Title>>");
  std::vector<std::string> merge;
  for (size_t i = 0; i < t.tokens.size(); ++i) {
    if (t.tokens[i].kind == TokenKind::kMergeField) {
      merge.push_back(t.Original(i));
    }
  }
  EXPECT_EQ(merge,
            (std::vector<std::string>{
                "{{first_name}}", "{{ company }}", "[Company]", "[First Name]",
                "%FIRST_NAME%", "{FirstName}", "<<Title>>"}));
}

TEST(TokenizerTest, FootnotesLinksAndPercentagesAreNotMergeFields) {
  const Tokens t("See [1] and [here](http://x.io), up 50% or {} or %low%");
  for (size_t i = 0; i < t.tokens.size(); ++i) {
    EXPECT_NE(t.tokens[i].kind, TokenKind::kMergeField) << t.Original(i);
  }
}

TEST(TokenizerTest, RecognisesUrlsAndEmails) {
  const Tokens t(
      "Read https://acme.example/denver?x=1. Mail bob.blah@blah.example "
      "or www.blah.example!");
  std::vector<std::string> special;
  for (size_t i = 0; i < t.tokens.size(); ++i) {
    if (t.tokens[i].kind == TokenKind::kUrl ||
        t.tokens[i].kind == TokenKind::kEmail) {
      special.push_back(t.Original(i));
    }
  }
  EXPECT_EQ(special, (std::vector<std::string>{
                         "https://acme.example/denver?x=1",
                         "bob.blah@blah.example", "www.blah.example"}));
}

TEST(TokenizerTest, KeepsAcronymsWithPeriodsTogether) {
  const Tokens t("In the U.S. e.g. today at 9 a.m. J. Smith");
  std::vector<std::string> words;
  for (size_t i = 0; i < t.tokens.size(); ++i) words.push_back(t.Original(i));
  EXPECT_EQ(words,
            (std::vector<std::string>{"In", "the", "U.S.", "e.g.", "today",
                                      "at", "9", "a.m.", "J", ".", "Smith"}));
  EXPECT_TRUE(t.tokens[2].flags & kAcronymDot);
}

TEST(TokenizerTest, JoinsHyphenatedWords) {
  const Tokens t("best-in-class follow-up -- 15-minute");
  std::vector<std::string> words;
  for (size_t i = 0; i < t.tokens.size(); ++i) words.push_back(t.Original(i));
  EXPECT_EQ(words, (std::vector<std::string>{"best-in-class", "follow-up", "-",
                                             "-", "15-minute"}));
}

TEST(TokenizerTest, MarksQuestionRuns) {
  const Tokens t("Really?! Yes...");
  ASSERT_EQ(t.tokens.size(), 4u);
  EXPECT_EQ(t.Original(1), "?!");
  EXPECT_TRUE(t.tokens[1].flags & kHasQuestion);
  EXPECT_EQ(t.Original(3), "...");
  EXPECT_FALSE(t.tokens[3].flags & kHasQuestion);
}

TEST(TokenizerTest, InvalidUtf8IsSafeAndOffsetsStayInRange) {
  const std::string bad = "ok \xFF\xFE caf\xC3\xA9\xA9 \xED\xA0\x80 x";
  const Tokens t(bad);
  ASSERT_FALSE(t.tokens.empty());
  size_t invalid = 0;
  for (const Token& tok : t.tokens) {
    EXPECT_LE(tok.start, tok.end);
    EXPECT_LE(tok.end, bad.size());
    if (tok.kind == TokenKind::kInvalid) ++invalid;
  }
  EXPECT_GE(invalid, 3u);  // FF, FE, stray A9, and the surrogate bytes
  EXPECT_EQ(t.Original(0), "ok");
  EXPECT_EQ(t.Original(t.tokens.size() - 1), "x");
}

TEST(Utf8Test, TruncatesOnCodePointBoundaries) {
  EXPECT_EQ(TruncateUtf8("a\xC3\xA9", 2), "a");
  EXPECT_EQ(TruncateUtf8("a\xC3\xA9", 3), "a\xC3\xA9");
  EXPECT_EQ(TruncateUtf8("ab\xF0\x9F\x98\x80", 5), "ab");
  EXPECT_EQ(TruncateUtf8("ab\xF0\x9F\x98\x80", 6), "ab\xF0\x9F\x98\x80");
  EXPECT_EQ(TruncateUtf8("abc", 2), "ab");
  EXPECT_EQ(TruncateUtf8("a\x80\x80\x80\x80\x80", 3),
            "a\x80\x80");  // ill-formed
}

TEST(Utf8Test, SanitisesIllFormedBytes) {
  std::string out;
  AppendSanitizedUtf8("ok\xFF\xC3\xA9\xC3", &out);
  EXPECT_EQ(out, "ok\xEF\xBF\xBD\xC3\xA9\xEF\xBF\xBD");
  EXPECT_TRUE(IsValidUtf8(out));
  EXPECT_FALSE(IsValidUtf8("\xED\xA0\x80"));  // a surrogate
  EXPECT_FALSE(IsValidUtf8("\xC0\xAF"));      // overlong
}

// Words are scanned by an ASCII fast path and a general path; these cases
// sit on the boundary between them and must read the same either way.
TEST(TokenizerTest, WordFlagsAndBoundariesAgreeAcrossScanPaths) {
  const Tokens t(
      "ACME 3M iPhone A x. Ab. IT, 42, 7; NASA's \xC3\x89tienne "
      "caf\xC3\xA9 2x4 ok");
  std::vector<std::string> originals;
  for (size_t i = 0; i < t.tokens.size(); ++i)
    originals.push_back(t.Original(i));
  EXPECT_EQ(originals, (std::vector<std::string>{
                           "ACME", "3M", "iPhone", "A", "x", ".", "Ab", ".",
                           "IT", ",", "42", ",", "7", ";", "NASA's",
                           "\xC3\x89tienne", "caf\xC3\xA9", "2x4", "ok"}));
  auto flags = [&](size_t i) { return t.tokens[i].flags; };
  EXPECT_TRUE(flags(0) & kAllCaps);
  EXPECT_TRUE(flags(0) & kCapitalized);
  EXPECT_TRUE(flags(1) & kCapitalized);  // the first letter decides
  EXPECT_FALSE(flags(1) & kAllCaps);     // one letter only
  EXPECT_EQ(t.tokens[1].kind, TokenKind::kWord);
  EXPECT_FALSE(flags(2) & kCapitalized);
  EXPECT_TRUE(flags(3) & kCapitalized);
  EXPECT_FALSE(flags(3) & kAllCaps);
  EXPECT_TRUE(flags(8) & kAllCaps);
  EXPECT_EQ(t.tokens[10].kind, TokenKind::kNumber);
  EXPECT_EQ(flags(10) & (kCapitalized | kAllCaps), 0);
  EXPECT_FALSE(flags(14) & kAllCaps);  // the 's is lower case
  EXPECT_EQ(t.Folded(14), "nasa's");
  EXPECT_TRUE(flags(15) & kCapitalized);
  EXPECT_EQ(t.Folded(15), "\xC3\xA9tienne");
  EXPECT_EQ(t.Folded(16), "caf\xC3\xA9");
  EXPECT_EQ(t.tokens[17].kind, TokenKind::kWord);
  EXPECT_TRUE(flags(18) & kSpaceBefore);
}

TEST(TokenizerTest, EmptyAndWhitespaceOnlyTextHaveNoTokens) {
  EXPECT_TRUE(Tokens("").tokens.empty());
  EXPECT_TRUE(Tokens(" \t\r\n\xC2\xA0\xE2\x80\x83").tokens.empty());
}

}  // namespace
}  // namespace rapport::scoring::engine::text
