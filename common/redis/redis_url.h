#pragma once

#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace rapport::redis {

// Where and how to reach Redis, parsed from RAPPORT_REDIS_URL.
struct RedisEndpoint {
  std::string host = "127.0.0.1";
  int port = 6379;
  std::string username;  // Redis 6 ACL user; empty means "default".
  std::string password;  // Empty: no AUTH.
  int db = 0;

  // "host:port/db" without credentials, safe to log.
  std::string Redacted() const;
};

// Parses redis://[[user]:password@]host[:port][/db]. Hosts may be names,
// IPv4 literals or bracketed IPv6 literals. The port defaults to 6379 and the
// db to 0. Percent-escapes in user and password are decoded. Errors explain
// what is wrong without echoing the password.
absl::StatusOr<RedisEndpoint> ParseRedisUrl(absl::string_view url);

}  // namespace rapport::redis
