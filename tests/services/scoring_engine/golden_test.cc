// Golden reports: the engine must produce byte-identical reports (score,
// dimensions, findings with spans and texts, reply probability) and signal
// vectors for a fixed corpus under a frozen copy of the rules. It guards
// the engine's speed work: an optimisation that changes any output, down
// to one bit of a double, fails here and names the input.
//
// The corpus: every dev-set message (tests/data/outreach_devset.jsonl) as
// the dev-set tool scores it, and again for a full profile and sender on
// each channel; the fuzz seed corpus; hand-written edge cases (invalid
// UTF-8, typographic quotes, merge fields, Kelvin sign, very long words);
// and pseudo-random drafts stitched from lexicon phrases, punctuation and
// Unicode with a fixed seed.
//
// When the engine's behaviour changes ON PURPOSE, regenerate the golden file
// and say why in the commit:
//
//   RAPPORT_UPDATE_GOLDEN=1 build/tests/scoring_engine_test
//       --gtest_filter='GoldenReportTest.*'
//
// The rules are a frozen copy (testdata/golden_rules.textproto), so tuning
// services/scoring/rules/default.textproto does not touch this test.
//
// For a wider check before and after a change, point it at a larger corpus
// and another golden file: RAPPORT_GOLDEN_RANDOM=<drafts> (default 300),
// RAPPORT_GOLDEN_EXTRA_DIR=<dir of bodies, e.g. a fuzzer's corpus> and
// RAPPORT_GOLDEN_FILE=<path>; write it with RAPPORT_UPDATE_GOLDEN=1 on the
// old engine, then run without it on the new one.

#include <google/protobuf/io/coded_stream.h>
#include <google/protobuf/io/zero_copy_stream_impl_lite.h>
#include <google/protobuf/struct.pb.h>
#include <google/protobuf/util/json_util.h>
#include <gtest/gtest.h>

#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "services/scoring/engine/engine.h"
#include "tests/services/scoring_engine/test_util.h"

