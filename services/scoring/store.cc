#include "services/scoring/store.h"

#include <utility>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "common/redis/keys.h"
#include "common/status/macros.h"

namespace rapport::scoring {
namespace {

constexpr char kCacheTtlSeconds[] = "86400";  // 24 h
constexpr absl::Duration kOutcomeTtl = absl::Hours(24 * 30);

// KEYS[1] model hash, KEYS[2] outcome marker (may be a dummy when ARGV[4]
// is "0"). ARGV: expected version, new version, model bytes, mark outcome
// ("1"/"0"), outcome marker TTL seconds.
constexpr char kCasScript[] = R"lua(
if ARGV[4] == '1' and redis.call('EXISTS', KEYS[2]) == 1 then return -1 end
local cur = redis.call('HGET', KEYS[1], 'v')
if (cur or '0') ~= ARGV[1] then return 0 end
redis.call('HSET', KEYS[1], 'v', ARGV[2], 'm', ARGV[3])
if ARGV[4] == '1' then redis.call('SET', KEYS[2], '1', 'EX', ARGV[5]) end
return 1
)lua";

absl::Status Corrupt(absl::string_view what) {
  return absl::DataLossError(
      absl::StrCat("stored ", what,
                   " is unreadable; it was written by an "
                   "incompatible version or damaged"));
}

}  // namespace

ScoringStore::ScoringStore(redis::Pool& pool, redis::AsyncClient& async,
                           absl::Duration message_ttl,
                           redis::WriteBehind::Observer observer)
    : pool_(pool),
      async_(async),
      ttl_seconds_(absl::StrCat(absl::ToInt64Seconds(message_ttl))),
      writes_(async, {}, std::move(observer)) {}

absl::StatusOr<std::optional<v1::Model>> ScoringStore::LoadModel(
    absl::string_view tenant) {
  ASSIGN_OR_RETURN(std::string key, redis::Key(tenant, {"model"}));
  ASSIGN_OR_RETURN(redis::Reply reply, pool_.Command({"HGET", key, "m"}));
  if (reply.is_nil()) return std::nullopt;
  if (!reply.is_string()) return reply.AsStatus();
  v1::Model model;
  if (!model.ParseFromString(reply.str())) return Corrupt("model");
  return model;
}

absl::StatusOr<int64_t> ScoringStore::ModelVersion(absl::string_view tenant) {
  ASSIGN_OR_RETURN(std::string key, redis::Key(tenant, {"model"}));
  ASSIGN_OR_RETURN(redis::Reply reply, pool_.Command({"HGET", key, "v"}));
  if (reply.is_nil()) return 0;
  int64_t version = 0;
  if (!reply.is_string() || !absl::SimpleAtoi(reply.str(), &version)) {
    return Corrupt("model version");
  }
  return version;
}

absl::StatusOr<std::string> ScoringStore::ScriptSha(bool reload) {
  {
    absl::MutexLock lock(&mu_);
    if (!reload && !cas_sha_.empty()) return cas_sha_;
  }
  ASSIGN_OR_RETURN(redis::Reply reply,
                   pool_.Command({"SCRIPT", "LOAD", kCasScript}));
  ASSIGN_OR_RETURN(std::string sha, reply.AsString());
  absl::MutexLock lock(&mu_);
  cas_sha_ = sha;
  return sha;
}

