#pragma once

// Bearer API keys mapped to a tenant, a team and a role (DESIGN.md,
// "Tenancy and auth").
//
// Callers send gRPC metadata "authorization: Bearer <api key>". The server
// never stores keys, only their SHA-256, in the file named by
// RAPPORT_API_KEYS_FILE:
//
//   {"keys": [
//     {"sha256": "<64 hex digits of sha256(api key)>", "tenant": "acme",
//      "team": "SALES", "role": "writer", "name": "crm-sync"}
//   ]}
//
//   tenant  required, [A-Za-z0-9_-]{1,64}: it becomes the Redis Cluster hash
//           tag of every key the tenant owns (rapport:{tenant}:...).
//   team    optional: SALES MARKETING OPS LEGAL PRICING PRODUCT
//           CUSTOMER_SUCCESS (or empty).
//   role    required: reader, writer, admin, or service (peer services).
//   name    optional label for logs ("crm-sync"); never the key itself.
//
// Without a keys file the process runs in single-tenant dev mode: every call
// is tenant "default" with role admin, whatever metadata it carries.
//
// Peer services call each other with a "service" key on behalf of the tenant
// whose request they are serving, named in "x-rapport-tenant" metadata (e.g.
// feedback-service forwarding an outcome of tenant acme to scoring-service).
// Only service principals may do so.
//
// Authentication runs in each handler (through the server bootstrap), not in
// an interceptor: gRPC 1.51 C++ server interceptors cannot end a call with a
// status before the handler runs (Hijack is client-only). A
// grpc::AuthMetadataProcessor could, but only on TLS server credentials
// (InsecureServerCredentials asserts on it), so plaintext deployments with
// keys would be left without authentication.

#include <grpcpp/client_context.h>
#include <grpcpp/server_context.h>

#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "absl/container/flat_hash_map.h"
#include "absl/status/statusor.h"

namespace rapport::auth {

// Metadata keys (gRPC metadata keys are lower case). Plain char arrays
// rather than std::string_view: Debian's Abseil has its own string_view
// (ABSL_OPTION_USE_STD_STRING_VIEW 0), which std::string_view does not
// convert to, and these constants feed both.
inline constexpr char kAuthorizationMetadata[] = "authorization";
inline constexpr char kTenantMetadata[] = "x-rapport-tenant";

// Roles, as spelled in the keys file.
inline constexpr char kRoleReader[] = "reader";
inline constexpr char kRoleWriter[] = "writer";
inline constexpr char kRoleAdmin[] = "admin";
inline constexpr char kRoleService[] = "service";

// The tenant of dev mode.
inline constexpr char kDevTenant[] = "default";

// Who is calling, after authentication.
struct Principal {
  std::string tenant;     // valid per IsValidTenant
  std::string team;       // one of the teams above, or empty
  std::string role;       // one of the kRole* values
  std::string key_label;  // the key's "name" in the keys file; may be empty
  bool dev_mode = false;  // no keys file: single tenant, no authentication

  bool CanRead() const { return true; }  // every role reads its tenant's data
  // Writes: contacts, interactions, feedback, outcomes. Peer services write
  // on behalf of tenants (forwarded outcomes and insights).
  bool CanWrite() const {
    return role == kRoleWriter || role == kRoleAdmin || role == kRoleService;
  }
  // Destructive or tenant-wide operations (erasure, model resets).
  bool IsAdmin() const { return role == kRoleAdmin; }
  bool IsService() const { return role == kRoleService; }
};

// [A-Za-z0-9_-]{1,64}: safe inside a Redis Cluster hash tag and in logs.
bool IsValidTenant(std::string_view tenant);
// Empty, or one of SALES MARKETING OPS LEGAL PRICING PRODUCT
// CUSTOMER_SUCCESS.
bool IsValidTeam(std::string_view team);
// One of reader, writer, admin, service.
bool IsValidRole(std::string_view role);

// Lower-case hex SHA-256 of `data`: the "sha256" of a keys file entry for
// the API key `data` (used by rapportctl to print entries).
std::string Sha256Hex(std::string_view data);

// A fresh random API key, "rpk_" + 43 base64url characters (256 bits from
// the OpenSSL CSPRNG). Fails only if the CSPRNG does.
absl::StatusOr<std::string> GenerateApiKey();

class Authenticator {
 public:
  // Loads and validates the keys file. An empty path selects dev mode (and
  // logs the warning "auth_dev_mode" once). Errors name the setting, the
  // path and the offending entry:
  //   RAPPORT_API_KEYS_FILE: /etc/rapport/keys.json: keys[2].sha256 is not
  //   64 hex characters
  static absl::StatusOr<std::unique_ptr<Authenticator>> Create(
      const std::string& keys_file);

  // Parses keys file contents; `source` names it in errors (the path).
  static absl::StatusOr<std::unique_ptr<Authenticator>> FromJson(
      std::string_view json, std::string_view source);

  // A dev-mode authenticator, without the warning (tests, tools).
  static std::unique_ptr<Authenticator> DevMode();

  Authenticator(const Authenticator&) = delete;
  Authenticator& operator=(const Authenticator&) = delete;

  bool dev_mode() const { return dev_mode_; }
  size_t key_count() const { return keys_.size(); }

  // Authenticates a call from its metadata ("authorization" and, for
  // service principals, "x-rapport-tenant"). Errors are UNAUTHENTICATED
  // (missing, malformed or unknown key) or PERMISSION_DENIED (tenant
  // override by a non-service key) and never contain the key.
  absl::StatusOr<Principal> Authenticate(
      const grpc::ServerContextBase& ctx) const;

  // The pure core of Authenticate: `authorization` is the metadata value,
  // nullopt when absent. In dev mode it is ignored.
  absl::StatusOr<Principal> AuthenticateHeader(
      std::optional<std::string_view> authorization) const;

  // As above, plus the "x-rapport-tenant" value (nullopt when absent): a
  // service principal takes that tenant (and no team); any other principal
  // may only name its own tenant.
  absl::StatusOr<Principal> AuthenticateHeaders(
      std::optional<std::string_view> authorization,
      std::optional<std::string_view> on_behalf_of_tenant) const;

 private:
  Authenticator() = default;

  bool dev_mode_ = false;
  // Raw 32-byte SHA-256 digest of the key -> who it belongs to.
  absl::flat_hash_map<std::string, Principal> keys_;
};

// Client side: adds "authorization: Bearer <api_key>" to an outgoing call.
// No-op when api_key is empty (dev mode servers need none).
void AttachApiKey(grpc::ClientContext* ctx, std::string_view api_key);

// Client side, for service keys: names the tenant a peer call is made for.
// No-op when tenant is empty.
void AttachTenant(grpc::ClientContext* ctx, std::string_view tenant);

}  // namespace rapport::auth