namespace rapport::scoring::engine::testing {
namespace {

std::string TestDataDir() { return RAPPORT_ENGINE_TESTDATA; }

const CompiledRules& FrozenRules() {
  static const std::shared_ptr<const CompiledRules> rules =
      LoadRulesOrDie(TestDataDir() + "/golden_rules.textproto");
  return *rules;
}

// FNV-1a, 64 bits: stable across platforms and runs.
uint64_t Fnv(absl::string_view bytes, uint64_t h = 14695981039346656037ULL) {
  for (const char c : bytes) {
    h ^= static_cast<unsigned char>(c);
    h *= 1099511628211ULL;
  }
  return h;
}

// Digest of a report and its signal vector.
std::string Digest(const v1::ScoreReport& report, const Signals& signals) {
  std::string bytes;
  {
    google::protobuf::io::StringOutputStream raw(&bytes);
    google::protobuf::io::CodedOutputStream out(&raw);
    out.SetSerializationDeterministic(true);
    report.SerializeToCodedStream(&out);
  }
  for (const double x : signals.x) {
    char b[sizeof(double)];
    std::memcpy(b, &x, sizeof b);
    bytes.append(b, sizeof b);
  }
  return absl::StrFormat("%016x", Fnv(bytes));
}

struct Case {
  std::string id;
  v1::Draft draft;
  bool with_profile = false;
  profile::Profile profile;
  bool with_sender = false;
  common::Sender sender;
};

profile::Profile FullProfile(common::BuyingStage stage) {
  profile::Profile p;
  common::Contact* c = p.mutable_contact();
  c->set_id("c-1");
  c->set_full_name("Mitchell Grant");
  c->set_preferred_name("Mitch");
  c->set_title("VP Sales");
  c->set_company("Acme Logistics");
  c->set_industry("Logistics");
  c->add_priorities("cut onboarding time for new reps");
  c->add_priorities("raise win rates in the mid-market");
  c->add_challenges("rep churn in the first year");
  c->add_trigger_events()->set_description(
      "opened a new distribution hub in Denver");
  p.add_interests()->set_topic("sales enablement");
  p.add_interests()->set_topic("coaching");
  p.set_stage(stage);
  p.set_version(7);
  p.set_address_as("Mitch");
  return p;
}

common::Sender FullSender() {
  common::Sender s;
  s.set_team(common::TEAM_SALES);
  s.set_rep_id("bob");
  s.set_rep_name("Bob Blah");
  s.set_company_name("Blah Inc");
  s.add_product_names("Blah");
  s.add_product_names("Blah Coach");
  return s;
}

std::string Str(const google::protobuf::Struct& s, const std::string& key) {
  auto it = s.fields().find(key);
  if (it == s.fields().end() || !it->second.has_string_value()) return "";
  return it->second.string_value();
}

void AddDevSet(std::vector<Case>* cases) {
  std::ifstream in(RAPPORT_DEVSET);
  ASSERT_TRUE(in) << RAPPORT_DEVSET;
  std::string line;
  int line_no = 0;
  const common::Channel channels[] = {common::CHANNEL_EMAIL,
                                      common::CHANNEL_LINKEDIN,
                                      common::CHANNEL_CALL_OPENER};
  const common::BuyingStage stages[] = {common::BUYING_STAGE_PROBLEM_AWARE,
                                        common::BUYING_STAGE_EVALUATING,
                                        common::BUYING_STAGE_UNKNOWN};
  while (std::getline(in, line)) {
    ++line_no;
    if (line.empty()) continue;
    google::protobuf::Struct row;
    ASSERT_TRUE(google::protobuf::util::JsonStringToMessage(line, &row).ok());
    const std::string id = Str(row, "id");
    const std::string channel = Str(row, "channel");
    Case c;
    c.id = absl::StrCat("devset/", id);
    c.draft.set_subject(Str(row, "subject"));
    c.draft.set_body(Str(row, "body"));
    c.draft.set_channel(channel == "linkedin"      ? common::CHANNEL_LINKEDIN
                        : channel == "call_opener" ? common::CHANNEL_CALL_OPENER
                                                   : common::CHANNEL_EMAIL);
    auto rec = row.fields().find("recipient");
    if (rec != row.fields().end() && rec->second.has_struct_value()) {
      const google::protobuf::Struct& r = rec->second.struct_value();
      common::Contact contact;
      contact.set_id(absl::StrCat("devset-", line_no));
      contact.set_full_name(Str(r, "full_name"));
      contact.set_preferred_name(Str(r, "preferred_name"));
      contact.set_company(Str(r, "company"));
      contact.set_title(Str(r, "title"));
      c.with_profile = true;
      c.profile = ProfileFromContact(contact);
    }
    cases->push_back(c);
    for (size_t k = 0; k < 3; ++k) {
      Case full = c;
      full.id = absl::StrCat("devset-full", k, "/", id);
      full.draft.set_channel(channels[k]);
      full.with_profile = true;
      full.profile = FullProfile(stages[k]);
      full.with_sender = true;
      full.sender = FullSender();
      cases->push_back(std::move(full));
    }
  }
}

void AddFiles(const std::string& dir, const std::string& prefix,
              std::vector<Case>* cases) {
  std::vector<std::filesystem::path> files;
  for (const auto& e : std::filesystem::directory_iterator(dir)) {
    files.push_back(e.path());
  }
  std::sort(files.begin(), files.end());
  for (const auto& path : files) {
    Case c;
    c.id = absl::StrCat(prefix, path.filename().string());
    c.draft.set_channel(common::CHANNEL_EMAIL);
    c.draft.set_subject("Ramp time for the Denver hub");
    c.draft.set_body(ReadFile(path.string()));
    c.with_profile = true;
    c.profile = FullProfile(common::BUYING_STAGE_PROBLEM_AWARE);
    c.with_sender = true;
    c.sender = FullSender();
    cases->push_back(std::move(c));
  }
}

// Edge cases for the tokenizer, the pattern pass and the report.
constexpr char kControls[] = "a\0b\x01\x7F c\td\v\fe";
void AddEdgeCases(std::vector<Case>* cases) {
  const std::vector<std::pair<std::string, std::string>> bodies = {
      {"empty", ""},
      {"seed004", kSeedBody},
      {"invalid_utf8",
       "Hi Mitch,\n\nbad \xC3 byte \xFF\xFE and \xE2\x80 cut. "
       "We are number one \xF0\x9F\x98 in blah?\n\nBest,\nBob"},
      {"curly",
       "Hi Mitch,\n\nI\xE2\x80\x99m sure you\xE2\x80\x99ve heard "
       "\xE2\x80\x9Cnumber one\xE2\x80\x9D before. Would 15 "
       "minutes of your time work? Don\xE2\x80\x99t you think "
       "we\xE2\x80\x99re the \xE2\x80\x98"
       "best\xE2\x80\x99?\n"},
      {"merge",
       "Hi {{first_name}},\n\n[Company] and %FIRST_NAME% and "
       "<<Company>> and {company} and [here](x) [1]. We serve 200+ "
       "of the Fortune 500 and over 1,000 customers.\n"},
      {"kelvin",
       "We serve 159 of the Fortune 500. Ten \xE2\x84\xAA"
       "minutes? 5 MINUTES of your time. \xC5\xBF"
       "ocial 5 mins.\n"},
      {"numbers",
       "3.5 1,000 U.S. e.g. i.e. a.m. Mr. Grant met J. Smith at "
       "10:30 a.m. on 3/4. It costs $5,000... Really?! Yes!!!\n"},
      {"urls",
       "See https://example.com/x?y=1, www.example.org. and "
       "mitch@acme.example. Email me at a.b+c@d-e.co.uk!\n"},
      {"crlf",
       "Hi Mitch,\r\n\r\nHow is Denver?\r\rThanks,\r\nBob\r\n\r\n"
       "On Tue, Mar 3, 2024 at 10:02 AM Mitchell Grant wrote:\r\n"
       "> old\r\n"},
      {"bullets",
       "Hi Mitch,\n\n- one thing\n- two things\n1. first\n2) "
       "second\n\xE2\x80\xA2 third\n\nCheers,\nBob\nSent from my "
       "iPhone\n"},
      {"long_word",
       std::string(70000, 'a') + " you " + std::string(300, 'B') + "?"},
      {"controls", std::string(kControls, sizeof kControls - 1) +
                       "\xE2\x80\xA8 f\xC2\x85g\xE2\x80\x8Bh\xEF\xBB\xBFi"},
      {"unicode",
       "\xC3\x89tienne, \xC3\xA7"
       "a va? \xD0\x9F\xD1\x80\xD0\xB8"
       "\xD0\xB2\xD0\xB5\xD1\x82! \xE4\xBD\xA0\xE5\xA5\xBD "
       "\xF0\x9F\x98\x80 na\xC3\xAF"
       "ve caf\xC3\xA9 "
       "\xC3\x9F\xE1\xBA\x9E \xE2\x80\x90 x\xE2\x80\x91y "
       "\xE2\x80\xA6 Mitch\xE2\x80\x99s.\n"},
  };
  for (const auto& [name, body] : bodies) {
    for (int variant = 0; variant < 2; ++variant) {
      Case c;
      c.id = absl::StrCat("edge", variant, "/", name);
      c.draft.set_channel(common::CHANNEL_EMAIL);
      c.draft.set_subject(variant == 0 ? "" : "Quick call: 10 minutes?");
      c.draft.set_body(body);
      if (variant == 1) {
        c.with_profile = true;
        c.profile = FullProfile(common::BUYING_STAGE_UNAWARE);
        c.profile.mutable_contact()->set_do_not_contact(name == "kelvin");
        c.profile.mutable_fatigue()->set_fatigued(name == "crlf");
        c.profile.mutable_fatigue()->mutable_recommended_wait()->set_seconds(
            200000);
        c.with_sender = true;
        c.sender = FullSender();
      }
      cases->push_back(std::move(c));
    }
  }
}

// Pseudo-random drafts: pieces chosen by a fixed xorshift generator.
void AddRandom(std::vector<Case>* cases) {
  const std::vector<std::string> pieces = {"you",
                                           "your",
                                           "I",
                                           "we",
                                           "our",
                                           "Mitch",
                                           "Mitchell",
                                           "Grant",
                                           "Acme",
                                           "Logistics",
                                           "Blah",
                                           "Inc",
                                           "Blah Coach",
                                           "number one",
                                           "#1",
                                           "159 of the Fortune 500",
                                           "over 2,000 customers",
                                           "10 minutes",
                                           "a few mins",
                                           "of your time",
                                           "quick call",
                                           "let me know",
                                           "Denver",
                                           "onboarding",
                                           "reps",
                                           "ramping",
                                           "hub",
                                           "churn",
                                           "win rates",
                                           "costs",
                                           "every month",
                                           "risk",
                                           "what",
                                           "how",
                                           "why",
                                           "would you",
                                           "can we",
                                           "did you get my last email",
                                           "leverage",
                                           "synergy",
                                           "best-in-class",
                                           "companies like yours",
                                           "hope this finds you well",
                                           "{{first_name}}",
                                           "[Company]",
                                           "U.S.",
                                           "e.g.",
                                           "3.5",
                                           "1,000",
                                           ".",
                                           ",",
                                           "?",
                                           "!",
                                           "...",
                                           "\xE2\x80\xA6",
                                           "\xE2\x80\x99",
                                           "\xE2\x80\x9C",
                                           "\xE2\x80\x9D",
                                           "-",
                                           "\xE2\x80\x94",
                                           "(",
                                           ")",
                                           ":",
                                           ";",
                                           "\"",
                                           "'",
                                           " ",
                                           " ",
                                           " ",
                                           " ",
                                           "\n",
                                           "\n\n",
                                           "\r\n",
                                           "\t",
                                           "Hi",
                                           "Dear",
                                           "Best,",
                                           "Thanks,",
                                           "\xC3\xA9t\xC3\xA9",
                                           "\xF0\x9F\x9A\x80",
                                           "\xFF",
                                           "\xC3",
                                           "https://x.example/a",
                                           "bob@blah.example",
                                           "On Mon, Bob wrote:",
                                           "> quoted",
                                           "Sent from my iPhone",
                                           "-- ",
                                           "MINUTES",
                                           "Fortune",
                                           "guaranteed",
                                           "act now",
                                           "obviously",
                                           "trust me"};
  uint64_t state = 0x9E3779B97F4A7C15ULL;
  auto next = [&state] {
    state ^= state << 13;
    state ^= state >> 7;
    state ^= state << 17;
    return state;
  };
  const char* env = std::getenv("RAPPORT_GOLDEN_RANDOM");
  const int drafts = env != nullptr ? std::atoi(env) : 300;
  for (int i = 0; i < drafts; ++i) {
    const size_t n = 5 + next() % 250;
    std::string body;
    for (size_t k = 0; k < n; ++k) {
      body += pieces[next() % pieces.size()];
      if (next() % 3 != 0) body += ' ';
    }
    std::string subject;
    const size_t sn = next() % 8;
    for (size_t k = 0; k < sn; ++k) {
      subject += pieces[next() % pieces.size()];
      subject += ' ';
    }
    Case c;
    c.id = absl::StrCat("random/", i);
    c.draft.set_channel(static_cast<common::Channel>(next() % 4));
    c.draft.set_subject(subject);
    c.draft.set_body(body);
    const uint64_t who = next() % 3;
    if (who > 0) {
      c.with_profile = true;
      c.profile = FullProfile(static_cast<common::BuyingStage>(next() % 8));
      if (who == 2) c.profile.mutable_contact()->clear_preferred_name();
    }
    if (next() % 2 == 0) {
      c.with_sender = true;
      c.sender = FullSender();
    }
    cases->push_back(std::move(c));
  }
}

std::vector<Case> Corpus() {
  std::vector<Case> cases;
  AddDevSet(&cases);
  AddFiles(std::string(RAPPORT_SOURCE_ROOT) +
               "/services/scoring/engine/fuzz/corpus/engine",
           "fuzz/", &cases);
  AddFiles(std::string(RAPPORT_SOURCE_ROOT) + "/deploy/demo/drafts", "demo/",
           &cases);
  AddEdgeCases(&cases);
  AddRandom(&cases);
  if (const char* extra = std::getenv("RAPPORT_GOLDEN_EXTRA_DIR")) {
    AddFiles(extra, "extra/", &cases);
  }
  return cases;
}

// "<id> <score> <findings> <digest>" per case.
std::string Line(const Case& c, const v1::ScoreReport& r, const Signals& s) {
  return absl::StrFormat("%s %.2f %d %s", c.id, r.score(), r.findings_size(),
                         Digest(r, s));
}

TEST(GoldenReportTest, EngineOutputIsUnchangedForTheGoldenCorpus) {
  const CompiledRules& rules = FrozenRules();
  const ModelWeights weights = DefaultWeights(rules);
  const std::vector<Case> cases = Corpus();
  ASSERT_GT(cases.size(), 500U);
  std::vector<std::string> lines;
  for (const Case& c : cases) {
    ScoreInput in{&c.draft, c.with_profile ? &c.profile : nullptr,
                  c.with_sender ? &c.sender : nullptr};
    Signals signals;
    // Both entry points: a fresh report and one reused across drafts.
    const v1::ScoreReport fresh = Score(in, rules, weights, &signals);
    static v1::ScoreReport reused;
    Signals signals2;
    Score(in, rules, weights, &reused, &signals2);
    EXPECT_EQ(Digest(fresh, signals), Digest(reused, signals2)) << c.id;
    lines.push_back(Line(c, fresh, signals));
  }
  const char* file = std::getenv("RAPPORT_GOLDEN_FILE");
  const std::string path =
      file != nullptr ? file : TestDataDir() + "/golden_reports.txt";
  if (std::getenv("RAPPORT_UPDATE_GOLDEN") != nullptr) {
    std::ofstream out(path);
    for (const std::string& l : lines) out << l << "\n";
    GTEST_SKIP() << "wrote " << lines.size() << " lines to " << path;
  }
  std::istringstream golden(ReadFile(path));
  std::vector<std::string> want;
  for (std::string l; std::getline(golden, l);) want.push_back(l);
  ASSERT_EQ(want.size(), lines.size())
      << path << " is for another corpus; regenerate it (see the comment "
      << "at the top of this file) only if the change is on purpose";
  int diffs = 0;
  for (size_t i = 0; i < lines.size(); ++i) {
    if (lines[i] != want[i] && ++diffs <= 20) {
      ADD_FAILURE() << "report changed:\n  want " << want[i] << "\n  got  "
                    << lines[i];
    }
  }
  EXPECT_EQ(diffs, 0) << diffs << " of " << lines.size() << " reports changed";
}

}  // namespace
}  // namespace rapport::scoring::engine::testing
