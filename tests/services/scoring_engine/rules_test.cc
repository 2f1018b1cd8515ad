// Loading the rules file: line-numbered syntax and semantic errors naming the
// rule or lexicon, version hashes, disabled rules, and the rules file's own
// examples.

#include "services/scoring/engine/rules.h"

#include <google/protobuf/text_format.h>
#include <gtest/gtest.h>

#include <regex>
#include <string>

#include "absl/strings/str_cat.h"
#include "tests/services/scoring_engine/test_util.h"

namespace rapport::scoring::engine::testing {
namespace {

std::string DefaultText() {
  return ReadFile(RulesDir() + "/default.textproto");
}

// `text` with the first occurrence of `from` replaced by `to`.
std::string Replace(std::string text, const std::string& from,
                    const std::string& to) {
  const size_t at = text.find(from);
  EXPECT_NE(at, std::string::npos) << from;
  if (at != std::string::npos) text.replace(at, from.size(), to);
  return text;
}

// 1-based line of the first occurrence of `needle`.
int LineOf(const std::string& text, const std::string& needle) {
  const size_t at = text.find(needle);
  EXPECT_NE(at, std::string::npos) << needle;
  return 1 + static_cast<int>(std::count(
                 text.begin(), text.begin() + static_cast<std::ptrdiff_t>(at),
                 '\n'));
}

std::string LoadError(const std::string& text) {
  auto r = ParseRules(text, "default.textproto");
  EXPECT_FALSE(r.ok());
  return r.ok() ? "" : r.status().ToString();
}

TEST(RulesTest, DefaultRulesLoadWithAVersionAndTheirExamplesPass) {
  auto r = LoadRules(RulesDir() + "/default.textproto");
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_TRUE(
      std::regex_match((*r)->version(), std::regex("^[0-9]+-[0-9a-f]{12}$")))
      << (*r)->version();
  EXPECT_GE((*r)->size(), 30u);
  EXPECT_GE((*r)->FindRule("name.formal_name"), 0);
  EXPECT_EQ((*r)->FindRule("no.such.rule"), -1);
}

TEST(RulesTest, VersionHashFollowsTheContent) {
  const std::string text = DefaultText();
  auto a = ParseRules(text, "a");
  auto b = ParseRules(text, "b");
  auto c = ParseRules(text + "\n# a comment changes the hash\n", "c");
  ASSERT_TRUE(a.ok() && b.ok() && c.ok());
  EXPECT_EQ((*a)->version(), (*b)->version());
  EXPECT_NE((*a)->version(), (*c)->version());
  // "<RulesFile.version>-<hash>", whatever the file's version is.
  EXPECT_EQ((*a)->version().substr(0, (*a)->version().find('-') + 1),
            absl::StrCat((*a)->file_version(), "-"));
}

TEST(RulesTest, SyntaxErrorsHaveFileLineAndColumn) {
  const std::string text =
      DefaultText() + "\nrules { id: \"x\" weight: oops }\n";
  const std::string error = LoadError(text);
  const int line =
      1 + static_cast<int>(std::count(text.begin(), text.end(), '\n')) - 1;
  EXPECT_NE(error.find(absl::StrCat("default.textproto:", line, ":")),
            std::string::npos)
      << error;
}

TEST(RulesTest, UnknownLexiconNamesRuleAndLine) {
  const std::string text = Replace(DefaultText(), "lexicons: [\"hype\"]",
                                   "lexicons: [\"hyperbole\"]");
  const std::string error = LoadError(text);
  EXPECT_NE(error.find(absl::StrCat("default.textproto:",
                                    LineOf(text, "\"hyperbole\""))),
            std::string::npos)
      << error;
  EXPECT_NE(error.find("rule 'pitch.hype': unknown lexicon 'hyperbole'"),
            std::string::npos)
      << error;
}

TEST(RulesTest, BadRegexNamesLexiconOrRuleAndLine) {
  std::string text =
      Replace(DefaultText(), "id: \"pitch.feature_talk\"",
              "id: \"pitch.feature_talk\"\n  patterns: \"(unclosed\"");
  const std::string error = LoadError(text);
  EXPECT_NE(
      error.find(absl::StrCat("default.textproto:", LineOf(text, "(unclosed"))),
      std::string::npos)
      << error;
  EXPECT_NE(
      error.find(
          "rule 'pitch.feature_talk': patterns '(unclosed' does not compile"),
      std::string::npos)
      << error;
}

TEST(RulesTest, BadPhrasesAndPatternsAreNamedByListAndPosition) {
  // One validation serves phrases, patterns and exceptions; each keeps its
  // own wording.
  std::string text =
      Replace(DefaultText(), "id: \"pitch.feature_talk\"",
              "id: \"pitch.feature_talk\"\n  phrases: [\"ok\", \"\", \" \"]\n"
              "  patterns: [\"x\", \"a*\", \"\"]\n  exceptions: [\"(\"]");
  const std::string error = LoadError(text);
  for (const char* want :
       {"rule 'pitch.feature_talk': phrase 2 must be 1-256 bytes of UTF-8",
        "rule 'pitch.feature_talk': phrase ' ' has no words or symbols",
        "rule 'pitch.feature_talk': patterns 'a*' matches the empty string",
        "rule 'pitch.feature_talk': patterns 3 must be 1-1024 bytes",
        "rule 'pitch.feature_talk': exceptions '(' does not compile"}) {
    EXPECT_NE(error.find(want), std::string::npos) << want << "\n" << error;
  }
  const std::string lexicon = LoadError(
      Replace(DefaultText(), "id: \"hype\"",
              "id: \"hype\"\n  phrases: \"\\xff\"\n  patterns: \"(?P<x\""));
  EXPECT_NE(lexicon.find("lexicon 'hype': phrase "), std::string::npos)
      << lexicon;
  EXPECT_NE(lexicon.find(" must be 1-256 bytes of UTF-8"), std::string::npos)
      << lexicon;
  EXPECT_NE(lexicon.find("lexicon 'hype': patterns '(?P<x' does not compile"),
            std::string::npos)
      << lexicon;
}

TEST(RulesTest, DuplicateIdsAreRejected) {
  const std::string text = Replace(DefaultText(), "id: \"pitch.feature_talk\"",
                                   "id: \"pitch.hype\"");
  EXPECT_NE(
      LoadError(text).find("rule 'pitch.hype': id is used by another rule"),
      std::string::npos);
}

TEST(RulesTest, UnknownPlaceholderIsRejected) {
  const std::string text =
      Replace(DefaultText(), "with their stated priority '{priority}'",
              "with their stated priority '{priorty}'");
  const std::string error = LoadError(text);
  EXPECT_NE(error.find(
                "rule 'pitch.hype': suggestion: unknown placeholder {priorty}"),
            std::string::npos)
      << error;
}

TEST(RulesTest, ProfilePlaceholdersNeedAFallback) {
  const std::string text =
      Replace(DefaultText(),
              "  fallback_suggestion: \"Replace the claim with one specific "
              "thing you know about their \"\n"
              "                       \"situation.\"\n",
              "");
  EXPECT_NE(LoadError(text).find(
                "rule 'pitch.hype': fallback_suggestion is required"),
            std::string::npos);
}

TEST(RulesTest, AnExampleThatDoesNotBehaveIsRejected) {
  const std::string text =
      Replace(DefaultText(),
              "examples { text: \"We are number one in logistics software.\"",
              "examples { text: \"We sell logistics software.\"");
  const std::string error = LoadError(text);
  EXPECT_NE(
      error.find(
          "rule 'pitch.hype': example 'We sell logistics software.' should "
          "fire but does not"),
      std::string::npos)
      << error;
  EXPECT_NE(error.find(absl::StrCat(
                ":", LineOf(text, "We sell logistics software."), ":")),
            std::string::npos)
      << error;
}

TEST(RulesTest, MissingReservedLexiconIsRejected) {
  const std::string text =
      Replace(DefaultText(), "id: \"signoffs\"", "id: \"signoff_words\"");
  EXPECT_NE(LoadError(text).find("reserved lexicon 'signoffs' is missing"),
            std::string::npos);
}

TEST(RulesTest, UnknownDetectorAndParamAreRejected) {
  std::string text = Replace(DefaultText(), "detector: \"self_opening\"",
                             "detector: \"self_openings\"");
  EXPECT_NE(LoadError(text).find("unknown detector 'self_openings'"),
            std::string::npos);
  text = Replace(DefaultText(), "params { key: \"max_self_share\" value: 0.5 }",
                 "params { key: \"max_share\" value: 0.5 }");
  EXPECT_NE(LoadError(text).find(
                "detector 'self_focus_ratio' has no param 'max_share'"),
            std::string::npos);
}

TEST(RulesTest, MissingDimensionAndNonFiniteWeightsAreRejected) {
  std::string text =
      Replace(DefaultText(), "dimension: DIMENSION_TIMING\n  weight: 0.5",
              "dimension: DIMENSION_TONE\n  weight: 0.5");
  const std::string error = LoadError(text);
  EXPECT_NE(error.find("dimension DIMENSION_TIMING is missing"),
            std::string::npos)
      << error;
  EXPECT_NE(error.find("dimension DIMENSION_TONE is listed twice"),
            std::string::npos)
      << error;
  text = Replace(DefaultText(), "weight: -0.4\n  lexicons: [\"hype\"]",
                 "weight: inf\n  lexicons: [\"hype\"]");
  EXPECT_NE(
      LoadError(text).find("rule 'pitch.hype': weight must be a finite number"),
      std::string::npos);
}

TEST(RulesTest, DisabledRulesAreNotCompiled) {
  const std::string text =
      Replace(DefaultText(), "id: \"pitch.feature_talk\"",
              "id: \"pitch.feature_talk\"\n  disabled: true");
  auto r = ParseRules(text, "default.textproto");
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ((*r)->FindRule("pitch.feature_talk"), -1);
  EXPECT_EQ((*r)->size(), DefaultRules().size() - 1);
}

TEST(RulesTest, CompileRulesNamesFieldPathsWithoutLineNumbers) {
  v1::RulesFile file;
  ASSERT_TRUE(
      google::protobuf::TextFormat::ParseFromString(DefaultText(), &file));
  auto ok = CompileRules(file, "in-memory");
  ASSERT_TRUE(ok.ok()) << ok.status();
  file.mutable_rules(0)->set_dimension(v1::DIMENSION_UNSPECIFIED);
  auto bad = CompileRules(file, "in-memory");
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.status().message().find(
                "in-memory: rules[0]: rule 'focus.self_centred': "
                "dimension is required"),
            absl::string_view::npos)
      << bad.status();
}

TEST(RulesTest, MissingFileIsNotFound) {
  auto r = LoadRules(RulesDir() + "/no-such-file.textproto");
  EXPECT_EQ(r.status().code(), absl::StatusCode::kNotFound);
}

TEST(RulesTest, ErrorsAreAllListed) {
  std::string text =
      Replace(DefaultText(), "lexicons: [\"hype\"]", "lexicons: [\"nope1\"]");
  text = Replace(text, "lexicons: [\"jargon\"]", "lexicons: [\"nope2\"]");
  const std::string error = LoadError(text);
  EXPECT_NE(error.find("nope1"), std::string::npos);
  EXPECT_NE(error.find("nope2"), std::string::npos);
}

}  // namespace
}  // namespace rapport::scoring::engine::testing
