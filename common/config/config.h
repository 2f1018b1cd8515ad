#pragma once

// Process configuration, in one place (STYLE.md #5): every setting is read
// from its RAPPORT_* environment variable, a command-line flag of the same
// name overrides it (RAPPORT_GRPC_ADDR -> --grpc-addr), and a bad value fails
// start-up with a message that names the setting.

#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "common/log/log.h"
#include "common/redis/redis_url.h"

namespace rapport::config {

// Which binary is being configured; it picks the default ports.
enum class Service { kProfile, kScoring, kFeedback, kEcho, kClient };

absl::string_view ServiceName(Service service);  // "profile-service", ...

// TLS settings, for both sides of a connection.
//   Server: TLS when cert_file and key_file are set; mutual TLS (client
//   certificates required and verified) when client_ca_file is set too.
//   Client: TLS when ca_file or cert_file is set; the server is verified
//   against ca_file (system roots if empty) and cert_file/key_file are
//   presented as the client certificate when set.
struct TlsConfig {
  std::string cert_file;       // RAPPORT_TLS_CERT_FILE (PEM)
  std::string key_file;        // RAPPORT_TLS_KEY_FILE (PEM)
  std::string client_ca_file;  // RAPPORT_TLS_CLIENT_CA_FILE (PEM), servers
  std::string ca_file;         // RAPPORT_TLS_CA_FILE (PEM), clients
  std::string server_name;     // RAPPORT_TLS_SERVER_NAME: expected name in
                               // the server certificate, if not the host.

  bool ServerTlsEnabled() const {
    return !cert_file.empty() && !key_file.empty();
  }
  bool ClientTlsEnabled() const {
    return !ca_file.empty() || !cert_file.empty();
  }
};

struct Config {
  Service service = Service::kClient;
  std::string grpc_addr;     // host:port this server listens on
  std::string metrics_addr;  // host:port of the /metrics endpoint
  std::string redis_url;     // as given, may hold a password: never log it
  redis::RedisEndpoint redis;
  int redis_pool_size = 8;
  absl::Duration redis_timeout = absl::Milliseconds(250);
  std::string profile_addr;  // peer: profile-service
  std::string scoring_addr;  // peer: scoring-service
  absl::Duration peer_deadline = absl::Milliseconds(100);
  std::string api_keys_file;  // empty: single-tenant dev mode
  std::string api_key;        // presented on outgoing calls (clients, peers)
  log::Level log_level = log::Level::kInfo;
  TlsConfig tls;
  int max_message_bytes = 4 << 20;
  absl::Duration drain_timeout = absl::Seconds(20);
  // Data files, reviewed like code and reloaded on SIGHUP. Empty: the copy
  // in the source tree the binary was built from.
  std::string rules_file;            // scoring rules (RulesFile textproto)
  std::string respect_lexicon_file;  // respect check (RespectLexicon)
  // How long scoring keeps a message's signals and findings for outcomes
  // that arrive later and for digests.
  absl::Duration message_ttl = absl::Hours(24 * 180);
  // Profiles profile-service and scoring-service keep in memory (LRU),
  // coherent with Redis through invalidations; 0 turns the cache off.
  int profile_cache_entries = 50'000;
  // feedback-service: whether this replica runs the forwarder (off: it only
  // accepts and stores; items wait in Redis for a replica that forwards).
  bool forwarder = true;
};

// One row of the settings table: the source of both the flag parser and the
// --help text (and of the README's configuration table).
struct SettingInfo {
  absl::string_view env;   // RAPPORT_GRPC_ADDR
  absl::string_view flag;  // grpc-addr
  absl::string_view help;
};
const std::vector<SettingInfo>& Settings();

// Looks up an environment variable; nullopt when unset.
using EnvLookup = std::function<std::optional<std::string>(absl::string_view)>;
EnvLookup ProcessEnv();

// Resolves the configuration from defaults, then `env`, then `args` (flags
// "--name=value" or "--name value"; args[0] is not the program name).
// Unknown flags and bad values are errors naming the setting. `rest`, if not
// null, receives the arguments that are not flags of this table (for
// subcommand-style tools); otherwise they are errors.
absl::StatusOr<Config> Load(Service service, const EnvLookup& env,
                            const std::vector<std::string>& args,
                            std::vector<std::string>* rest = nullptr);

// Load() for main(): the process environment and argv. Prints help and exits
// 0 on --help; prints the error on one line and exits 2 on a bad setting.
Config LoadOrDie(Service service, int argc, char** argv,
                 std::vector<std::string>* rest = nullptr);

// Checks "host:port" (host may be a name, IPv4, [IPv6] or empty for all
// interfaces; port 1-65535).
absl::Status ValidateHostPort(absl::string_view value);

}  // namespace rapport::config
