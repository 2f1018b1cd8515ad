// UTF-8 checks, truncation and topic normalisation.

#include "services/profile/model/text.h"

#include <string>

#include "gtest/gtest.h"

namespace rapport::profile::model::test_util {
namespace {

TEST(Utf8Test, AcceptsWellFormedText) {
  EXPECT_TRUE(IsValidUtf8(""));
  EXPECT_TRUE(IsValidUtf8("plain ascii"));
  EXPECT_TRUE(IsValidUtf8("Mitch Müller"));          // 2 bytes
  EXPECT_TRUE(IsValidUtf8("営業チーム"));            // 3 bytes
  EXPECT_TRUE(IsValidUtf8("\xF0\x9F\x98\x80"));      // U+1F600, 4 bytes
  EXPECT_TRUE(IsValidUtf8("\xF4\x8F\xBF\xBF"));      // U+10FFFF
  EXPECT_TRUE(IsValidUtf8(std::string("a\0b", 3)));  // NUL is valid UTF-8
}

TEST(Utf8Test, RejectsMalformedText) {
  EXPECT_FALSE(IsValidUtf8("\x80"));              // lone continuation
  EXPECT_FALSE(IsValidUtf8("\xC3"));              // truncated
  EXPECT_FALSE(IsValidUtf8("\xC3\x28"));          // bad continuation
  EXPECT_FALSE(IsValidUtf8("\xC0\xAF"));          // overlong '/'
  EXPECT_FALSE(IsValidUtf8("\xE0\x80\xAF"));      // overlong 3-byte
  EXPECT_FALSE(IsValidUtf8("\xED\xA0\x80"));      // surrogate U+D800
  EXPECT_FALSE(IsValidUtf8("\xF0\x80\x80\xAF"));  // overlong 4-byte
  EXPECT_FALSE(IsValidUtf8("\xF4\x90\x80\x80"));  // above U+10FFFF
  EXPECT_FALSE(IsValidUtf8("\xF5\x80\x80\x80"));  // invalid lead
  EXPECT_FALSE(IsValidUtf8("\xFF"));
  EXPECT_FALSE(IsValidUtf8("ok\xE2\x82"));  // truncated at the end
}

TEST(TruncateUtf8Test, NeverSplitsACodePoint) {
  EXPECT_EQ(TruncateUtf8("abc", 5), "abc");
  EXPECT_EQ(TruncateUtf8("abc", 2), "ab");
  EXPECT_EQ(TruncateUtf8("aé", 2), "a");  // é is 2 bytes
  EXPECT_EQ(TruncateUtf8("aé", 3), "aé");
  EXPECT_EQ(TruncateUtf8("\xF0\x9F\x98\x80", 3), "");
}

TEST(NormalizeTopicTest, FoldsCaseAndWhiteSpace) {
  EXPECT_EQ(NormalizeTopic("  Rep \t Onboarding\n"), "rep onboarding");
  EXPECT_EQ(NormalizeTopic("   "), "");
  EXPECT_EQ(NormalizeTopic(""), "");
}

TEST(NormalizeTopicTest, LowerCasesBeyondAscii) {
  EXPECT_EQ(NormalizeTopic("PRÉSTAMOS"), "préstamos");
  EXPECT_EQ(NormalizeTopic("ÜBERNAHME"), "übernahme");
  EXPECT_EQ(NormalizeTopic("ΛΟΓΙΣΤΙΚΗ"), "λογιστικη");
}

TEST(NormalizeTopicTest, ComposesToNfcSoBothSpellingsAgree) {
  EXPECT_EQ(NormalizeTopic("Cafe\xCC\x81"), NormalizeTopic("Café"));
  EXPECT_EQ(NormalizeTopic("Cafe\xCC\x81"), "café");
}

TEST(NormalizeTopicTest, FoldsUnicodeSpaces) {
  // NO-BREAK SPACE and IDEOGRAPHIC SPACE.
  EXPECT_EQ(NormalizeTopic("Ramp\xC2\xA0Time\xE3\x80\x80"), "ramp time");
}

TEST(NormalizeTopicTest, CutsLongTopicsAtAWordWithinTheLimit) {
  const std::string long_topic =
      std::string(100, 'a') + " " + std::string(40, 'b');  // 141 bytes
  EXPECT_EQ(NormalizeTopic(long_topic), std::string(100, 'a'));
  const std::string one_word(200, 'x');
  EXPECT_EQ(NormalizeTopic(one_word), std::string(kMaxTopicBytes, 'x'));
  std::string accented;
  for (int k = 0; k < 100; ++k) accented += "é";  // 200 bytes, no space
  const std::string cut = NormalizeTopic(accented);
  EXPECT_EQ(cut.size(), kMaxTopicBytes);
  EXPECT_TRUE(IsValidUtf8(cut));
}

TEST(NormalizeTopicTest, RecognisesAlreadyNormalisedAscii) {
  EXPECT_TRUE(IsNormalizedAsciiTopic("rep onboarding"));
  EXPECT_FALSE(IsNormalizedAsciiTopic("Rep onboarding"));
  EXPECT_FALSE(IsNormalizedAsciiTopic("rep  onboarding"));
  EXPECT_FALSE(IsNormalizedAsciiTopic(" rep"));
  EXPECT_FALSE(IsNormalizedAsciiTopic("rep\tonboarding"));
  EXPECT_FALSE(IsNormalizedAsciiTopic("préstamos"));
  EXPECT_FALSE(IsNormalizedAsciiTopic(""));
}

TEST(ContainsPhraseTest, MatchesWholeWordsOnly) {
  EXPECT_TRUE(ContainsPhrase("pricing", "pricing"));
  EXPECT_TRUE(ContainsPhrase("new pricing model", "pricing"));
  EXPECT_TRUE(ContainsPhrase("pricing/packaging", "pricing"));
  EXPECT_TRUE(ContainsPhrase("q3 security review", "security review"));
  EXPECT_FALSE(ContainsPhrase("repricing", "pricing"));
  EXPECT_FALSE(ContainsPhrase("pricings", "pricing"));
  EXPECT_FALSE(ContainsPhrase("report", "po"));
  EXPECT_TRUE(ContainsPhrase("repricing and pricing", "pricing"));
  EXPECT_FALSE(ContainsPhrase("anything", ""));
}

}  // namespace
}  // namespace rapport::profile::model::test_util
