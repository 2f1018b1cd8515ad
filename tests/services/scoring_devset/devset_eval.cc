// scoring_devset_eval: how well `score` separates the outreach messages that
// public sources judged good from those they judged bad
// (tests/data/outreach_devset.jsonl, cited in tests/data/README.md).
//
//   scoring_devset_eval [--devset FILE] [--rules FILE] [--min-auc X]
//                       [--domain sales] [--verbose]
//
// Prints ROC AUC (the probability that a good message outscores a bad one;
// ties count half) and accuracy at the threshold that best splits the set
// and at 50, overall and per channel. With --min-auc it exits 1 when the
// AUC is below X: CTest runs it so that a rules change that makes Rapport
// worse at telling good outreach from bad fails the build.

#include <google/protobuf/struct.pb.h>
#include <google/protobuf/util/json_util.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <map>
#include <string>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "services/scoring/engine/engine.h"

namespace {

using google::protobuf::Struct;
using google::protobuf::Value;

struct Example {
  std::string id;
  std::string channel;
  bool good = false;
  double score = 0;
};

std::string Str(const Struct& s, const std::string& key) {
  auto it = s.fields().find(key);
  if (it == s.fields().end() || !it->second.has_string_value()) return "";
  return it->second.string_value();
}

double Auc(const std::vector<Example>& xs) {
  double wins = 0;
  double pairs = 0;
  for (const Example& g : xs) {
    if (!g.good) continue;
    for (const Example& b : xs) {
      if (b.good) continue;
      pairs += 1;
      wins += g.score > b.score ? 1 : (g.score == b.score ? 0.5 : 0);
    }
  }
  return pairs == 0 ? 0 : wins / pairs;
}

double Accuracy(const std::vector<Example>& xs, double threshold) {
  if (xs.empty()) return 0;
  int right = 0;
  for (const Example& x : xs) right += (x.score >= threshold) == x.good;
  return static_cast<double>(right) / xs.size();
}

void Report(const std::string& name, const std::vector<Example>& xs) {
  int good = 0;
  for (const Example& x : xs) good += x.good;
  double best_t = 50;
  double best_acc = 0;
  for (int t = 0; t <= 100; ++t) {
    const double acc = Accuracy(xs, t);
    if (acc > best_acc) {
      best_acc = acc;
      best_t = t;
    }
  }
  std::printf(
      "%-12s n=%-3zu good=%-3d bad=%-3zu  ROC AUC %.3f  accuracy@50 "
      "%.3f  best accuracy %.3f (threshold %.0f)\n",
      name.c_str(), xs.size(), good, xs.size() - good, Auc(xs),
      Accuracy(xs, 50), best_acc, best_t);
}

}  // namespace

int main(int argc, char** argv) {
  std::string devset = RAPPORT_DEVSET;
  std::string rules_path = RAPPORT_RULES_FILE;
  std::string domain;
  double min_auc = -1;
  bool verbose = false;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    auto value = [&]() -> std::string { return i + 1 < argc ? argv[++i] : ""; };
    if (a == "--devset") {
      devset = value();
    } else if (a == "--rules") {
      rules_path = value();
    } else if (a == "--domain") {
      domain = value();
    } else if (a == "--min-auc") {
      if (!absl::SimpleAtod(value(), &min_auc)) {
        std::fprintf(stderr, "--min-auc needs a number\n");
        return 2;
      }
    } else if (a == "--verbose") {
      verbose = true;
    } else {
      std::fprintf(stderr,
                   "usage: scoring_devset_eval [--devset FILE] [--rules FILE] "
                   "[--domain D] [--min-auc X] [--verbose]\n");
      return 2;
    }
  }
  auto rules = rapport::scoring::engine::LoadRules(rules_path);
  if (!rules.ok()) {
    std::fprintf(stderr, "%s\n", std::string(rules.status().message()).c_str());
    return 2;
  }
  const auto weights = rapport::scoring::engine::DefaultWeights(**rules);

  std::ifstream in(devset);
  if (!in) {
    std::fprintf(stderr, "cannot read %s\n", devset.c_str());
    return 2;
  }
  std::vector<Example> all;
  std::string line;
  int line_no = 0;
  while (std::getline(in, line)) {
    ++line_no;
    if (line.empty()) continue;
    Struct row;
    if (!google::protobuf::util::JsonStringToMessage(line, &row).ok()) {
      std::fprintf(stderr, "%s:%d: not a JSON object\n", devset.c_str(),
                   line_no);
      return 2;
    }
    if (!domain.empty() && Str(row, "domain") != domain) continue;
    Example ex;
    ex.id = Str(row, "id");
    ex.channel = Str(row, "channel");
    ex.good = Str(row, "label") == "good";

    rapport::scoring::v1::Draft draft;
    draft.set_subject(Str(row, "subject"));
    draft.set_body(Str(row, "body"));
    draft.set_channel(
        ex.channel == "linkedin"      ? rapport::common::v1::CHANNEL_LINKEDIN
        : ex.channel == "call_opener" ? rapport::common::v1::CHANNEL_CALL_OPENER
                                      : rapport::common::v1::CHANNEL_EMAIL);
    rapport::common::v1::Contact contact;
    auto rec = row.fields().find("recipient");
    const bool has_recipient =
        rec != row.fields().end() && rec->second.has_struct_value();
    if (has_recipient) {
      const Struct& r = rec->second.struct_value();
      contact.set_id(absl::StrCat("devset-", line_no));
      contact.set_full_name(Str(r, "full_name"));
      contact.set_preferred_name(Str(r, "preferred_name"));
      contact.set_company(Str(r, "company"));
      contact.set_title(Str(r, "title"));
    }
    const rapport::profile::v1::Profile profile =
        rapport::scoring::engine::ProfileFromContact(contact);
    rapport::scoring::engine::ScoreInput input;
    input.draft = &draft;
    input.profile = has_recipient ? &profile : nullptr;
    ex.score = rapport::scoring::engine::Score(input, **rules, weights).score();
    if (verbose) {
      std::printf("%5.1f  %-4s  %-11s  %s\n", ex.score,
                  ex.good ? "good" : "bad", ex.channel.c_str(), ex.id.c_str());
    }
    all.push_back(std::move(ex));
  }

  std::printf("dev set %s, rules %s\n", devset.c_str(),
              (*rules)->version().c_str());
  Report("all", all);
  std::map<std::string, std::vector<Example>> by_channel;
  for (const Example& x : all) by_channel[x.channel].push_back(x);
  for (const auto& [channel, xs] : by_channel) Report(channel, xs);
  const double auc = Auc(all);
  if (min_auc >= 0 && auc < min_auc) {
    std::printf("FAIL: ROC AUC %.3f is below the floor %.3f\n", auc, min_auc);
    return 1;
  }
  return 0;
}
