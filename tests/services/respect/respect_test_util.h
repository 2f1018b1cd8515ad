#pragma once

#include <cstdlib>
#include <memory>
#include <string>
#include <vector>

#include "services/feedback/respect/respect.h"

namespace rapport::feedback::respect::testing {

// services/feedback/respect/lexicon.textproto in the source tree.
inline std::string DefaultLexiconPath() {
  if (const char* root = std::getenv("RAPPORT_SOURCE_DIR");
      root != nullptr && *root != '\0') {
    return std::string(root) + "/services/feedback/respect/lexicon.textproto";
  }
  return RAPPORT_RESPECT_LEXICON;
}

// The default lexicon, loaded once per test binary; aborts the test run
// with the load error if it does not load.
inline std::shared_ptr<const RespectChecker> DefaultChecker() {
  static const std::shared_ptr<const RespectChecker> checker = [] {
    auto loaded = LoadLexicon(DefaultLexiconPath());
    if (!loaded.ok()) return std::shared_ptr<const RespectChecker>();
    return *std::move(loaded);
  }();
  return checker;
}

inline std::vector<std::string> Terms(
    const std::vector<v1::RespectWarning>& warnings) {
  std::vector<std::string> terms;
  terms.reserve(warnings.size());
  for (const auto& w : warnings) terms.push_back(w.term());
  return terms;
}

inline std::vector<std::string> Excerpts(
    const std::vector<v1::RespectWarning>& warnings) {
  std::vector<std::string> excerpts;
  excerpts.reserve(warnings.size());
  for (const auto& w : warnings) excerpts.push_back(w.excerpt());
  return excerpts;
}

}  // namespace rapport::feedback::respect::testing