absl::StatusOr<ScoringStore::CasResult> ScoringStore::CompareAndSetModel(
    absl::string_view tenant, int64_t expected_version, const v1::Model& model,
    absl::string_view outcome_id) {
  ASSIGN_OR_RETURN(std::string key, redis::Key(tenant, {"model"}));
  std::string marker = key;  // any key of the tenant's slot when unused
  if (!outcome_id.empty()) {
    ASSIGN_OR_RETURN(marker, redis::Key(tenant, {"outcome", outcome_id}));
  }
  for (int attempt = 0; attempt < 2; ++attempt) {
    ASSIGN_OR_RETURN(std::string sha, ScriptSha(attempt > 0));
    ASSIGN_OR_RETURN(
        redis::Reply reply,
        pool_.Command({"EVALSHA", sha, "2", key, marker,
                       absl::StrCat(expected_version),
                       absl::StrCat(model.version()), model.SerializeAsString(),
                       outcome_id.empty() ? "0" : "1",
                       absl::StrCat(absl::ToInt64Seconds(kOutcomeTtl))}));
    if (reply.is_error() && reply.error_code() == "NOSCRIPT") continue;
    ASSIGN_OR_RETURN(int64_t result, reply.AsInteger());
    if (result == 1) return CasResult::kApplied;
    if (result == -1) return CasResult::kDuplicate;
    return CasResult::kConflict;
  }
  return absl::UnavailableError(
      "redis forgot the model script twice (NOSCRIPT); is it restarting?");
}

absl::StatusOr<bool> ScoringStore::OutcomeSeen(absl::string_view tenant,
                                               absl::string_view outcome_id) {
  ASSIGN_OR_RETURN(std::string key,
                   redis::Key(tenant, {"outcome", outcome_id}));
  ASSIGN_OR_RETURN(redis::Reply reply, pool_.Command({"EXISTS", key}));
  ASSIGN_OR_RETURN(int64_t n, reply.AsInteger());
  return n == 1;
}

absl::StatusOr<std::optional<store::MessageRecord>> ScoringStore::LoadMessage(
    absl::string_view tenant, absl::string_view message_id) {
  ASSIGN_OR_RETURN(std::string key, redis::Key(tenant, {"msg", message_id}));
  ASSIGN_OR_RETURN(redis::Reply reply, pool_.Command({"GET", key}));
  if (reply.is_nil()) return std::nullopt;
  if (!reply.is_string()) return reply.AsStatus();
  store::MessageRecord record;
  if (!record.ParseFromString(reply.str())) return Corrupt("message record");
  return record;
}

void ScoringStore::LoadCache(absl::string_view tenant,
                             absl::string_view cache_key, CacheDone done) {
  absl::StatusOr<std::string> key = redis::Key(tenant, {"score", cache_key});
  if (!key.ok()) {
    std::move(done)(key.status());
    return;
  }
  async_.Command(
      {"GET", *key},
      [done = std::move(done)](absl::StatusOr<redis::Reply> reply) mutable {
        if (!reply.ok()) {
          std::move(done)(reply.status());
          return;
        }
        if (reply->is_nil()) {
          std::move(done)(std::nullopt);
          return;
        }
        if (!reply->is_string()) {
          std::move(done)(reply->AsStatus());
          return;
        }
        store::CacheEntry entry;
        // A damaged cache entry is a miss, not an error: it is recomputed.
        if (!entry.ParseFromString(reply->str())) {
          std::move(done)(std::nullopt);
          return;
        }
        std::move(done)(std::move(entry));
      });
}

absl::Status ScoringStore::SaveScored(absl::string_view tenant,
                                      absl::string_view message_id,
                                      const store::MessageRecord& record,
                                      absl::string_view cache_key,
                                      std::string* cache) {
  std::vector<redis::WriteBehind::Command> commands;
  commands.reserve(2);
  ASSIGN_OR_RETURN(std::string msg_key,
                   redis::Key(tenant, {"msg", message_id}));
  commands.push_back({"SET", std::move(msg_key), record.SerializeAsString(),
                      "EX", ttl_seconds_});
  if (cache != nullptr) {
    ASSIGN_OR_RETURN(std::string key, redis::Key(tenant, {"score", cache_key}));
    commands.push_back(
        {"SET", std::move(key), std::move(*cache), "EX", kCacheTtlSeconds});
  }
  return writes_.Write(std::move(commands));
}

absl::Status ScoringStore::FlushScored(absl::Duration timeout) {
  return writes_.Flush(timeout);
}

}  // namespace rapport::scoring
