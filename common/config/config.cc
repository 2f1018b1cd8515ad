#include "common/config/config.h"

#include <cstdio>
#include <cstdlib>
#include <iostream>
#include <map>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"

namespace rapport::config {
namespace {

const SettingInfo kSettings[] = {
    {"RAPPORT_GRPC_ADDR", "grpc-addr", "host:port the gRPC server listens on"},
    {"RAPPORT_METRICS_ADDR", "metrics-addr",
     "host:port of the Prometheus /metrics endpoint"},
    {"RAPPORT_REDIS_URL", "redis-url",
     "redis://[:password@]host:port[/db] of the shared Redis"},
    {"RAPPORT_REDIS_POOL_SIZE", "redis-pool-size",
     "Redis connections per process (1-256)"},
    {"RAPPORT_REDIS_TIMEOUT_MS", "redis-timeout-ms",
     "timeout of each Redis command and connect, in milliseconds"},
    {"RAPPORT_PROFILE_ADDR", "profile-addr",
     "gRPC target of profile-service (host:port, dns:, ipv4:)"},
    {"RAPPORT_SCORING_ADDR", "scoring-addr",
     "gRPC target of scoring-service (host:port, dns:, ipv4:)"},
    {"RAPPORT_PEER_DEADLINE_MS", "peer-deadline-ms",
     "deadline of calls to peer services, in milliseconds"},
    {"RAPPORT_API_KEYS_FILE", "api-keys-file",
     "JSON file mapping sha256(API key) to tenant, team and role; unset: "
     "single-tenant dev mode"},
    {"RAPPORT_API_KEY", "api-key",
     "API key sent as 'authorization: Bearer' on outgoing calls"},
    {"RAPPORT_LOG_LEVEL", "log-level", "debug, info, warn or error"},
    {"RAPPORT_TLS_CERT_FILE", "tls-cert-file",
     "PEM certificate: the server's (and the client certificate for mTLS)"},
    {"RAPPORT_TLS_KEY_FILE", "tls-key-file", "PEM private key of that cert"},
    {"RAPPORT_TLS_CLIENT_CA_FILE", "tls-client-ca-file",
     "PEM CA bundle: servers require and verify client certificates (mTLS)"},
    {"RAPPORT_TLS_CA_FILE", "tls-ca-file",
     "PEM CA bundle clients verify servers against"},
    {"RAPPORT_TLS_SERVER_NAME", "tls-server-name",
     "name expected in the server certificate, if not the target host"},
    {"RAPPORT_MAX_MESSAGE_BYTES", "max-message-bytes",
     "largest gRPC message accepted, in bytes"},
    {"RAPPORT_RULES_FILE", "rules-file",
     "scoring rules textproto (reloaded on SIGHUP)"},
    {"RAPPORT_RESPECT_LEXICON_FILE", "respect-lexicon-file",
     "respect-check lexicon textproto (reloaded on SIGHUP)"},
    {"RAPPORT_MESSAGE_TTL_DAYS", "message-ttl-days",
     "days scoring keeps each message's signals for outcomes and digests"},
    {"RAPPORT_PROFILE_CACHE_ENTRIES", "profile-cache-entries",
     "profiles kept in process memory, kept coherent through Redis pub/sub "
     "(0: every read goes to Redis)"},
    {"RAPPORT_FORWARDER", "forwarder",
     "feedback-service: on (forward stored feedback to the other services) "
     "or off (accept and store only; another replica forwards)"},
    {"RAPPORT_DRAIN_SECONDS", "drain-seconds",
     "on SIGTERM, how long in-flight calls may finish before exit"},
};

struct Defaults {
  absl::string_view grpc;
  absl::string_view metrics;
};

Defaults DefaultsFor(Service service) {
  switch (service) {
    case Service::kProfile:
      return {"127.0.0.1:50051", "127.0.0.1:9101"};
    case Service::kScoring:
      return {"127.0.0.1:50052", "127.0.0.1:9102"};
    case Service::kFeedback:
      return {"127.0.0.1:50053", "127.0.0.1:9103"};
    case Service::kEcho:
      return {"127.0.0.1:50050", "127.0.0.1:9100"};
    case Service::kClient:
      return {"127.0.0.1:50052", ""};
  }
  return {"", ""};
}

absl::Status SettingError(const SettingInfo& s, absl::string_view why) {
  return absl::InvalidArgumentError(
      absl::StrCat(s.env, " (--", s.flag, "): ", why));
}

absl::StatusOr<int> ParseInt(const SettingInfo& s, absl::string_view value,
                             int min, int max) {
  int out = 0;
  if (!absl::SimpleAtoi(value, &out) || out < min || out > max) {
    return SettingError(s, absl::StrCat("\"", value, "\" is not a number from ",
                                        min, " to ", max));
  }
  return out;
}

// Applies one setting's value to the config.
absl::Status Apply(const SettingInfo& s, const std::string& value, Config& c) {
  const absl::string_view env = s.env;
  if (env == "RAPPORT_GRPC_ADDR" || env == "RAPPORT_METRICS_ADDR") {
    if (absl::Status st = ValidateHostPort(value); !st.ok()) {
      return SettingError(s, st.message());
    }
    (env == "RAPPORT_GRPC_ADDR" ? c.grpc_addr : c.metrics_addr) = value;
  } else if (env == "RAPPORT_REDIS_URL") {
    auto ep = redis::ParseRedisUrl(value);
    if (!ep.ok()) return SettingError(s, ep.status().message());
    c.redis_url = value;
    c.redis = *std::move(ep);
  } else if (env == "RAPPORT_REDIS_POOL_SIZE") {
    auto n = ParseInt(s, value, 1, 256);
    if (!n.ok()) return n.status();
    c.redis_pool_size = *n;
  } else if (env == "RAPPORT_REDIS_TIMEOUT_MS") {
    auto n = ParseInt(s, value, 1, 60000);
    if (!n.ok()) return n.status();
    c.redis_timeout = absl::Milliseconds(*n);
  } else if (env == "RAPPORT_PEER_DEADLINE_MS") {
    auto n = ParseInt(s, value, 1, 60000);
    if (!n.ok()) return n.status();
    c.peer_deadline = absl::Milliseconds(*n);
  } else if (env == "RAPPORT_PROFILE_ADDR" || env == "RAPPORT_SCORING_ADDR") {
    if (value.empty()) return SettingError(s, "must not be empty");
    // Resolver targets (dns:, ipv4:, unix:) are passed to gRPC as they are;
    // plain host:port is checked here so a typo fails at start-up.
    if (!absl::StrContains(value, "://") && !absl::StartsWith(value, "dns:") &&
        !absl::StartsWith(value, "ipv4:") &&
        !absl::StartsWith(value, "ipv6:") &&
        !absl::StartsWith(value, "unix:")) {
      if (absl::Status st = ValidateHostPort(value); !st.ok()) {
        return SettingError(s, st.message());
      }
    }
    (env == "RAPPORT_PROFILE_ADDR" ? c.profile_addr : c.scoring_addr) = value;
  } else if (env == "RAPPORT_API_KEYS_FILE") {
    c.api_keys_file = value;
  } else if (env == "RAPPORT_API_KEY") {
    c.api_key = value;
  } else if (env == "RAPPORT_LOG_LEVEL") {
    auto level = log::ParseLevel(value);
    if (!level.ok()) return SettingError(s, level.status().message());
    c.log_level = *level;
  } else if (env == "RAPPORT_TLS_CERT_FILE") {
    c.tls.cert_file = value;
  } else if (env == "RAPPORT_TLS_KEY_FILE") {
    c.tls.key_file = value;
  } else if (env == "RAPPORT_TLS_CLIENT_CA_FILE") {
    c.tls.client_ca_file = value;
  } else if (env == "RAPPORT_TLS_CA_FILE") {
    c.tls.ca_file = value;
  } else if (env == "RAPPORT_TLS_SERVER_NAME") {
    c.tls.server_name = value;
  } else if (env == "RAPPORT_MAX_MESSAGE_BYTES") {
    auto n = ParseInt(s, value, 1024, 64 << 20);
    if (!n.ok()) return n.status();
    c.max_message_bytes = *n;
  } else if (env == "RAPPORT_RULES_FILE") {
    c.rules_file = value;
  } else if (env == "RAPPORT_RESPECT_LEXICON_FILE") {
    c.respect_lexicon_file = value;
  } else if (env == "RAPPORT_MESSAGE_TTL_DAYS") {
    auto n = ParseInt(s, value, 1, 3650);
    if (!n.ok()) return n.status();
    c.message_ttl = absl::Hours(24 * *n);
  } else if (env == "RAPPORT_PROFILE_CACHE_ENTRIES") {
    auto n = ParseInt(s, value, 0, 10'000'000);
    if (!n.ok()) return n.status();
    c.profile_cache_entries = *n;
  } else if (env == "RAPPORT_FORWARDER") {
    if (value != "on" && value != "off") {
      return SettingError(s, "must be on or off");
    }
    c.forwarder = value == "on";
  } else if (env == "RAPPORT_DRAIN_SECONDS") {
    auto n = ParseInt(s, value, 0, 3600);
    if (!n.ok()) return n.status();
    c.drain_timeout = absl::Seconds(*n);
  }
  return absl::OkStatus();
}

const SettingInfo* FindFlag(absl::string_view flag) {
  for (const SettingInfo& s : kSettings) {
    if (s.flag == flag) return &s;
  }
  return nullptr;
}

// Checks that must see the whole configuration.
absl::Status CheckCombination(const Config& c) {
  const TlsConfig& t = c.tls;
  if (t.cert_file.empty() != t.key_file.empty()) {
    return absl::InvalidArgumentError(
        "RAPPORT_TLS_CERT_FILE and RAPPORT_TLS_KEY_FILE must be set together");
  }
  if (!t.client_ca_file.empty() && t.cert_file.empty() &&
      c.service != Service::kClient) {
    return absl::InvalidArgumentError(
        "RAPPORT_TLS_CLIENT_CA_FILE needs RAPPORT_TLS_CERT_FILE and "
        "RAPPORT_TLS_KEY_FILE: mutual TLS is TLS first");
  }
  return absl::OkStatus();
}

}  // namespace

absl::string_view ServiceName(Service service) {
  switch (service) {
    case Service::kProfile:
      return "profile-service";
    case Service::kScoring:
      return "scoring-service";
    case Service::kFeedback:
      return "feedback-service";
    case Service::kEcho:
      return "echo-server";
    case Service::kClient:
      return "rapportctl";
  }
  return "rapport";
}

const std::vector<SettingInfo>& Settings() {
  static const auto* settings =
      new std::vector<SettingInfo>(std::begin(kSettings), std::end(kSettings));
  return *settings;
}

EnvLookup ProcessEnv() {
  return [](absl::string_view name) -> std::optional<std::string> {
    const char* value = std::getenv(std::string(name).c_str());
    if (value == nullptr) return std::nullopt;
    return std::string(value);
  };
}

absl::Status ValidateHostPort(absl::string_view value) {
  size_t colon = value.rfind(':');
  if (colon == absl::string_view::npos) {
    return absl::InvalidArgumentError(
        absl::StrCat("\"", value, "\" is not host:port"));
  }
  absl::string_view host = value.substr(0, colon);
  absl::string_view port = value.substr(colon + 1);
  if (absl::StartsWith(host, "[") != absl::EndsWith(host, "]")) {
    return absl::InvalidArgumentError(
        absl::StrCat("\"", value, "\" has an unbalanced [IPv6] host"));
  }
  if (!absl::StartsWith(host, "[") && absl::StrContains(host, ':')) {
    return absl::InvalidArgumentError(absl::StrCat(
        "\"", value, "\": write IPv6 hosts in brackets, [::1]:port"));
  }
  int p = 0;
  if (!absl::SimpleAtoi(port, &p) || p < 1 || p > 65535) {
    return absl::InvalidArgumentError(
        absl::StrCat("\"", value, "\": port \"", port,
                     "\" is not a number from 1 to 65535"));
  }
  return absl::OkStatus();
}

absl::StatusOr<Config> Load(Service service, const EnvLookup& env,
                            const std::vector<std::string>& args,
                            std::vector<std::string>* rest) {
  Config c;
  c.service = service;
  const Defaults d = DefaultsFor(service);
  c.grpc_addr = std::string(d.grpc);
  c.metrics_addr = std::string(d.metrics);
  c.redis_url = "redis://127.0.0.1:6379";
  c.profile_addr = "127.0.0.1:50051";
  c.scoring_addr = "127.0.0.1:50052";

  for (const SettingInfo& s : kSettings) {
    if (std::optional<std::string> value = env(s.env); value.has_value()) {
      if (absl::Status st = Apply(s, *value, c); !st.ok()) return st;
    }
  }

  for (size_t i = 0; i < args.size(); ++i) {
    const std::string& arg = args[i];
    if (!absl::StartsWith(arg, "--") || arg == "--") {
      if (rest == nullptr) {
        return absl::InvalidArgumentError(
            absl::StrCat("unexpected argument \"", arg, "\" (see --help)"));
      }
      rest->push_back(arg);
      continue;
    }
    absl::string_view body = absl::string_view(arg).substr(2);
    absl::string_view name = body;
    std::optional<std::string> value;
    if (const size_t eq = body.find('='); eq != absl::string_view::npos) {
      name = body.substr(0, eq);
      value = std::string(body.substr(eq + 1));
    }
    const SettingInfo* s = FindFlag(name);
    if (s == nullptr) {
      if (rest == nullptr) {
        return absl::InvalidArgumentError(
            absl::StrCat("unknown flag --", name, " (see --help)"));
      }
      rest->push_back(arg);
      continue;
    }
    if (!value.has_value()) {
      if (i + 1 >= args.size()) {
        return SettingError(*s, "the flag needs a value");
      }
      value = args[++i];
    }
    if (absl::Status st = Apply(*s, *value, c); !st.ok()) return st;
  }
  if (absl::Status st = CheckCombination(c); !st.ok()) return st;
  return c;
}

Config LoadOrDie(Service service, int argc, char** argv,
                 std::vector<std::string>* rest) {
  std::vector<std::string> args(argv + 1, argv + argc);
  for (const std::string& a : args) {
    if (a == "--help" || a == "-h") {
      if (rest != nullptr) break;  // the tool prints its own help
      std::cout << "usage: " << ServiceName(service)
                << " [--flag=value ...]\n\nEach flag overrides the "
                   "environment variable named beside it.\n\n";
      for (const SettingInfo& s : kSettings) {
        std::printf("  --%-20s %-28s %s\n", std::string(s.flag).c_str(),
                    std::string(s.env).c_str(), std::string(s.help).c_str());
      }
      std::exit(0);
    }
  }
  absl::StatusOr<Config> config = Load(service, ProcessEnv(), args, rest);
  if (!config.ok()) {
    std::fprintf(stderr, "%s: configuration error: %s\n",
                 std::string(ServiceName(service)).c_str(),
                 std::string(config.status().message()).c_str());
    std::exit(2);
  }
  return *std::move(config);
}

}  // namespace rapport::config
