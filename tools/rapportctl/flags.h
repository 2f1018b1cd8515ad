#pragma once

// Flags of one rapportctl subcommand. The connection settings (TLS,
// --api-key, --profile-addr, ...) are taken out of argv by
// rapport::config::LoadOrDie first; what is left reaches a subcommand as
// Args, which takes its own flags out one by one ("--name value" or
// "--name=value") and finally checks that nothing unknown is left.
//
// Usage errors are collected rather than printed where they happen, so a
// command reports them all at once and exits 2.

#include <optional>
#include <string>
#include <vector>

#include "absl/strings/string_view.h"
#include "absl/time/time.h"

namespace rapport::ctl {

class Args {
 public:
  explicit Args(std::vector<std::string> args) : args_(std::move(args)) {}

  // Takes "--name value" or "--name=value"; the last occurrence wins and all
  // are removed. nullopt when absent; "--name" without a value is an error.
  std::optional<std::string> Take(absl::string_view name);

  // Take() with a fallback.
  std::string Flag(absl::string_view name, std::string fallback = "");

  // Every occurrence of a repeatable flag, in order.
  std::vector<std::string> TakeAll(absl::string_view name);

  // A switch: "--name" is true, "--name=true|false|yes|no|1|0" sets it
  // explicitly. nullopt when absent.
  std::optional<bool> TakeSwitch(absl::string_view name);

  // A switch that defaults to false.
  bool Switch(absl::string_view name) {
    return TakeSwitch(name).value_or(false);
  }

  // "--name true|false" (the value is required).
  std::optional<bool> TakeBool(absl::string_view name);

  // "--name N" with min <= N <= max.
  std::optional<int> TakeInt(absl::string_view name, int min, int max);

  // "--name X" as a floating-point number.
  std::optional<double> TakeDouble(absl::string_view name);

  // "--timeout-ms N" as a duration, `fallback` when absent.
  absl::Duration TakeTimeout(absl::Duration fallback);

  // Records a usage error found by the command itself.
  void AddError(std::string message) { errors_.push_back(std::move(message)); }

  // The positional arguments left. Fails (after printing every usage error
  // to stderr) when an unknown flag is left or an error was recorded.
  bool Finish(std::vector<std::string>* positional);

  const std::vector<std::string>& errors() const { return errors_; }

 private:
  std::vector<std::string> args_;
  std::vector<std::string> errors_;
};

// A copy of `s`. Debian's Abseil has its own string_view (not
// std::string_view), which converts to std::string only explicitly.
inline std::string Str(absl::string_view s) { return {s.data(), s.size()}; }

// Parses a boolean as written in flags and CSV exports: true/false, yes/no,
// y/n, 1/0, case-insensitive, surrounding spaces ignored.
std::optional<bool> ParseBool(absl::string_view text);

}  // namespace rapport::ctl
