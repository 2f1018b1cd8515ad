#include "common/redis/keys.h"

#include <string>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"

namespace rapport::redis {
namespace {

constexpr char kHex[] = "0123456789ABCDEF";

bool NeedsEscape(unsigned char c) {
  if (c <= 0x20 || c >= 0x7F) return true;
  switch (c) {
    case ':':
    case '{':
    case '}':
    case '%':
    case '*':
    case '?':
    case '[':
    case ']':
    case '\\':
      return true;
    default:
      return false;
  }
}

int HexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;  // Lowercase hex is not canonical, so not accepted.
}

void AppendEscaped(std::string* out, absl::string_view part) {
  for (const char ch : part) {
    const auto c = static_cast<unsigned char>(ch);
    if (NeedsEscape(c)) {
      const char escaped[3] = {'%', kHex[c >> 4], kHex[c & 0xF]};
      out->append(escaped, 3);
    } else {
      out->push_back(ch);
    }
  }
}

// "rapport:{tenant}"
size_t PrefixSize(absl::string_view tenant) {
  return kKeyNamespace.size() + tenant.size() + 3;
}

}  // namespace

absl::Status ValidateTenant(absl::string_view tenant) {
  if (tenant.empty()) return absl::InvalidArgumentError("tenant is empty");
  if (tenant.size() > kMaxTenantBytes) {
    return absl::InvalidArgumentError(
        absl::StrCat("tenant is longer than ", kMaxTenantBytes, " bytes"));
  }
  for (const char c : tenant) {
    if (!absl::ascii_isalnum(c) && c != '_' && c != '-') {
      return absl::InvalidArgumentError(
          "tenant may only contain A-Z, a-z, 0-9, '_' and '-'");
    }
  }
  return absl::OkStatus();
}

std::string EscapeKeyPart(absl::string_view part) {
  std::string out;
  out.reserve(part.size());
  AppendEscaped(&out, part);
  return out;
}

absl::StatusOr<std::string> UnescapeKeyPart(absl::string_view escaped) {
  std::string out;
  out.reserve(escaped.size());
  for (size_t i = 0; i < escaped.size(); ++i) {
    const auto c = static_cast<unsigned char>(escaped[i]);
    if (c != '%') {
      if (NeedsEscape(c)) {
        return absl::InvalidArgumentError(
            "key part holds a byte that must be percent-encoded");
      }
      out.push_back(escaped[i]);
      continue;
    }
    const int hi = i + 2 < escaped.size() ? HexValue(escaped[i + 1]) : -1;
    const int lo = hi >= 0 ? HexValue(escaped[i + 2]) : -1;
    if (lo < 0) {
      return absl::InvalidArgumentError(
          "key part has a '%' not followed by two uppercase hex digits");
    }
    const auto decoded = static_cast<unsigned char>(hi * 16 + lo);
    if (!NeedsEscape(decoded)) {
      return absl::InvalidArgumentError(
          "key part percent-encodes a byte that is never encoded");
    }
    out.push_back(static_cast<char>(decoded));
    i += 2;
  }
  return out;
}

absl::StatusOr<std::string> Key(
    absl::string_view tenant, std::initializer_list<absl::string_view> parts) {
  return Key(tenant, absl::MakeConstSpan(parts.begin(), parts.size()));
}

absl::StatusOr<std::string> Key(absl::string_view tenant,
                                absl::Span<const absl::string_view> parts) {
  if (absl::Status s = ValidateTenant(tenant); !s.ok()) return s;
  size_t size = PrefixSize(tenant);
  for (size_t i = 0; i < parts.size(); ++i) {
    if (parts[i].empty()) {
      return absl::InvalidArgumentError(
          absl::StrCat("key part ", i + 1, " is empty"));
    }
    size += 1 + parts[i].size();
  }
  std::string key;
  key.reserve(size);
  absl::StrAppend(&key, kKeyNamespace, ":{", tenant, "}");
  for (const absl::string_view part : parts) {
    key.push_back(':');
    AppendEscaped(&key, part);
  }
  return key;
}

absl::StatusOr<std::string> KeyPattern(
    absl::string_view tenant, std::initializer_list<absl::string_view> parts) {
  absl::StatusOr<std::string> key = Key(tenant, parts);
  if (!key.ok()) return key.status();
  // Every glob metacharacter (* ? [ ] \) in a part was percent-encoded, and
  // the namespace and validated tenant hold none, so the prefix is literal.
  key->append(":*");
  return key;
}

absl::StatusOr<ParsedKey> ParseKey(absl::string_view key) {
  const std::string prefix = absl::StrCat(kKeyNamespace, ":{");
  if (key.substr(0, prefix.size()) != prefix) {
    return absl::InvalidArgumentError(
        absl::StrCat("key does not start with \"", prefix, "\""));
  }
  key.remove_prefix(prefix.size());
  const size_t close = key.find('}');
  if (close == absl::string_view::npos) {
    return absl::InvalidArgumentError("key has no closing '}' after tenant");
  }
  ParsedKey parsed;
  parsed.tenant.assign(key.data(), close);
  if (absl::Status s = ValidateTenant(parsed.tenant); !s.ok()) return s;
  key.remove_prefix(close + 1);
  if (key.empty()) return parsed;
  if (key.front() != ':') {
    return absl::InvalidArgumentError("key has no ':' after its tenant");
  }
  key.remove_prefix(1);
  for (const absl::string_view escaped : absl::StrSplit(key, ':')) {
    if (escaped.empty()) {
      return absl::InvalidArgumentError("key has an empty part");
    }
    absl::StatusOr<std::string> part = UnescapeKeyPart(escaped);
    if (!part.ok()) return part.status();
    parsed.parts.push_back(*std::move(part));
  }
  return parsed;
}

}  // namespace rapport::redis
