#include "common/log/log.h"

#include <atomic>
#include <cstdio>
#include <string>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"

namespace rapport::log {
namespace {

struct State {
  absl::Mutex mu;
  std::string service ABSL_GUARDED_BY(mu) = "rapport";
};

State& GlobalState() {
  static State* state = new State();
  return *state;
}

std::atomic<int> g_min_level{static_cast<int>(Level::kInfo)};

absl::string_view LevelName(Level level) {
  switch (level) {
    case Level::kDebug:
      return "debug";
    case Level::kInfo:
      return "info";
    case Level::kWarn:
      return "warn";
    case Level::kError:
      return "error";
  }
  return "info";
}

// Length of the valid UTF-8 sequence starting at s[i], or 0 if invalid.
size_t Utf8SequenceLength(absl::string_view s, size_t i) {
  const auto c = static_cast<unsigned char>(s[i]);
  size_t len = 0;
  uint32_t min = 0;
  if (c < 0x80) return 1;
  if ((c & 0xE0) == 0xC0) {
    len = 2;
    min = 0x80;
  } else if ((c & 0xF0) == 0xE0) {
    len = 3;
    min = 0x800;
  } else if ((c & 0xF8) == 0xF0) {
    len = 4;
    min = 0x10000;
  } else {
    return 0;
  }
  if (i + len > s.size()) return 0;
  uint32_t cp = c & (0xFF >> (len + 1));
  for (size_t k = 1; k < len; ++k) {
    const auto cc = static_cast<unsigned char>(s[i + k]);
    if ((cc & 0xC0) != 0x80) return 0;
    cp = (cp << 6) | (cc & 0x3F);
  }
  if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) return 0;
  return len;
}

}  // namespace

absl::StatusOr<Level> ParseLevel(absl::string_view text) {
  const std::string lower = absl::AsciiStrToLower(text);
  if (lower == "debug") return Level::kDebug;
  if (lower == "info") return Level::kInfo;
  if (lower == "warn" || lower == "warning") return Level::kWarn;
  if (lower == "error") return Level::kError;
  return absl::InvalidArgumentError(absl::StrCat(
      "unknown log level \"", text, "\": use one of debug, info, warn, error"));
}

void Init(absl::string_view service, Level min_level) {
  State& state = GlobalState();
  absl::MutexLock lock(&state.mu);
  state.service = std::string(service);
  g_min_level.store(static_cast<int>(min_level), std::memory_order_relaxed);
}

void AppendJsonString(std::string& out, absl::string_view text) {
  out.push_back('"');
  for (size_t i = 0; i < text.size();) {
    const auto c = static_cast<unsigned char>(text[i]);
    if (c >= 0x80) {
      const size_t len = Utf8SequenceLength(text, i);
      if (len == 0) {
        out.append("\\ufffd");
        ++i;
      } else {
        out.append(text.data() + i, len);
        i += len;
      }
      continue;
    }
    switch (c) {
      case '"':
        out.append("\\\"");
        break;
      case '\\':
        out.append("\\\\");
        break;
      case '\n':
        out.append("\\n");
        break;
      case '\r':
        out.append("\\r");
        break;
      case '\t':
        out.append("\\t");
        break;
      default:
        if (c < 0x20) {
          absl::StrAppend(&out, "\\u00", absl::Hex(c, absl::kZeroPad2));
        } else {
          out.push_back(static_cast<char>(c));
        }
    }
    ++i;
  }
  out.push_back('"');
}

Field::Field(absl::string_view key, absl::string_view value) : key_(key) {
  AppendJsonString(json_, value);
}
Field::Field(absl::string_view key, const char* value)
    : Field(key, absl::string_view(value == nullptr ? "" : value)) {}
Field::Field(absl::string_view key, const std::string& value)
    : Field(key, absl::string_view(value)) {}
Field::Field(absl::string_view key, int value)
    : key_(key), json_(absl::StrCat(value)) {}
Field::Field(absl::string_view key, long value)
    : key_(key), json_(absl::StrCat(value)) {}
Field::Field(absl::string_view key, long long value)
    : key_(key), json_(absl::StrCat(value)) {}
Field::Field(absl::string_view key, unsigned value)
    : key_(key), json_(absl::StrCat(value)) {}
Field::Field(absl::string_view key, unsigned long value)
    : key_(key), json_(absl::StrCat(value)) {}
Field::Field(absl::string_view key, unsigned long long value)
    : key_(key), json_(absl::StrCat(value)) {}
Field::Field(absl::string_view key, double value) : key_(key) {
  // JSON has no NaN or infinity.
  json_ = (value == value && value - value == 0) ? absl::StrCat(value) : "null";
}
Field::Field(absl::string_view key, bool value)
    : key_(key), json_(value ? "true" : "false") {}

bool Enabled(Level level) {
  return static_cast<int>(level) >= g_min_level.load(std::memory_order_relaxed);
}

std::string Format(Level level, absl::string_view event,
                   std::initializer_list<Field> fields) {
  std::string line;
  line.reserve(128);
  line.append("{\"ts\":\"");
  line.append(absl::FormatTime("%Y-%m-%dT%H:%M:%E3SZ", absl::Now(),
                               absl::UTCTimeZone()));
  line.append("\",\"level\":\"");
  line.append(LevelName(level).data(), LevelName(level).size());
  line.append("\",\"service\":");
  {
    State& state = GlobalState();
    absl::MutexLock lock(&state.mu);
    AppendJsonString(line, state.service);
  }
  line.append(",\"event\":");
  AppendJsonString(line, event);
  for (const Field& field : fields) {
    line.push_back(',');
    AppendJsonString(line, field.key());
    line.push_back(':');
    line.append(field.json());
  }
  line.append("}\n");
  return line;
}

void Write(Level level, absl::string_view event,
           std::initializer_list<Field> fields) {
  if (!Enabled(level)) return;
  const std::string line = Format(level, event, fields);
  // One fwrite per line: stdio locks the stream, so lines never interleave.
  std::fwrite(line.data(), 1, line.size(), stderr);
}

}  // namespace rapport::log
