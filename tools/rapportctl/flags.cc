#include "tools/rapportctl/flags.h"

#include <cstdio>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"

namespace rapport::ctl {

std::vector<std::string> Args::TakeAll(absl::string_view name) {
  const std::string flag = absl::StrCat("--", name);
  const std::string flag_eq = absl::StrCat(flag, "=");
  std::vector<std::string> values;
  std::vector<std::string> kept;
  kept.reserve(args_.size());
  for (size_t i = 0; i < args_.size(); ++i) {
    const std::string& arg = args_[i];
    if (arg == flag) {
      // A following "--flag" is not taken as the value: "--topic --at X"
      // is a forgotten value, not the topic "--at".
      if (i + 1 >= args_.size() || absl::StartsWith(args_[i + 1], "--")) {
        AddError(absl::StrCat(flag, " needs a value"));
        continue;
      }
      values.push_back(args_[++i]);
    } else if (absl::StartsWith(arg, flag_eq)) {
      values.push_back(arg.substr(flag_eq.size()));
    } else {
      kept.push_back(arg);
    }
  }
  args_ = std::move(kept);
  return values;
}

std::optional<std::string> Args::Take(absl::string_view name) {
  std::vector<std::string> values = TakeAll(name);
  if (values.empty()) return std::nullopt;
  return std::move(values.back());
}

std::string Args::Flag(absl::string_view name, std::string fallback) {
  std::optional<std::string> value = Take(name);
  return value.has_value() ? *std::move(value) : std::move(fallback);
}

std::optional<bool> Args::TakeSwitch(absl::string_view name) {
  const std::string flag = absl::StrCat("--", name);
  const std::string flag_eq = absl::StrCat(flag, "=");
  std::optional<bool> result;
  std::vector<std::string> kept;
  kept.reserve(args_.size());
  for (const std::string& arg : args_) {
    if (arg == flag) {
      result = true;
    } else if (absl::StartsWith(arg, flag_eq)) {
      result = ParseBool(absl::string_view(arg).substr(flag_eq.size()));
      if (!result.has_value()) {
        AddError(absl::StrCat(flag, " takes true or false, not \"",
                              arg.substr(flag_eq.size()), "\""));
      }
    } else {
      kept.push_back(arg);
    }
  }
  args_ = std::move(kept);
  return result;
}

std::optional<bool> Args::TakeBool(absl::string_view name) {
  std::optional<std::string> value = Take(name);
  if (!value.has_value()) return std::nullopt;
  std::optional<bool> result = ParseBool(*value);
  if (!result.has_value()) {
    AddError(
        absl::StrCat("--", name, " takes true or false, not \"", *value, "\""));
  }
  return result;
}

std::optional<int> Args::TakeInt(absl::string_view name, int min, int max) {
  std::optional<std::string> value = Take(name);
  if (!value.has_value()) return std::nullopt;
  int n = 0;
  if (!absl::SimpleAtoi(*value, &n) || n < min || n > max) {
    AddError(absl::StrCat("--", name, " must be a whole number from ", min,
                          " to ", max, ", not \"", *value, "\""));
    return std::nullopt;
  }
  return n;
}

std::optional<double> Args::TakeDouble(absl::string_view name) {
  std::optional<std::string> value = Take(name);
  if (!value.has_value()) return std::nullopt;
  double x = 0;
  if (!absl::SimpleAtod(*value, &x)) {
    AddError(
        absl::StrCat("--", name, " must be a number, not \"", *value, "\""));
    return std::nullopt;
  }
  return x;
}

absl::Duration Args::TakeTimeout(absl::Duration fallback) {
  std::optional<int> ms = TakeInt("timeout-ms", 1, 24 * 3600 * 1000);
  return ms.has_value() ? absl::Milliseconds(*ms) : fallback;
}

bool Args::Finish(std::vector<std::string>* positional) {
  for (const std::string& arg : args_) {
    if (absl::StartsWith(arg, "--") && arg != "--") {
      AddError(absl::StrCat("unknown flag ", arg, " (see --help)"));
      continue;
    }
    positional->push_back(arg);
  }
  args_.clear();
  for (const std::string& e : errors_) {
    std::fprintf(stderr, "rapportctl: %s\n", e.c_str());
  }
  return errors_.empty();
}

std::optional<bool> ParseBool(absl::string_view text) {
  const std::string t = absl::AsciiStrToLower(absl::StripAsciiWhitespace(text));
  if (t == "true" || t == "yes" || t == "y" || t == "1") return true;
  if (t == "false" || t == "no" || t == "n" || t == "0") return false;
  return std::nullopt;
}

}  // namespace rapport::ctl
