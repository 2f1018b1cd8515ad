#pragma once

// Tenant-scoped Redis key names: "rapport:{tenant}:part1:part2".
//
// The braces are a Redis Cluster hash tag: only "tenant" is hashed, so all of
// one tenant's keys live in one slot and multi-key commands, MULTI/EXEC and
// scripts over them work on a cluster too.
//
// Tenants are validated, never escaped: [A-Za-z0-9_-], 1 to 64 bytes. Parts
// are percent-encoded (uppercase hex) when they hold a byte that could change
// the key's structure or be read as a glob by SCAN MATCH:
//   ':' '{' '}' '%' '*' '?' '[' ']' '\\', space, control bytes, and bytes
//   >= 0x7F (so UTF-8 text is encoded byte by byte).
// The encoding is injective: distinct (tenant, parts) give distinct keys, no
// part can reach into another tenant's key space or hash slot, and ParseKey()
// recovers the inputs. Empty parts are rejected: an empty id is a caller bug
// that would otherwise name a real key.

#include <initializer_list>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/types/span.h"

namespace rapport::redis {

inline constexpr absl::string_view kKeyNamespace = "rapport";
inline constexpr size_t kMaxTenantBytes = 64;

// OK if `tenant` can be used in a key; INVALID_ARGUMENT naming the rule
// otherwise (the tenant is not echoed: it comes from configuration or an API
// key mapping, and the message may reach a client).
absl::Status ValidateTenant(absl::string_view tenant);

// "rapport:{tenant}:<escaped part1>:<escaped part2>". INVALID_ARGUMENT for a
// bad tenant or an empty part (naming its 1-based position).
absl::StatusOr<std::string> Key(absl::string_view tenant,
                                std::initializer_list<absl::string_view> parts);
absl::StatusOr<std::string> Key(absl::string_view tenant,
                                absl::Span<const absl::string_view> parts);

// A SCAN MATCH pattern for every key under the prefix Key(tenant, parts):
// "rapport:{tenant}:part1:*" (or "rapport:{tenant}:*" without parts). Glob
// characters in parts are percent-encoded by the key encoding, so they match
// literally.
absl::StatusOr<std::string> KeyPattern(
    absl::string_view tenant, std::initializer_list<absl::string_view> parts);

// The inverse of Key().
struct ParsedKey {
  std::string tenant;
  std::vector<std::string> parts;

  bool operator==(const ParsedKey&) const = default;
};
// INVALID_ARGUMENT unless `key` is exactly what Key() produces for some input
// (including canonical escapes only).
absl::StatusOr<ParsedKey> ParseKey(absl::string_view key);

// The part encoding on its own, e.g. for building a key's tail elsewhere.
std::string EscapeKeyPart(absl::string_view part);
absl::StatusOr<std::string> UnescapeKeyPart(absl::string_view escaped);

}  // namespace rapport::redis
