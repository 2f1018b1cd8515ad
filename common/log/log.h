#pragma once

// Structured logging: one JSON object per line on stderr, e.g.
//   {"ts":"2026-11-22T10:49:28.123Z","level":"info","service":"profile-service",
//    "event":"server_started","grpc_addr":"127.0.0.1:50051"}
//
// Events are stable snake_case names and fields carry ids, counts, codes and
// durations only: never names, emails or message text (personal data stays
// out of logs by construction, since callers choose every field).

#include <cstdint>
#include <initializer_list>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace rapport::log {

enum class Level { kDebug = 0, kInfo = 1, kWarn = 2, kError = 3 };

// Parses "debug", "info", "warn"/"warning", "error" (case-insensitive).
absl::StatusOr<Level> ParseLevel(absl::string_view text);

// Sets the service name stamped on every line and the minimum level printed.
// Call once at start-up; safe to call again (tests do).
void Init(absl::string_view service, Level min_level);

// One key/value of a log line. Numbers and booleans are written bare, strings
// JSON-escaped.
class Field {
 public:
  Field(absl::string_view key, absl::string_view value);
  Field(absl::string_view key, const char* value);
  Field(absl::string_view key, const std::string& value);
  Field(absl::string_view key, int value);
  Field(absl::string_view key, long value);
  Field(absl::string_view key, long long value);
  Field(absl::string_view key, unsigned value);
  Field(absl::string_view key, unsigned long value);
  Field(absl::string_view key, unsigned long long value);
  Field(absl::string_view key, double value);
  Field(absl::string_view key, bool value);

  absl::string_view key() const { return key_; }
  // The value already encoded as JSON.
  const std::string& json() const { return json_; }

 private:
  absl::string_view key_;
  std::string json_;
};

bool Enabled(Level level);
void Write(Level level, absl::string_view event,
           std::initializer_list<Field> fields = {});

// Formats one line without writing it (exposed for tests).
std::string Format(Level level, absl::string_view event,
                   std::initializer_list<Field> fields);

inline void Debug(absl::string_view event,
                  std::initializer_list<Field> f = {}) {
  Write(Level::kDebug, event, f);
}
inline void Info(absl::string_view event, std::initializer_list<Field> f = {}) {
  Write(Level::kInfo, event, f);
}
inline void Warn(absl::string_view event, std::initializer_list<Field> f = {}) {
  Write(Level::kWarn, event, f);
}
inline void Error(absl::string_view event,
                  std::initializer_list<Field> f = {}) {
  Write(Level::kError, event, f);
}

// Appends `text` to `out` as a JSON string literal (with quotes). Invalid
// UTF-8 bytes are replaced by U+FFFD so every line stays valid JSON.
void AppendJsonString(std::string& out, absl::string_view text);

}  // namespace rapport::log
