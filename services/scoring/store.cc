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

// KEYS[1] model hash, KEYS[2..] outcome markers. ARGV: expected version, new
// version, model bytes, marker TTL seconds. Returns 1 (written), 0 (the
// version moved) or the 1-based positions among the markers of outcomes
// learned before (nothing written).
constexpr char kCasScript[] = R"lua(
local seen = {}
for i = 2, #KEYS do
  if redis.call('EXISTS', KEYS[i]) == 1 then seen[#seen + 1] = i - 1 end
end
if #seen > 0 then return seen end
local cur = redis.call('HGET', KEYS[1], 'v')
if (cur or '0') ~= ARGV[1] then return 0 end
redis.call('HSET', KEYS[1], 'v', ARGV[2], 'm', ARGV[3])
for i = 2, #KEYS do redis.call('SET', KEYS[i], '1', 'EX', ARGV[4]) end
return 1
)lua";

absl::Status Corrupt(absl::string_view what) {
  return absl::DataLossError(
      absl::StrCat("stored ", what,
                   " is unreadable; it was written by an "
                   "incompatible version or damaged"));
}

redis::WriteBehindOptions RecordWrites() {
  redis::WriteBehindOptions options;
  // Records and cache entries wait up to 1 ms for others to share their
  // pipeline: no answer waits for them, and under load a batch then
  // carries several times more commands, each costing Redis a fraction of
  // the system calls (bench/README.md). A crash loses up to this much more.
  options.linger = absl::Milliseconds(1);
  return options;
}

}  // namespace

ScoringStore::ScoringStore(redis::Pool& pool, redis::AsyncClient& async,
                           absl::Duration message_ttl,
                           redis::WriteBehind::Observer observer)
    : pool_(pool),
      async_(async),
      ttl_seconds_(absl::StrCat(absl::ToInt64Seconds(message_ttl))),
      writes_(async, RecordWrites(), std::move(observer)) {}

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

absl::StatusOr<ScoringStore::Cas> ScoringStore::CompareAndSetModel(
    absl::string_view tenant, int64_t expected_version, const v1::Model& model,
    const std::vector<std::string>& outcome_ids) {
  ASSIGN_OR_RETURN(std::string key, redis::Key(tenant, {"model"}));
  std::vector<std::string> args = {"EVALSHA", "",
                                   absl::StrCat(1 + outcome_ids.size()), key};
  args.reserve(args.size() + outcome_ids.size() + 4);
  for (const std::string& id : outcome_ids) {
    ASSIGN_OR_RETURN(std::string marker, redis::Key(tenant, {"outcome", id}));
    args.push_back(std::move(marker));
  }
  args.push_back(absl::StrCat(expected_version));
  args.push_back(absl::StrCat(model.version()));
  args.push_back(model.SerializeAsString());
  args.push_back(absl::StrCat(absl::ToInt64Seconds(kOutcomeTtl)));
  for (int attempt = 0; attempt < 2; ++attempt) {
    ASSIGN_OR_RETURN(args[1], ScriptSha(attempt > 0));
    ASSIGN_OR_RETURN(redis::Reply reply, pool_.Command(args));
    if (reply.is_error() && reply.error_code() == "NOSCRIPT") continue;
    Cas cas;
    if (reply.is_array()) {
      cas.result = CasResult::kDuplicate;
      for (const redis::Reply& e : reply.elements()) {
        ASSIGN_OR_RETURN(int64_t position, e.AsInteger());
        if (position < 1 ||
            static_cast<size_t>(position) > outcome_ids.size()) {
          return absl::InternalError("model script answered a bad position");
        }
        cas.duplicates.push_back(static_cast<size_t>(position - 1));
      }
      return cas;
    }
    ASSIGN_OR_RETURN(int64_t result, reply.AsInteger());
    cas.result = result == 1 ? CasResult::kApplied : CasResult::kConflict;
    return cas;
  }
  return absl::UnavailableError(
      "redis forgot the model script twice (NOSCRIPT); is it restarting?");
}

absl::StatusOr<std::vector<ScoringStore::LoadedMessage>>
ScoringStore::LoadMessages(absl::string_view tenant,
                           const std::vector<std::string>& message_ids) {
  std::vector<std::vector<std::string>> commands;
  commands.reserve(message_ids.size());
  for (const std::string& id : message_ids) {
    ASSIGN_OR_RETURN(std::string key, redis::Key(tenant, {"msg", id}));
    commands.push_back({"GET", std::move(key)});
  }
  ASSIGN_OR_RETURN(std::vector<redis::Reply> replies, pool_.Pipeline(commands));
  std::vector<LoadedMessage> records;
  records.reserve(replies.size());
  for (const redis::Reply& reply : replies) {
    if (reply.is_nil()) {
      records.emplace_back(std::nullopt);
      continue;
    }
    if (!reply.is_string()) return reply.AsStatus();
    store::MessageRecord record;
    if (record.ParseFromString(reply.str())) {
      records.emplace_back(std::move(record));
    } else {
      records.emplace_back(Corrupt("message record"));
    }
  }
  return records;
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
