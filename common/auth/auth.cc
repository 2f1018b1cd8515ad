#include "common/auth/auth.h"

#include <google/protobuf/struct.pb.h>
#include <google/protobuf/util/json_util.h>
#include <openssl/evp.h>
#include <openssl/rand.h>

#include <cerrno>
#include <cstdio>
#include <iterator>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <system_error>
#include <utility>

#include "absl/algorithm/container.h"
#include "absl/container/flat_hash_map.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/ascii.h"
#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_replace.h"
#include "common/log/log.h"

namespace rapport::auth {
namespace {

constexpr char kKeysFileSetting[] = "RAPPORT_API_KEYS_FILE";
// Thousands of keys are a few hundred KB; the cap keeps a wrong path such as
// /dev/zero from reading forever.
constexpr size_t kMaxKeysFileBytes = 16 << 20;
constexpr size_t kMaxLabelBytes = 128;
constexpr size_t kSha256Bytes = 32;

constexpr char kMissingKey[] =
    "missing 'authorization: Bearer <api key>' metadata";
constexpr char kMalformedKey[] =
    "malformed 'authorization' metadata: expected 'Bearer <api key>'";
constexpr char kUnknownKey[] = "unknown API key";

// Raw SHA-256 digest; empty only if OpenSSL fails, which then matches no key.
std::string Sha256Raw(std::string_view data) {
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int size = 0;
  if (EVP_Digest(data.data(), data.size(), digest, &size, EVP_sha256(),
                 nullptr) != 1) {
    return {};
  }
  return std::string(reinterpret_cast<const char*>(digest), size);
}

// Reads the keys file; errors name the setting, the path and errno's text.
absl::StatusOr<std::string> ReadKeysFile(const std::string& path) {
  auto cannot_read = [&](int err) {
    return absl::InvalidArgumentError(
        absl::StrCat(kKeysFileSetting, ": cannot read ", path, ": ",
                     std::generic_category().message(err)));
  };
  std::unique_ptr<std::FILE, int (*)(std::FILE*)> file(
      std::fopen(path.c_str(), "rb"), &std::fclose);
  if (file == nullptr) return cannot_read(errno);
  std::string data;
  char buffer[16384];
  while (true) {
    size_t n = std::fread(buffer, 1, sizeof(buffer), file.get());
    data.append(buffer, n);
    if (data.size() > kMaxKeysFileBytes) {
      return absl::InvalidArgumentError(
          absl::StrCat(kKeysFileSetting, ": ", path, ": larger than 16 MiB"));
    }
    if (n < sizeof(buffer)) {
      // EISDIR and friends show up here, not at fopen.
      if (std::ferror(file.get()) != 0) return cannot_read(errno);
      break;
    }
  }
  return data;
}

// Builds "RAPPORT_API_KEYS_FILE: <source>: <problem>".
class KeysFileErrors {
 public:
  explicit KeysFileErrors(std::string_view source)
      : source_(source.data(), source.size()) {}

  absl::Status Error(absl::string_view problem) const {
    return absl::InvalidArgumentError(
        absl::StrCat(kKeysFileSetting, ": ", source_, ": ", problem));
  }

