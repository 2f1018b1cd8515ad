#include "common/redis/keys.h"

#include <cstdint>
#include <random>
#include <string>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace rapport::redis {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

std::string MustKey(absl::string_view tenant,
                    std::initializer_list<absl::string_view> parts) {
  absl::StatusOr<std::string> key = Key(tenant, parts);
  EXPECT_TRUE(key.ok()) << key.status();
  return key.ok() ? *key : "";
}

// Redis Cluster's rule: if the key has a '{' followed later by a '}' with at
// least one byte between, only that substring is hashed.
absl::string_view HashTag(absl::string_view key) {
  const size_t open = key.find('{');
  if (open == absl::string_view::npos) return key;
  const size_t close = key.find('}', open + 1);
  if (close == absl::string_view::npos || close == open + 1) return key;
  return key.substr(open + 1, close - open - 1);
}

TEST(KeysTest, BuildsTenantScopedKeyWithHashTag) {
  EXPECT_EQ(MustKey("acme", {"contact", "c-42"}),
            "rapport:{acme}:contact:c-42");
  EXPECT_EQ(MustKey("acme", {}), "rapport:{acme}");
  EXPECT_EQ(HashTag(MustKey("acme", {"contact", "c-42"})), "acme");
}

TEST(KeysTest, SpanOverloadMatchesInitializerList) {
  const std::vector<absl::string_view> parts = {"profile", "x:y"};
  EXPECT_EQ(*Key("t1", absl::MakeConstSpan(parts)),
            MustKey("t1", {"profile", "x:y"}));
}

TEST(KeysTest, AcceptsValidTenants) {
  EXPECT_TRUE(ValidateTenant("acme").ok());
  EXPECT_TRUE(ValidateTenant("Acme_Corp-2").ok());
  EXPECT_TRUE(ValidateTenant(std::string(kMaxTenantBytes, 'a')).ok());
}

TEST(KeysTest, RejectsInvalidTenantsWithoutEchoingThem) {
  for (const std::string& tenant :
       {std::string(""), std::string(kMaxTenantBytes + 1, 'a'),
        std::string("ac me"), std::string("ac:me"), std::string("ac{me"),
        std::string("ac}me"), std::string("ac*me"), std::string("acmé"),
        std::string("ac\0me", 5), std::string("ac/me")}) {
    const absl::Status s = ValidateTenant(tenant);
    EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument) << tenant;
    EXPECT_EQ(Key(tenant, {"x"}).status().code(),
              absl::StatusCode::kInvalidArgument);
    if (tenant.size() > 3) {
      EXPECT_THAT(s.message(), Not(HasSubstr(tenant)));
    }
  }
}

