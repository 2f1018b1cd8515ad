#include "services/profile/reader.h"

#include <utility>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "common/log/log.h"
#include "common/metrics/counters.h"
#include "prometheus/counter.h"
#include "prometheus/gauge.h"
#include "services/profile/keys.h"

namespace rapport::profile {
namespace {

redis::CoherentCacheOptions CacheOptions(const ProfileReader::Options& o) {
  redis::CoherentCacheOptions out;
  out.capacity = o.cache_entries;
  out.max_age = o.max_age;
  return out;
}

}  // namespace

absl::Status CorruptContact(absl::string_view what) {
  return absl::DataLossError(absl::StrCat(
      "stored contact record is unreadable (", what,
      "); restore it from a backup or delete and re-import the contact"));
}

absl::StatusOr<std::vector<std::string>> GetProfileCommand(
    absl::string_view tenant, absl::string_view contact_id) {
  auto key = ContactKey(tenant, contact_id);
  if (!key.ok()) return key.status();
  return std::vector<std::string>{"HMGET", *key, kProfileField,
                                  kDerivedAtField};
}

absl::StatusOr<std::optional<StoredProfile>> ParseProfileReply(
    const redis::Reply& reply) {
  if (reply.is_error()) return reply.AsStatus();
  if (!reply.is_array() || reply.elements().size() != 2) {
    return CorruptContact("unexpected reply shape");
  }
  const auto& e = reply.elements();
  if (e[0].is_nil()) return std::nullopt;
  StoredProfile out;
  int64_t micros = 0;
  if (!e[0].is_string() || !out.profile.ParseFromString(e[0].str())) {
    return CorruptContact("profile");
  }
  if (!e[1].is_string() || !absl::SimpleAtoi(e[1].str(), &micros)) {
    return CorruptContact("derivation time");
  }
  out.derived_at = absl::FromUnixMicros(micros);
  out.serialized = e[0].str();
  return out;
}

ProfileReader::Options ProfileReader::FromConfig(const config::Config& config) {
  Options options;
  options.cache_entries = static_cast<size_t>(config.profile_cache_entries);
  options.redis.endpoint = config.redis;
  options.redis.command_timeout = config.redis_timeout;
  options.redis.connect_timeout = config.redis_timeout;
  return options;
}

ProfileReader::ProfileReader(redis::AsyncClient& redis,
                             prometheus::Registry& registry, Options options)
    : redis_(redis),
      cache_(CacheOptions(options)),
      hits_(metrics::Counter(registry, "rapport_profile_cache_lookups_total",
                             "Profile reads by where they were answered from: "
                             "process memory (hit) or Redis (miss)",
                             {{"result", "hit"}})),
      misses_(metrics::Counter(registry, "rapport_profile_cache_lookups_total",
                               "Profile reads by where they were answered "
                               "from: process memory (hit) or Redis (miss)",
                               {{"result", "miss"}})),
      subscribed_(
          metrics::Gauge(registry, "rapport_profile_cache_subscribed",
                         "1 while the profile cache receives invalidations "
                         "(and may answer reads), else 0")) {
  if (!cache_.enabled()) return;
  redis::InvalidationOptions listen;
  listen.redis = options.redis;
  listen.channel = kContactChangesChannel;
  listen.on_key = [this](absl::string_view key) { cache_.Invalidate(key); };
  listen.on_state = [this](bool subscribed) {
    cache_.SetSubscribed(subscribed);
    subscribed_.Set(subscribed ? 1 : 0);
    if (subscribed) {
      log::Info("profile_cache_subscribed", {});
    } else {
      log::Warn("profile_cache_unsubscribed",
                {{"detail",
                  "invalidations may be missed: the profile cache "
                  "is emptied and bypassed until resubscribed"}});
    }
  };
  listener_ = std::make_unique<redis::InvalidationListener>(std::move(listen));
}

void ProfileReader::Read(absl::string_view tenant, absl::string_view contact_id,
                         Done done) {
  absl::StatusOr<std::string> key = ContactKey(tenant, contact_id);
  if (!key.ok()) {
    std::move(done)(key.status());
    return;
  }
  if (std::shared_ptr<const StoredProfile> hit = cache_.Get(*key)) {
    hits_.Increment();
    std::move(done)(std::move(hit));
    return;
  }
  misses_.Increment();
  const auto ticket = cache_.Begin(*key);
  redis_.Command({"HMGET", *key, kProfileField, kDerivedAtField},
                 [this, key = *key, ticket, done = std::move(done)](
                     absl::StatusOr<redis::Reply> reply) mutable {
                   if (!reply.ok()) {
                     std::move(done)(reply.status());
                     return;
                   }
                   auto parsed = ParseProfileReply(*reply);
                   if (!parsed.ok()) {
                     std::move(done)(parsed.status());
                     return;
                   }
                   if (!parsed->has_value()) {
                     std::move(done)(nullptr);
                     return;
                   }
                   auto shared = std::make_shared<const StoredProfile>(
                       **std::move(parsed));
                   cache_.Fill(key, ticket, shared);
                   std::move(done)(std::move(shared));
                 });
}

void ProfileReader::Invalidate(absl::string_view contact_key) {
  cache_.Invalidate(contact_key);
}

}  // namespace rapport::profile
