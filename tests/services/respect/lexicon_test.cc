// Lexicon loading: line-numbered syntax and semantic errors, validation of
// respect.proto's rules, examples run at load, and the matching rules a
// lexicon author relies on (case, capture groups, exceptions, the cap).

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "services/feedback/respect/respect.h"
#include "tests/services/respect/respect_test_util.h"

namespace rapport::feedback::respect {
namespace {

using ::testing::AllOf;
using ::testing::ContainsRegex;
using ::testing::ElementsAre;
using testing::Excerpts;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using ::testing::Not;
using ::testing::SizeIs;
using testing::Terms;

constexpr char kSource[] = "lexicon.textproto";

// Lines 1-8; tests append from line 9 on.
constexpr char kBase[] =
    "version: 1\n"                                          // 1
    "default_suggestion: \"Say what happened.\"\n"          // 2
    "terms {\n"                                             // 3
    "  id: \"insult.clueless\"\n"                           // 4
    "  category: RESPECT_CATEGORY_INSULT\n"                 // 5
    "  phrases: \"clueless\"\n"                             // 6
    "  explanation: \"Calling people '{match}' hurts.\"\n"  // 7
    "}\n";                                                  // 8

absl::StatusOr<std::shared_ptr<const RespectChecker>> Parse(
    const std::string& extra) {
  return ParseLexicon(absl::StrCat(kBase, extra), kSource);
}

std::string ErrorOf(const std::string& extra) {
  const auto result = Parse(extra);
  if (result.ok()) return "(loaded)";
  EXPECT_EQ(result.status().code(), absl::StatusCode::kInvalidArgument);
  return std::string{result.status().message()};
}

TEST(LexiconTest, MinimalLexiconLoads) {
  const auto checker = Parse("");
  ASSERT_TRUE(checker.ok()) << checker.status();
  EXPECT_EQ((*checker)->version(), 1);
  EXPECT_EQ((*checker)->source_name(), kSource);
  EXPECT_EQ((*checker)->max_warnings(), kMaxWarnings);
  const auto w = (*checker)->Check("They are clueless.", "review.comment");
  ASSERT_THAT(w, SizeIs(1));
  EXPECT_EQ(w[0].field(), "review.comment");
  EXPECT_EQ(w[0].explanation(), "Calling people 'clueless' hurts.");
  // No rephrase_hint: the lexicon's default suggestion.
  EXPECT_EQ(w[0].suggestion(), "Say what happened.");
}

TEST(LexiconTest, BadRe2NamesTermAndLine) {
  const std::string error = ErrorOf(
      "terms {\n"                              // 9
      "  id: \"insult.bad\"\n"                 // 10
      "  category: RESPECT_CATEGORY_INSULT\n"  // 11
      "  patterns: \"fine\"\n"                 // 12
      "  patterns: \"(unclosed\"\n"            // 13
      "  explanation: \"x\"\n"                 // 14
      "}\n");
  EXPECT_THAT(error,
              AllOf(HasSubstr("lexicon.textproto:13:3: "),
                    HasSubstr("term \"insult.bad\""), HasSubstr("patterns[1]"),
                    HasSubstr("does not compile"), HasSubstr("missing )")));
}

TEST(LexiconTest, BadExceptionNamesTermAndLine) {
  const std::string error = ErrorOf(
      "terms {\n"                              // 9
      "  id: \"insult.bad\"\n"                 // 10
      "  category: RESPECT_CATEGORY_INSULT\n"  // 11
      "  phrases: \"dolt\"\n"                  // 12
      "  exceptions: \"[z-a]\"\n"              // 13
      "  explanation: \"x\"\n"                 // 14
      "}\n");
  EXPECT_THAT(error, AllOf(HasSubstr("lexicon.textproto:13:3: "),
                           HasSubstr("insult.bad"), HasSubstr("exceptions[0]"),
                           HasSubstr("does not compile")));
}

TEST(LexiconTest, DuplicateIdPointsAtBothTerms) {
  const std::string error = ErrorOf(
      "terms {\n"                              // 9
      "  id: \"insult.clueless\"\n"            // 10
      "  category: RESPECT_CATEGORY_INSULT\n"  // 11
      "  phrases: \"dense\"\n"                 // 12
      "  explanation: \"x\"\n"                 // 13
      "}\n");
  EXPECT_THAT(error,
              AllOf(HasSubstr("lexicon.textproto:10:3: "),
                    HasSubstr("duplicate id"), HasSubstr("term at line 3")));
}

TEST(LexiconTest, UnknownFieldIsASyntaxErrorWithLine) {
  const std::string error = ErrorOf(
      "terms {\n"             // 9
      "  id: \"insult.x\"\n"  // 10
      "  colour: \"red\"\n"   // 11
      "}\n");
  // protobuf reports the column of the token after the name.
  EXPECT_THAT(error, AllOf(HasSubstr("lexicon.textproto:11:"),
                           HasSubstr("no field named \"colour\"")));
}

TEST(LexiconTest, SyntaxErrorHasLine) {
  const std::string error = ErrorOf(
      "terms {\n"           // 9
      "  id: \"insult.x\n"  // 10: unterminated string
      "}\n");
  EXPECT_THAT(error, HasSubstr("lexicon.textproto:10:"));
}

TEST(LexiconTest, UnknownEnumValueHasLine) {
  const std::string error = ErrorOf(
      "terms {\n"                            // 9
      "  id: \"insult.x\"\n"                 // 10
      "  category: RESPECT_CATEGORY_RUDE\n"  // 11
      "}\n");
  // protobuf reports the position of the token after the bad value, here
  // the start of line 12.
  EXPECT_THAT(error, AllOf(ContainsRegex("^lexicon\\.textproto:1[12]:"),
                           HasSubstr("RESPECT_CATEGORY_RUDE")));
}

TEST(LexiconTest, PatternMatchingEmptyStringIsRefused) {
  const std::string error = ErrorOf(
      "terms {\n"                              // 9
      "  id: \"insult.empty\"\n"               // 10
      "  category: RESPECT_CATEGORY_INSULT\n"  // 11
      "  patterns: \"a*\"\n"                   // 12
      "  explanation: \"x\"\n"                 // 13
      "}\n");
  EXPECT_THAT(error, AllOf(HasSubstr("lexicon.textproto:12:3: "),
                           HasSubstr("matches the empty string")));
}

TEST(LexiconTest, MissingRequiredFields) {
  const auto result = ParseLexicon(
      "terms {\n"              // 1
      "  id: \"Not An Id\"\n"  // 2
      "  phrases: \"  \"\n"    // 3
      "}\n"
      "max_warnings: 50\n",  // 5
      kSource);
  ASSERT_FALSE(result.ok());
  const std::string error(result.status().message());
  EXPECT_THAT(error,
              AllOf(HasSubstr("lexicon.textproto: version: required"),
                    HasSubstr("lexicon.textproto: default_suggestion: "
                              "required"),
                    HasSubstr("lexicon.textproto:5:1: max_warnings: must be "
                              "0-20"),
                    HasSubstr("lexicon.textproto:2:3: term \"Not An Id\": "
                              "terms[0].id: \"Not An Id\" is not a term id"),
                    HasSubstr("terms[0].category: required"),
                    HasSubstr("terms[0].explanation: required"),
                    HasSubstr("lexicon.textproto:3:3: term \"Not An Id\": "
                              "terms[0].phrases[0]: must be 1-256 bytes")));
}

TEST(LexiconTest, EveryProblemIsListed) {
  const std::string error = ErrorOf(
      "terms {\n"                              // 9
      "  id: \"insult.clueless\"\n"            // 10
      "  category: RESPECT_CATEGORY_INSULT\n"  // 11
      "  patterns: \"(\"\n"                    // 12
      "  explanation: \"x\"\n"                 // 13
      "}\n");
  EXPECT_THAT(error, AllOf(HasSubstr("lexicon.textproto:10:3: "),
                           HasSubstr("lexicon.textproto:12:3: ")));
}

TEST(LexiconTest, FailingExampleRefusesTheLexicon) {
  EXPECT_THAT(ErrorOf("examples { text: \"They are clueless.\" flags: true }\n"
                      "examples { text: \"A clue.\" flags: false }\n"),
              "(loaded)");
  EXPECT_THAT(
      ErrorOf("examples { text: \"They are clueless.\" flags: true }\n"  // 9
              "examples { text: \"They are dense.\" flags: true }\n"),   // 10
      AllOf(HasSubstr("lexicon.textproto:10:1: example \"They are "
                      "dense.\": examples[1]: expected a warning, got none"),
            Not(HasSubstr(":9:"))));
  EXPECT_THAT(ErrorOf("examples { text: \"So clueless.\" flags: false }\n"),
              AllOf(HasSubstr("lexicon.textproto:9:1: "),
                    HasSubstr("expected no warning, got insult.clueless on "
                              "\"clueless\"")));
  EXPECT_THAT(ErrorOf("examples {\n"                      // 9
                      "  text: \"So clueless.\"\n"        // 10
                      "  flags: true\n"                   // 11
                      "  expect_term: \"insult.nope\"\n"  // 12
                      "}\n"),
              HasSubstr("lexicon.textproto:12:3: example \"So clueless.\": "
                        "examples[0].expect_term: no term has id"));
}

TEST(LexiconTest, CompileWithoutTextNamesThePath) {
  v1::RespectLexicon lexicon;
  lexicon.set_version(3);
  lexicon.set_default_suggestion("Say what happened.");
  auto* term = lexicon.add_terms();
  term->set_id("insult.bad");
  term->set_category(v1::RESPECT_CATEGORY_INSULT);
  term->add_patterns("(?P<x");
  term->set_explanation("x");
  const auto result = Compile(lexicon, "inline");
  ASSERT_FALSE(result.ok());
  EXPECT_THAT(result.status().message(),
              HasSubstr("inline: term \"insult.bad\": terms[0].patterns[0]: "
                        "\"(?P<x\" does not compile"));

  term->set_patterns(0, "\\bdolts?\\b");
  const auto ok = Compile(lexicon, "inline");
  ASSERT_TRUE(ok.ok()) << ok.status();
  EXPECT_EQ((*ok)->version(), 3);
  EXPECT_THAT(Terms((*ok)->Check("Dolts.", "note.text")),
              ElementsAre("insult.bad"));
}

TEST(LexiconTest, MissingFileIsNotFound) {
  const auto result = LoadLexicon("/nonexistent/lexicon.textproto");
  EXPECT_EQ(result.status().code(), absl::StatusCode::kNotFound);
  EXPECT_THAT(result.status().message(),
              HasSubstr("/nonexistent/lexicon.textproto"));
}

TEST(LexiconTest, ShoutingTermTakesNoPhrases) {
  EXPECT_THAT(ErrorOf("terms {\n"                                // 9
                      "  id: \"shouting.all_caps\"\n"            // 10
                      "  category: RESPECT_CATEGORY_CONTEMPT\n"  // 11
                      "  phrases: \"LOUD\"\n"                    // 12
                      "  patterns: \"[A-Z]+\"\n"                 // 13
                      "  explanation: \"x\"\n"                   // 14
                      "}\n"),
              AllOf(HasSubstr("lexicon.textproto:12:3: "),
                    HasSubstr("takes no phrases")));
}

TEST(LexiconMatchingTest, CaseSensitiveTerm) {
  const auto checker = Parse(
      "terms {\n"
      "  id: \"tone.no\"\n"
      "  category: RESPECT_CATEGORY_DISMISSAL\n"
      "  phrases: \"NO\"\n"
      "  case_sensitive: true\n"
      "  explanation: \"x\"\n"
      "}\n");
  ASSERT_TRUE(checker.ok()) << checker.status();
  EXPECT_THAT(Terms((*checker)->Check("The answer is NO.", "f")),
              ElementsAre("tone.no"));
  EXPECT_THAT((*checker)->Check("There is no budget.", "f"), IsEmpty());
}

TEST(LexiconMatchingTest, CaptureGroupNarrowsTheSpan) {
  const auto checker = Parse(
      "terms {\n"
      "  id: \"contempt.jokers\"\n"
      "  category: RESPECT_CATEGORY_CONTEMPT\n"
      "  patterns: \"\\\\b(?:those|these)\\\\s+(jokers)\\\\b\"\n"
      "  explanation: \"x\"\n"
      "}\n");
  ASSERT_TRUE(checker.ok()) << checker.status();
  const auto w = (*checker)->Check("Ask those jokers.", "f");
  ASSERT_THAT(w, SizeIs(1));
  EXPECT_EQ(w[0].excerpt(), "jokers");
  EXPECT_EQ(w[0].start(), 10u);
  EXPECT_EQ(w[0].end(), 16u);
}

TEST(LexiconMatchingTest, TermAndLexiconExceptions) {
  const auto checker = Parse(
      "exceptions: \"\\\\bnot\\\\s+clueless\\\\b\"\n"
      "terms {\n"
      "  id: \"contempt.trash\"\n"
      "  category: RESPECT_CATEGORY_CONTEMPT\n"
      "  phrases: \"trash\"\n"
      "  exceptions: \"\\\\btrash\\\\s+can\\\\b\"\n"
      "  explanation: \"x\"\n"
      "}\n");
  ASSERT_TRUE(checker.ok()) << checker.status();
  EXPECT_THAT((*checker)->Check("Empty the trash can. Not clueless.", "f"),
              IsEmpty());
  EXPECT_THAT(Excerpts((*checker)->Check("Trash. Clueless.", "f")),
              ElementsAre("Trash", "Clueless"));
}

TEST(LexiconMatchingTest, MaxWarningsCaps) {
  const auto checker = Parse("max_warnings: 2\n");
  ASSERT_TRUE(checker.ok()) << checker.status();
  EXPECT_EQ((*checker)->max_warnings(), 2);
  EXPECT_THAT(Excerpts((*checker)->Check("clueless CLUELESS Clueless", "f")),
              ElementsAre("clueless", "CLUELESS"));
  v1::Feedback review;
  review.mutable_review()->set_comment("clueless");
  review.mutable_review()->add_tags("clueless");
  review.mutable_review()->add_tags("clueless");
  EXPECT_THAT((*checker)->CheckFeedback(review), SizeIs(2));
}

TEST(LexiconMatchingTest, PhraseWhitespaceAndApostrophes) {
  const auto checker = Parse(
      "terms {\n"
      "  id: \"dismissal.not_my_job\"\n"
      "  category: RESPECT_CATEGORY_DISMISSAL\n"
      "  phrases: \"isn't my job\"\n"
      "  explanation: \"x\"\n"
      "}\n");
  ASSERT_TRUE(checker.ok()) << checker.status();
  EXPECT_THAT(Excerpts((*checker)->Check("That isnt\n  my   job.", "f")),
              ElementsAre("isnt\n  my   job"));
  EXPECT_THAT(Excerpts((*checker)->Check("That isn\u2019t my job.", "f")),
              ElementsAre("isn\u2019t my job"));
  EXPECT_THAT((*checker)->Check("That isn't my jobsite.", "f"), IsEmpty());
}

// The service swaps checkers on SIGHUP: an old checker stays valid and
// unchanged for calls still holding it.
TEST(LexiconMatchingTest, OldCheckerSurvivesReplacement) {
  auto current = Parse("");
  ASSERT_TRUE(current.ok());
  std::shared_ptr<const RespectChecker> in_flight = *current;
  auto next = Parse("max_warnings: 1\n");
  ASSERT_TRUE(next.ok());
  *current = *next;
  EXPECT_EQ(in_flight->max_warnings(), kMaxWarnings);
  EXPECT_THAT(in_flight->Check("clueless clueless", "f"), SizeIs(2));
  EXPECT_THAT((*current)->Check("clueless clueless", "f"), SizeIs(1));
}

}  // namespace
}  // namespace rapport::feedback::respect