TEST(KeysTest, RejectsEmptyPartsNamingThePosition) {
  const absl::StatusOr<std::string> key = Key("acme", {"contact", ""});
  EXPECT_EQ(key.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(key.status().message(), HasSubstr("part 2 is empty"));
}

TEST(KeysTest, PercentEncodesStructuralGlobAndNonPrintableBytes) {
  EXPECT_EQ(MustKey("t", {"a:b"}), "rapport:{t}:a%3Ab");
  EXPECT_EQ(MustKey("t", {"{x}"}), "rapport:{t}:%7Bx%7D");
  EXPECT_EQ(MustKey("t", {"100%"}), "rapport:{t}:100%25");
  EXPECT_EQ(MustKey("t", {"a*b?[c]\\"}), "rapport:{t}:a%2Ab%3F%5Bc%5D%5C");
  EXPECT_EQ(MustKey("t", {"a b"}), "rapport:{t}:a%20b");
  EXPECT_EQ(MustKey("t", {std::string("a\0b\n", 4)}), "rapport:{t}:a%00b%0A");
  EXPECT_EQ(MustKey("t", {"é"}), "rapport:{t}:%C3%A9");
  EXPECT_EQ(MustKey("t", {"\x7F"}), "rapport:{t}:%7F");
  // Ordinary ids and emails stay readable.
  EXPECT_EQ(MustKey("t", {"jane.doe+x@example.com"}),
            "rapport:{t}:jane.doe+x@example.com");
}

TEST(KeysTest, PartsCannotBreakOutOfTheirTenant) {
  for (absl::string_view evil :
       {"}:x", "x}{other", "{other}", ":{other}:contact", "}", "{"}) {
    const std::string key = MustKey("acme", {"contact", evil});
    EXPECT_EQ(HashTag(key), "acme") << key;
    const absl::StatusOr<ParsedKey> parsed = ParseKey(key);
    ASSERT_TRUE(parsed.ok()) << parsed.status();
    EXPECT_EQ(parsed->tenant, "acme");
    ASSERT_EQ(parsed->parts.size(), 2u);
    EXPECT_EQ(parsed->parts[1], std::string(evil));
  }
}

TEST(KeysTest, DistinctInputsGiveDistinctKeys) {
  EXPECT_NE(MustKey("t", {"a:b"}), MustKey("t", {"a", "b"}));
  EXPECT_NE(MustKey("t", {"a%3Ab"}), MustKey("t", {"a:b"}));
  EXPECT_NE(MustKey("t", {"A"}), MustKey("t", {"%41"}));
  // A tenant cannot smuggle a part in: it is validated, not escaped.
  EXPECT_FALSE(Key("t:x", {}).ok());
}

TEST(KeysTest, RandomInputsRoundTripAndNeverCollide) {
  // Bytes biased toward the ones that matter to the encoding.
  static constexpr char kAlphabet[] = ":{}%*?[]\\ az09AZ-_.\0\x7F\xFF\xC3";
  const std::string alphabet(kAlphabet, sizeof(kAlphabet) - 1);
  std::mt19937 rng(20261122);
  std::uniform_int_distribution<int> nparts(0, 4);
  std::uniform_int_distribution<int> len(1, 6);
  std::uniform_int_distribution<int> pick(
      0, static_cast<int>(alphabet.size()) - 1);
  std::uniform_int_distribution<int> byte(0, 255);
  const std::vector<std::string> tenants = {"a", "ab", "a-b", "A", "a_b"};
  std::uniform_int_distribution<int> tenant_pick(0, 4);

  absl::flat_hash_map<std::string, ParsedKey> seen;
  for (int i = 0; i < 20000; ++i) {
    ParsedKey input;
    input.tenant = tenants[tenant_pick(rng)];
    const int n = nparts(rng);
    for (int p = 0; p < n; ++p) {
      std::string part;
      const int l = len(rng);
      for (int k = 0; k < l; ++k) {
        part.push_back(i % 7 == 0 ? static_cast<char>(byte(rng))
                                  : alphabet[pick(rng)]);
      }
      input.parts.push_back(part);
    }
    const std::vector<absl::string_view> views(input.parts.begin(),
                                               input.parts.end());
    const absl::StatusOr<std::string> key =
        Key(input.tenant, absl::MakeConstSpan(views));
    ASSERT_TRUE(key.ok()) << key.status();
    EXPECT_EQ(HashTag(*key), input.tenant);

    const absl::StatusOr<ParsedKey> back = ParseKey(*key);
    ASSERT_TRUE(back.ok()) << back.status() << " for " << *key;
    EXPECT_EQ(*back, input);

    auto [it, inserted] = seen.try_emplace(*key, input);
    if (!inserted) {
      EXPECT_EQ(it->second, input) << "two inputs map to " << *key;
    }
  }
}

TEST(KeysTest, ParseKeyRejectsWhatKeyNeverProduces) {
  for (absl::string_view bad :
       {"other:{t}:x", "rapport:t:x", "rapport:{t", "rapport:{}:x",
        "rapport:{t}x", "rapport:{t}:", "rapport:{t}:a::b", "rapport:{t}:a%3a",
        "rapport:{t}:%41", "rapport:{t}:a%3", "rapport:{t}:a b",
        "rapport:{t}:a{b"}) {
    EXPECT_EQ(ParseKey(bad).status().code(), absl::StatusCode::kInvalidArgument)
        << bad;
  }
}

TEST(KeysTest, KeyPatternMatchesThePrefixLiterally) {
  EXPECT_EQ(*KeyPattern("acme", {"contact"}), "rapport:{acme}:contact:*");
  EXPECT_EQ(*KeyPattern("acme", {}), "rapport:{acme}:*");
  const std::string pattern = *KeyPattern("acme", {"c*", "[x]?"});
  EXPECT_EQ(pattern, "rapport:{acme}:c%2A:%5Bx%5D%3F:*");
  // The only glob metacharacter left is the trailing '*'.
  EXPECT_EQ(pattern.find_first_of("*?[]\\"), pattern.size() - 1);
  EXPECT_EQ(KeyPattern("", {"x"}).status().code(),
            absl::StatusCode::kInvalidArgument);
}

TEST(KeysTest, EscapeAndUnescapeArePublicInverses) {
  const std::string raw("k:{v}%\x01", 7);
  const std::string escaped = EscapeKeyPart(raw);
  EXPECT_EQ(escaped, "k%3A%7Bv%7D%25%01");
  EXPECT_EQ(*UnescapeKeyPart(escaped), raw);
}

}  // namespace
}  // namespace rapport::redis