 private:
  absl::string_view source_;
};

// Reads an optional string field of an entry; nullopt when absent.
absl::StatusOr<std::optional<std::string>> StringField(
    const google::protobuf::Struct& entry, const std::string& field,
    const std::string& where, const KeysFileErrors& errors) {
  auto it = entry.fields().find(field);
  if (it == entry.fields().end()) return std::nullopt;
  if (it->second.kind_case() != google::protobuf::Value::kStringValue) {
    return errors.Error(absl::StrCat(where, ".", field, " must be a string"));
  }
  return it->second.string_value();
}

absl::Status ParseEntry(const google::protobuf::Value& value,
                        const std::string& where, const KeysFileErrors& errors,
                        std::string* digest, Principal* principal) {
  if (value.kind_case() != google::protobuf::Value::kStructValue) {
    return errors.Error(absl::StrCat(where, " must be an object"));
  }
  const google::protobuf::Struct& entry = value.struct_value();
  // Unknown fields are most likely typos ("rol"), which would otherwise
  // surface as a confusing "role is missing" or a silently ignored setting.
  for (const auto& [field, unused] : entry.fields()) {
    if (field != "sha256" && field != "tenant" && field != "team" &&
        field != "role" && field != "name") {
      return errors.Error(
          absl::StrCat(where, ": unknown field \"", absl::CEscape(field),
                       "\" (expected sha256, tenant, team, role, name)"));
    }
  }

  absl::StatusOr<std::optional<std::string>> sha256 =
      StringField(entry, "sha256", where, errors);
  if (!sha256.ok()) return sha256.status();
  if (!sha256->has_value()) {
    return errors.Error(absl::StrCat(where, ".sha256 is missing"));
  }
  const std::string& hex = **sha256;
  if (hex.size() != 2 * kSha256Bytes || !absl::c_all_of(hex, [](char c) {
        return absl::ascii_isxdigit(static_cast<unsigned char>(c));
      })) {
    return errors.Error(
        absl::StrCat(where, ".sha256 is not 64 hex characters"));
  }
  *digest = absl::HexStringToBytes(absl::AsciiStrToLower(hex));

  absl::StatusOr<std::optional<std::string>> tenant =
      StringField(entry, "tenant", where, errors);
  if (!tenant.ok()) return tenant.status();
  if (!tenant->has_value()) {
    return errors.Error(absl::StrCat(where, ".tenant is missing"));
  }
  if (!IsValidTenant(**tenant)) {
    return errors.Error(
        absl::StrCat(where, ".tenant must match [A-Za-z0-9_-]{1,64}"));
  }
  principal->tenant = **tenant;

  absl::StatusOr<std::optional<std::string>> team =
      StringField(entry, "team", where, errors);
  if (!team.ok()) return team.status();
  if (team->has_value()) {
    if (!IsValidTeam(**team)) {
      return errors.Error(absl::StrCat(
          where, ".team \"", absl::CEscape(**team),
          "\" is not one of SALES, MARKETING, OPS, LEGAL, PRICING, PRODUCT, "
          "CUSTOMER_SUCCESS (or empty)"));
    }
    principal->team = **team;
  }

  absl::StatusOr<std::optional<std::string>> role =
      StringField(entry, "role", where, errors);
  if (!role.ok()) return role.status();
  if (!role->has_value()) {
    return errors.Error(absl::StrCat(where, ".role is missing"));
  }
  if (!IsValidRole(**role)) {
    return errors.Error(
        absl::StrCat(where, ".role \"", absl::CEscape(**role),
                     "\" is not one of reader, writer, admin, service"));
  }
  principal->role = **role;

  absl::StatusOr<std::optional<std::string>> name =
      StringField(entry, "name", where, errors);
  if (!name.ok()) return name.status();
  if (name->has_value()) {
    if ((*name)->size() > kMaxLabelBytes) {
      return errors.Error(
          absl::StrCat(where, ".name is longer than 128 bytes"));
    }
    principal->key_label = **name;
  }
  return absl::OkStatus();
}

// Extracts the key from "Bearer <key>": the scheme is case-insensitive
// (RFC 7235), surrounding whitespace is tolerated, the key itself may not
// contain any.
std::optional<std::string_view> ParseBearer(std::string_view header) {
  // Debian's Abseil string_view is not std::string_view (see auth.h).
  absl::string_view value = absl::StripAsciiWhitespace(
      absl::string_view(header.data(), header.size()));
  constexpr absl::string_view kScheme = "bearer";
  if (value.size() <= kScheme.size() ||
      !absl::EqualsIgnoreCase(value.substr(0, kScheme.size()), kScheme) ||
      !absl::ascii_isspace(static_cast<unsigned char>(value[kScheme.size()]))) {
    return std::nullopt;
  }
  absl::string_view key =
      absl::StripLeadingAsciiWhitespace(value.substr(kScheme.size()));
  if (key.empty() || absl::c_any_of(key, [](char c) {
        return absl::ascii_isspace(static_cast<unsigned char>(c));
      })) {
    return std::nullopt;
  }
  return std::string_view(key.data(), key.size());
}

Principal DevPrincipal() {
  return Principal{std::string(kDevTenant), "", std::string(kRoleAdmin), "",
                   true};
}

// The single value of a metadata key: nullopt when absent, an error when
// repeated (which of two keys would count is not for the server to guess).
absl::StatusOr<std::optional<std::string_view>> SingleMetadata(
    const std::multimap<grpc::string_ref, grpc::string_ref>& metadata,
    const char* key, absl::StatusCode code) {
  auto [begin, end] = metadata.equal_range(grpc::string_ref(key));
  if (begin == end) return std::nullopt;
  if (std::next(begin) != end) {
    return absl::Status(
        code, absl::StrCat("more than one '", key, "' metadata entry"));
  }
  return std::string_view(begin->second.data(), begin->second.size());
}

}  // namespace

bool IsValidTenant(std::string_view tenant) {
  return !tenant.empty() && tenant.size() <= 64 &&
         absl::c_all_of(tenant, [](char c) {
           return absl::ascii_isalnum(static_cast<unsigned char>(c)) ||
                  c == '_' || c == '-';
         });
}

bool IsValidTeam(std::string_view team) {
  return team.empty() || team == "SALES" || team == "MARKETING" ||
         team == "OPS" || team == "LEGAL" || team == "PRICING" ||
         team == "PRODUCT" || team == "CUSTOMER_SUCCESS";
}

bool IsValidRole(std::string_view role) {
  return role == kRoleReader || role == kRoleWriter || role == kRoleAdmin ||
         role == kRoleService;
}

std::string Sha256Hex(std::string_view data) {
  return absl::BytesToHexString(Sha256Raw(data));
}

absl::StatusOr<std::string> GenerateApiKey() {
  unsigned char bytes[32];
  if (RAND_bytes(bytes, sizeof(bytes)) != 1) {
    return absl::InternalError("RAND_bytes failed: no entropy for an API key");
  }
  return absl::StrCat(
      "rpk_", absl::WebSafeBase64Escape(absl::string_view(
                  reinterpret_cast<const char*>(bytes), sizeof(bytes))));
}

absl::StatusOr<std::unique_ptr<Authenticator>> Authenticator::Create(
    const std::string& keys_file) {
  if (keys_file.empty()) {
    log::Warn("auth_dev_mode",
              {{"reason", "RAPPORT_API_KEYS_FILE is not set"},
               {"tenant", kDevTenant},
               {"role", kRoleAdmin},
               {"detail",
                "every call is accepted without an API key; set "
                "RAPPORT_API_KEYS_FILE outside development"}});
    return DevMode();
  }
  absl::StatusOr<std::string> json = ReadKeysFile(keys_file);
  if (!json.ok()) return json.status();
  absl::StatusOr<std::unique_ptr<Authenticator>> auth =
      FromJson(*json, keys_file);
  if (auth.ok()) {
    log::Info("auth_keys_loaded",
              {{"path", keys_file}, {"keys", (*auth)->key_count()}});
  }
  return auth;
}

absl::StatusOr<std::unique_ptr<Authenticator>> Authenticator::FromJson(
    std::string_view json, std::string_view source) {
  KeysFileErrors errors(source);
  google::protobuf::Struct root;
  google::protobuf::util::Status parsed =
      google::protobuf::util::JsonStringToMessage(
          google::protobuf::StringPiece(json.data(), json.size()), &root);
  if (!parsed.ok()) {
    // The parser's message may span lines; errors stay on one.
    std::string detail = absl::StrReplaceAll(parsed.message().ToString(),
                                             {{"\n", " "}, {"\r", " "}});
    return errors.Error(absl::StrCat(
        "not a JSON object of the form {\"keys\": [...]}: ", detail));
  }
  for (const auto& [field, unused] : root.fields()) {
    if (field != "keys") {
      return errors.Error(absl::StrCat("unknown top-level field \"",
                                       absl::CEscape(field),
                                       "\" (expected \"keys\")"));
    }
  }
  auto keys_it = root.fields().find("keys");
  if (keys_it == root.fields().end()) {
    return errors.Error("missing the \"keys\" list");
  }
  if (keys_it->second.kind_case() != google::protobuf::Value::kListValue) {
    return errors.Error("\"keys\" must be a list");
  }
  const google::protobuf::ListValue& list = keys_it->second.list_value();
  if (list.values_size() == 0) {
    // Would reject every call: almost certainly not what was meant.
    return errors.Error("\"keys\" is empty: no API key could authenticate");
  }

  auto auth = std::unique_ptr<Authenticator>(new Authenticator());
  absl::flat_hash_map<std::string, int> first_index;  // digest -> index
  for (int i = 0; i < list.values_size(); ++i) {
    std::string where = absl::StrCat("keys[", i, "]");
    std::string digest;
    Principal principal;
    absl::Status entry =
        ParseEntry(list.values(i), where, errors, &digest, &principal);
    if (!entry.ok()) return entry;
    auto [it, inserted] = first_index.emplace(digest, i);
    if (!inserted) {
      return errors.Error(
          absl::StrCat(where, ".sha256 repeats keys[", it->second, "].sha256"));
    }
    auth->keys_.emplace(std::move(digest), std::move(principal));
  }
  return auth;
}

std::unique_ptr<Authenticator> Authenticator::DevMode() {
  auto auth = std::unique_ptr<Authenticator>(new Authenticator());
  auth->dev_mode_ = true;
  return auth;
}

absl::StatusOr<Principal> Authenticator::Authenticate(
    const grpc::ServerContextBase& ctx) const {
  const auto& metadata = ctx.client_metadata();
  absl::StatusOr<std::optional<std::string_view>> authorization =
      SingleMetadata(metadata, kAuthorizationMetadata,
                     absl::StatusCode::kUnauthenticated);
  if (!authorization.ok()) return authorization.status();
  absl::StatusOr<std::optional<std::string_view>> tenant = SingleMetadata(
      metadata, kTenantMetadata, absl::StatusCode::kInvalidArgument);
  if (!tenant.ok()) return tenant.status();
  return AuthenticateHeaders(*authorization, *tenant);
}

absl::StatusOr<Principal> Authenticator::AuthenticateHeader(
    std::optional<std::string_view> authorization) const {
  if (dev_mode_) return DevPrincipal();
  if (!authorization.has_value()) {
    return absl::UnauthenticatedError(kMissingKey);
  }
  std::optional<std::string_view> key = ParseBearer(*authorization);
  if (!key.has_value()) return absl::UnauthenticatedError(kMalformedKey);
  // Looking the key up by its SHA-256 needs no constant-time comparison:
  // any timing difference in hashing or probing the map depends on the
  // digest, and learning digest bytes does not help an attacker choose a
  // key, since steering a digest toward a value needs a SHA-256 preimage.
  // The stored digests themselves are not secrets that grant access.
  auto it = keys_.find(Sha256Raw(*key));
  if (it == keys_.end()) return absl::UnauthenticatedError(kUnknownKey);
  return it->second;
}

absl::StatusOr<Principal> Authenticator::AuthenticateHeaders(
    std::optional<std::string_view> authorization,
    std::optional<std::string_view> on_behalf_of_tenant) const {
  absl::StatusOr<Principal> principal = AuthenticateHeader(authorization);
  if (!principal.ok() || principal->dev_mode ||
      !on_behalf_of_tenant.has_value()) {
    return principal;
  }
  if (!IsValidTenant(*on_behalf_of_tenant)) {
    return absl::InvalidArgumentError(absl::StrCat(
        "'", kTenantMetadata, "' metadata must match [A-Za-z0-9_-]{1,64}"));
  }
  if (*on_behalf_of_tenant == principal->tenant) return principal;
  if (!principal->IsService()) {
    return absl::PermissionDeniedError(
        absl::StrCat("'", kTenantMetadata,
                     "' metadata names another tenant: only service keys may "
                     "act on behalf of a tenant"));
  }
  principal->tenant = std::string(*on_behalf_of_tenant);
  // The service key's own team says nothing about the tenant it serves.
  principal->team.clear();
  return principal;
}

void AttachApiKey(grpc::ClientContext* ctx, std::string_view api_key) {
  if (api_key.empty()) return;
  ctx->AddMetadata(std::string(kAuthorizationMetadata),
                   std::string("Bearer ").append(api_key));
}

void AttachTenant(grpc::ClientContext* ctx, std::string_view tenant) {
  if (tenant.empty()) return;
  ctx->AddMetadata(std::string(kTenantMetadata), std::string(tenant));
}

}  // namespace rapport::auth
