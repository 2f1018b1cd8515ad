// scoring_devset_eval: how well `score` separates the outreach messages that
// public sources judged good from those they judged bad
// (tests/data/outreach_devset.jsonl, cited in tests/data/README.md).
//
//   scoring_devset_eval [--devset FILE] [--rules FILE] [--min-auc X]
//                       [--domain D] [--verbose] [--half tuning|heldout|all]
//                       [--explain ID] [--dimensions]
//
// The set is split deterministically into two halves by the low bit of the
// FNV-1a 64-bit hash of each message id: even hashes are the TUNING half,
// odd ones the HELD-OUT half. Rules and weights may be tuned while looking at
// the tuning half only (--verbose lists its messages by default); the
// held-out half is the honest figure and the headline.
//
// Prints ROC AUC (the probability that a good message outscores a bad one;
// ties count half) and accuracy for the tuning half, the held-out half and
// the whole set, then per channel for the whole set. Accuracy is given at
// 50, and at the threshold that best splits the TUNING half; that threshold
// is then applied unchanged to the held-out half (choosing it on the held-out
// half would flatter it). With --min-auc it exits 1 when the held-out AUC is
// below X: CTest runs it so that a rules change that makes Rapport worse at
// telling good outreach from bad fails the build.

#include <google/protobuf/struct.pb.h>
#include <google/protobuf/util/json_util.h>

#include <algorithm>
#include <cstdint>
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
  std::string domain;
  bool good = false;
  bool heldout = false;
  double score = 0;
  std::string findings;   // rule ids, for --verbose
  std::string explained;  // findings with excerpts, for --explain
  std::map<std::string, double> dimensions;  // title -> score
};

std::string Str(const Struct& s, const std::string& key) {
  auto it = s.fields().find(key);
  if (it == s.fields().end() || !it->second.has_string_value()) return "";
  return it->second.string_value();
}

// FNV-1a, 64 bits: the split must not change between runs or machines.
uint64_t Fnv1a(const std::string& s) {
  uint64_t h = 14695981039346656037ULL;
  for (const char c : s) {
    h ^= static_cast<unsigned char>(c);
    h *= 1099511628211ULL;
  }
  return h;
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

// The integer threshold with the best accuracy (the lowest on ties).
double BestThreshold(const std::vector<Example>& xs) {
  double best_t = 50;
  double best_acc = -1;
  for (int t = 0; t <= 100; ++t) {
    const double acc = Accuracy(xs, t);
    if (acc > best_acc) {
      best_acc = acc;
      best_t = t;
    }
  }
  return best_t;
}

void Report(const std::string& name, const std::vector<Example>& xs,
            double threshold) {
  int good = 0;
  for (const Example& x : xs) good += x.good;
  std::printf(
      "%-12s n=%-3zu good=%-3d bad=%-3zu  ROC AUC %.3f  accuracy@50 %.3f  "
      "accuracy@%.0f %.3f\n",
      name.c_str(), xs.size(), good, xs.size() - good, Auc(xs),
      Accuracy(xs, 50), threshold, Accuracy(xs, threshold));
}

}  // namespace

