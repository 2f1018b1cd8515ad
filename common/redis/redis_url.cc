#include "common/redis/redis_url.h"

#include <string>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"

namespace rapport::redis {
namespace {

absl::Status Bad(absl::string_view why) {
  return absl::InvalidArgumentError(
      absl::StrCat("invalid Redis URL: ", why,
                   " (expected redis://[:password@]host:port[/db])"));
}

absl::StatusOr<std::string> PercentDecode(absl::string_view in) {
  std::string out;
  out.reserve(in.size());
  for (size_t i = 0; i < in.size(); ++i) {
    if (in[i] != '%') {
      out.push_back(in[i]);
      continue;
    }
    if (i + 2 >= in.size() || !absl::ascii_isxdigit(in[i + 1]) ||
        !absl::ascii_isxdigit(in[i + 2])) {
      return Bad("bad percent-escape in the credentials");
    }
    int value = 0;
    for (int k = 1; k <= 2; ++k) {
      const char c = absl::ascii_tolower(in[i + k]);
      value = value * 16 + (absl::ascii_isdigit(c) ? c - '0' : c - 'a' + 10);
    }
    out.push_back(static_cast<char>(value));
    i += 2;
  }
  return out;
}

}  // namespace

std::string RedisEndpoint::Redacted() const {
  const bool v6 = absl::StrContains(host, ':');
  return absl::StrCat(v6 ? "[" : "", host, v6 ? "]" : "", ":", port, "/", db);
}

absl::StatusOr<RedisEndpoint> ParseRedisUrl(absl::string_view url) {
  constexpr absl::string_view kScheme = "redis://";
  if (!absl::StartsWithIgnoreCase(url, kScheme)) {
    return Bad("it must start with redis://");
  }
  absl::string_view rest = url.substr(kScheme.size());
  RedisEndpoint ep;

  // Credentials end at the last '@' (passwords may contain '@' unescaped).
  if (const size_t at = rest.rfind('@'); at != absl::string_view::npos) {
    absl::string_view creds = rest.substr(0, at);
    rest = rest.substr(at + 1);
    absl::string_view user = creds;
    absl::string_view pass;
    if (const size_t colon = creds.find(':');
        colon != absl::string_view::npos) {
      user = creds.substr(0, colon);
      pass = creds.substr(colon + 1);
    } else {
      // "redis://secret@host" is the common shorthand for a password only.
      pass = creds;
      user = {};
    }
    auto u = PercentDecode(user);
    if (!u.ok()) return u.status();
    auto p = PercentDecode(pass);
    if (!p.ok()) return p.status();
    ep.username = *std::move(u);
    ep.password = *std::move(p);
  }

  absl::string_view hostport = rest;
  if (const size_t slash = rest.find('/'); slash != absl::string_view::npos) {
    hostport = rest.substr(0, slash);
    absl::string_view db = rest.substr(slash + 1);
    if (!db.empty()) {
      if (!absl::SimpleAtoi(db, &ep.db) || ep.db < 0 || ep.db > 15) {
        return Bad(
            absl::StrCat("database \"", db, "\" is not a number from 0 to 15"));
      }
    }
  }
  if (hostport.empty()) return Bad("the host is missing");

  absl::string_view port_text;
  if (hostport.front() == '[') {
    const size_t close = hostport.find(']');
    if (close == absl::string_view::npos) return Bad("unclosed [ in IPv6 host");
    ep.host = std::string(hostport.substr(1, close - 1));
    absl::string_view after = hostport.substr(close + 1);
    if (!after.empty()) {
      if (after.front() != ':') return Bad("junk after the IPv6 host");
      port_text = after.substr(1);
    }
  } else if (const size_t colon = hostport.rfind(':');
             colon != absl::string_view::npos) {
    ep.host = std::string(hostport.substr(0, colon));
    port_text = hostport.substr(colon + 1);
    if (absl::StrContains(ep.host, ':')) {
      return Bad("an IPv6 host must be in brackets, e.g. redis://[::1]:6379");
    }
  } else {
    ep.host = std::string(hostport);
  }
  if (ep.host.empty()) return Bad("the host is missing");
  for (char c : ep.host) {
    if (!(absl::ascii_isalnum(c) || c == '.' || c == '-' || c == '_' ||
          c == ':')) {
      return Bad(absl::StrCat("the host \"", ep.host,
                              "\" contains a character not allowed in a "
                              "host name"));
    }
  }
  if (!port_text.empty() || hostport.back() == ':') {
    if (!absl::SimpleAtoi(port_text, &ep.port) || ep.port < 1 ||
        ep.port > 65535) {
      return Bad(absl::StrCat("port \"", port_text,
                              "\" is not a number from 1 to 65535"));
    }
  }
  return ep;
}

}  // namespace rapport::redis
