#include "services/profile/model/text.h"

#include <unicode/locid.h>
#include <unicode/normalizer2.h>
#include <unicode/uchar.h>
#include <unicode/unistr.h>
#include <unicode/utypes.h>

#include <array>
#include <cstddef>
#include <cstdint>
#include <string>

#include "absl/strings/ascii.h"
#include "absl/strings/string_view.h"

namespace rapport::profile::model {
namespace {

bool IsContinuation(unsigned char byte) { return (byte & 0xC0) == 0x80; }

bool IsAsciiAlnum(unsigned char byte) {
  return (byte >= '0' && byte <= '9') || (byte >= 'a' && byte <= 'z') ||
         (byte >= 'A' && byte <= 'Z');
}

bool IsAscii(absl::string_view text) {
  for (const char c : text) {
    if (static_cast<unsigned char>(c) >= 0x80) return false;
  }
  return true;
}

// Cuts a normalised topic to `max_bytes`, preferring the last space in the
// second half of the kept prefix, and drops a trailing space.
std::string CutTopic(std::string topic, size_t max_bytes) {
  if (topic.size() <= max_bytes) return topic;
  absl::string_view kept = TruncateUtf8(topic, max_bytes);
  if (const size_t space = kept.rfind(' ');
      space != absl::string_view::npos && space >= max_bytes / 2) {
    kept = kept.substr(0, space);
  }
  topic.resize(kept.size());
  while (!topic.empty() && topic.back() == ' ') topic.pop_back();
  return topic;
}

std::string NormalizeAscii(absl::string_view text) {
  std::string out;
  out.reserve(text.size());
  bool pending_space = false;
  for (const char c : text) {
    if (absl::ascii_isspace(static_cast<unsigned char>(c))) {
      pending_space = !out.empty();
      continue;
    }
    if (pending_space) out.push_back(' ');
    pending_space = false;
    out.push_back(absl::ascii_tolower(static_cast<unsigned char>(c)));
  }
  return out;
}

std::string NormalizeUnicode(absl::string_view text) {
  icu::UnicodeString source = icu::UnicodeString::fromUTF8(
      icu::StringPiece(text.data(), static_cast<int32_t>(text.size())));
  UErrorCode status = U_ZERO_ERROR;
  const icu::Normalizer2* nfc = icu::Normalizer2::getNFCInstance(status);
  icu::UnicodeString composed;
  if (U_SUCCESS(status)) {
    composed = nfc->normalize(source, status);
  }
  if (U_FAILURE(status)) composed = source;
  composed.toLower(icu::Locale::getRoot());

  icu::UnicodeString folded;
  bool pending_space = false;
  for (int32_t i = 0; i < composed.length();) {
    const UChar32 c = composed.char32At(i);
    i += U16_LENGTH(c);
    if (u_isUWhiteSpace(c) != 0) {
      pending_space = !folded.isEmpty();
      continue;
    }
    if (pending_space) folded.append(static_cast<UChar>(' '));
    pending_space = false;
    folded.append(c);
  }
  std::string out;
  folded.toUTF8String(out);
  return out;
}

}  // namespace

bool IsValidUtf8(absl::string_view text) {
  const auto* p = reinterpret_cast<const unsigned char*>(text.data());
  const auto* const end = p + text.size();
  while (p < end) {
    const unsigned char lead = *p;
    if (lead < 0x80) {
      ++p;
      continue;
    }
    size_t length = 0;
    unsigned char min_second = 0x80;
    unsigned char max_second = 0xBF;
    if (lead >= 0xC2 && lead <= 0xDF) {
      length = 2;
    } else if (lead >= 0xE0 && lead <= 0xEF) {
      length = 3;
      if (lead == 0xE0) min_second = 0xA0;  // overlong
      if (lead == 0xED) max_second = 0x9F;  // surrogates
    } else if (lead >= 0xF0 && lead <= 0xF4) {
      length = 4;
      if (lead == 0xF0) min_second = 0x90;  // overlong
      if (lead == 0xF4) max_second = 0x8F;  // above U+10FFFF
    } else {
      return false;  // continuation byte, C0/C1 overlong lead, or F5..FF
    }
    if (static_cast<size_t>(end - p) < length) return false;
    if (p[1] < min_second || p[1] > max_second) return false;
    for (size_t k = 2; k < length; ++k) {
      if (!IsContinuation(p[k])) return false;
    }
    p += length;
  }
  return true;
}

absl::string_view TruncateUtf8(absl::string_view text, size_t max_bytes) {
  if (text.size() <= max_bytes) return text;
  size_t cut = max_bytes;
  while (cut > 0 && IsContinuation(static_cast<unsigned char>(text[cut]))) {
    --cut;
  }
  return text.substr(0, cut);
}

std::string NormalizeTopic(absl::string_view text, size_t max_bytes) {
  return CutTopic(IsAscii(text) ? NormalizeAscii(text) : NormalizeUnicode(text),
                  max_bytes);
}

bool IsNormalizedAsciiTopic(absl::string_view text) {
  // Bytes a normalised ASCII topic may hold: printable ASCII but upper case.
  static constexpr auto kAllowed = [] {
    std::array<bool, 256> allowed{};
    for (int c = 0x20; c < 0x7F; ++c) allowed[c] = !(c >= 'A' && c <= 'Z');
    return allowed;
  }();
  if (text.empty() || text.size() > kMaxTopicBytes) return false;
  if (text.front() == ' ' || text.back() == ' ') return false;
  char previous = '\0';
  for (const char c : text) {
    if (!kAllowed[static_cast<unsigned char>(c)] ||
        (c == ' ' && previous == ' ')) {
      return false;
    }
    previous = c;
  }
  return true;
}

bool ContainsPhrase(absl::string_view text, absl::string_view phrase) {
  if (phrase.empty()) return false;
  for (size_t pos = text.find(phrase); pos != absl::string_view::npos;
       pos = text.find(phrase, pos + 1)) {
    const size_t after = pos + phrase.size();
    const bool left_ok =
        pos == 0 || !IsAsciiAlnum(static_cast<unsigned char>(text[pos - 1]));
    const bool right_ok =
        after == text.size() ||
        !IsAsciiAlnum(static_cast<unsigned char>(text[after]));
    if (left_ok && right_ok) return true;
  }
  return false;
}

}  // namespace rapport::profile::model