int main(int argc, char** argv) {
  std::string devset = RAPPORT_DEVSET;
  std::string rules_path = RAPPORT_RULES_FILE;
  std::string domain;
  std::string half = "tuning";  // what --verbose lists
  double min_auc = -1;
  bool verbose = false;
  std::string explain;  // a message id whose findings to print
  bool dimensions = false;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    auto value = [&]() -> std::string { return i + 1 < argc ? argv[++i] : ""; };
    if (a == "--devset") {
      devset = value();
    } else if (a == "--rules") {
      rules_path = value();
    } else if (a == "--domain") {
      domain = value();
    } else if (a == "--half") {
      half = value();
      if (half != "tuning" && half != "heldout" && half != "all") {
        std::fprintf(stderr, "--half is tuning, heldout or all\n");
        return 2;
      }
    } else if (a == "--min-auc") {
      if (!absl::SimpleAtod(value(), &min_auc)) {
        std::fprintf(stderr, "--min-auc needs a number\n");
        return 2;
      }
    } else if (a == "--verbose") {
      verbose = true;
    } else if (a == "--explain") {
      explain = value();
    } else if (a == "--dimensions") {
      dimensions = true;
    } else {
      std::fprintf(stderr,
                   "usage: scoring_devset_eval [--devset FILE] [--rules FILE] "
                   "[--domain D] [--min-auc X] [--verbose] "
                   "[--half tuning|heldout|all] [--explain ID] "
                   "[--dimensions]\n");
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
    ex.domain = Str(row, "domain");
    ex.good = Str(row, "label") == "good";
    ex.heldout = (Fnv1a(ex.id) & 1U) != 0;

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
    const rapport::scoring::v1::ScoreReport report =
        rapport::scoring::engine::Score(input, **rules, weights);
    ex.score = report.score();
    for (const auto& d : report.dimensions()) {
      ex.dimensions[rapport::scoring::v1::Dimension_Name(d.dimension())] =
          d.score();
    }
    for (const auto& f : report.findings()) {
      if (!ex.findings.empty()) ex.findings += ' ';
      ex.findings += f.rule_id();
      if (ex.id == explain) {
        absl::StrAppend(&ex.explained, "  ", f.rule_id(), " -", f.impact(),
                        " '", f.excerpt(), "'\n");
      }
    }
    if (ex.id == explain) {
      std::printf("%s (%s, %s) score %.2f\n%s", ex.id.c_str(),
                  ex.good ? "good" : "bad", ex.heldout ? "held-out" : "tuning",
                  ex.score, ex.explained.c_str());
    }
    all.push_back(std::move(ex));
  }

  std::vector<Example> tuning;
  std::vector<Example> heldout;
  for (const Example& x : all) (x.heldout ? heldout : tuning).push_back(x);
  if (verbose) {
    for (const Example& x : all) {
      if ((half == "tuning" && x.heldout) ||
          (half == "heldout" && !x.heldout)) {
        continue;
      }
      std::printf("%5.1f  %-4s  %-8s %-11s %-15s %-40s %s\n", x.score,
                  x.good ? "good" : "bad", x.heldout ? "heldout" : "tuning",
                  x.channel.c_str(), x.domain.c_str(), x.id.c_str(),
                  x.findings.c_str());
    }
  }

  if (dimensions) {
    // ROC AUC of each dimension's score alone, on the --half listed.
    std::vector<Example> listed;
    for (const Example& x : all) {
      if ((half == "tuning" && x.heldout) ||
          (half == "heldout" && !x.heldout)) {
        continue;
      }
      listed.push_back(x);
    }
    if (!listed.empty()) {
      for (const auto& [name, unused] : listed.front().dimensions) {
        std::vector<Example> xs = listed;
        for (Example& x : xs) x.score = x.dimensions[name];
        std::printf("dimension %-24s ROC AUC %.3f (%s half)\n", name.c_str(),
                    Auc(xs), half.c_str());
      }
    }
  }

  // The accuracy threshold is chosen on the tuning half only.
  const double threshold = BestThreshold(tuning);
  std::printf("dev set %s, rules %s\n", devset.c_str(),
              (*rules)->version().c_str());
  std::printf(
      "split: FNV-1a(id) even = tuning, odd = held-out; accuracy threshold "
      "%.0f chosen on the tuning half\n",
      threshold);
  Report("heldout", heldout, threshold);
  Report("tuning", tuning, threshold);
  Report("all", all, threshold);
  std::map<std::string, std::vector<Example>> by_channel;
  for (const Example& x : all) by_channel[x.channel].push_back(x);
  for (const auto& [channel, xs] : by_channel) {
    Report("all/" + channel, xs, threshold);
  }
  const double auc = Auc(heldout);
  if (min_auc >= 0 && auc < min_auc) {
    std::printf("FAIL: held-out ROC AUC %.3f is below the floor %.3f\n", auc,
                min_auc);
    return 1;
  }
  return 0;
}
