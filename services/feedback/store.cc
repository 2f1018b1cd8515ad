#include "services/feedback/store.h"

#include <utility>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "common/redis/keys.h"
#include "common/status/macros.h"
#include "common/util/util.h"
#include "services/feedback/validate.h"

namespace rapport::feedback {
namespace {

// KEYS[1] stream, KEYS[2] idempotency key (only when the item has one).
// ARGV: item bytes, MINID trim bound, idempotency TTL seconds, group name.
// Returns {0, id[, bytes]} for a replayed key, {1, id} for a new entry.
constexpr char kAppendScript[] = R"lua(
if #KEYS > 1 then
  local prev = redis.call('GET', KEYS[2])
  if prev then
    local e = redis.call('XRANGE', KEYS[1], prev, prev)
    if e[1] then
      local fields = e[1][2]
      for i = 1, #fields, 2 do
        if fields[i] == 'f' then return {0, prev, fields[i + 1]} end
      end
    end
    return {0, prev}
  end
end
if redis.call('EXISTS', KEYS[1]) == 0 then
  redis.call('XGROUP', 'CREATE', KEYS[1], ARGV[4], '0', 'MKSTREAM')
end
local id = redis.call('XADD', KEYS[1], 'MINID', '~', ARGV[2], '*', 'f', ARGV[1])
if #KEYS > 1 then redis.call('SET', KEYS[2], id, 'EX', ARGV[3]) end
return {1, id}
)lua";

absl::Status Corrupt(absl::string_view what) {
  return absl::DataLossError(
      absl::StrCat("unexpected Redis reply for the feedback stream (", what,
                   "); is another program writing to rapport:{tenant}:"
                   "feedback keys?"));
}

// Fills id and created_at of a decoded item from its entry id.
void StampFromId(absl::string_view id, v1::Feedback* f) {
  f->set_id(ToStr(id));
  if (std::optional<StreamId> sid = ParseStreamId(id); sid.has_value()) {
    *f->mutable_created_at() = util::ToTimestamp(sid->time());
  }
}

Entry DecodeEntry(const redis::Reply& e) {
  Entry out;
  if (!e.is_array() || e.elements().size() != 2 ||
      !e.elements()[0].is_string()) {
    out.readable = false;
    return out;
  }
  out.id = e.elements()[0].str();
  const redis::Reply& fields = e.elements()[1];
  bool found = false;
  if (fields.is_array()) {
    const auto& kv = fields.elements();
    for (size_t i = 0; i + 1 < kv.size(); i += 2) {
      if (kv[i].str() == "f") {
        found = out.feedback.ParseFromString(kv[i + 1].str());
        break;
      }
    }
  }
  out.readable = found;
  if (!found) out.feedback.Clear();
  StampFromId(out.id, &out.feedback);
  return out;
}

std::string Seconds(absl::Duration d) {
  return absl::StrCat(std::max<int64_t>(1, absl::ToInt64Seconds(d)));
}

absl::StatusOr<std::string> IdemKey(absl::string_view tenant,
                                    absl::string_view key) {
  return redis::Key(tenant, {"fb", "idem", key});
}

absl::StatusOr<std::string> OutcomeKey(absl::string_view tenant,
                                       absl::string_view id) {
  return redis::Key(tenant, {"fb", "outcome", id});
}

bool IsNoGroup(const redis::Reply& r) {
  return r.is_error() && r.error_code() == "NOGROUP";
}

}  // namespace

std::vector<Entry> DecodeEntries(const redis::Reply& reply) {
  std::vector<Entry> out;
  if (!reply.is_array()) return out;
  out.reserve(reply.elements().size());
  for (const redis::Reply& e : reply.elements()) {
    // XAUTOCLAIM / XREADGROUP 0 report deleted entries as [id, nil]: they
    // have nothing to forward and are skipped (Redis 7 drops them from the
    // pending list itself).
    if (e.is_array() && e.elements().size() == 2 && e.elements()[1].is_nil()) {
      continue;
    }
    out.push_back(DecodeEntry(e));
  }
  return out;
}

FeedbackStore::FeedbackStore(redis::Pool& pool, StoreOptions options)
    : pool_(pool), options_(options), append_(kAppendScript) {}

absl::StatusOr<std::string> FeedbackStore::StreamKey(absl::string_view tenant) {
  return redis::Key(tenant, {"feedback"});
}

absl::StatusOr<std::string> FeedbackStore::DeadKey(absl::string_view tenant) {
  return redis::Key(tenant, {"feedback", "dead"});
}

std::string FeedbackStore::TrimBound() const {
  const int64_t ms = absl::ToUnixMillis(absl::Now() - options_.retention);
  return absl::StrCat(std::max<int64_t>(0, ms));
}

absl::StatusOr<std::string> FeedbackStore::Script::Sha(redis::Pool& pool,
                                                       bool reload) {
  {
    absl::MutexLock lock(&mu_);
    if (!reload && !sha_.empty()) return sha_;
  }
  ASSIGN_OR_RETURN(redis::Reply reply,
                   pool.Command({"SCRIPT", "LOAD", source_}));
  ASSIGN_OR_RETURN(std::string sha, reply.AsString());
  absl::MutexLock lock(&mu_);
  sha_ = std::move(sha);
  return sha_;
}

absl::StatusOr<redis::Reply> FeedbackStore::Script::Run(
    redis::Pool& pool, std::vector<std::string> args,
    const std::vector<std::string>& before) {
  for (int attempt = 0; attempt < 2; ++attempt) {
    ASSIGN_OR_RETURN(std::string sha, Sha(pool, attempt > 0));
    std::vector<std::vector<std::string>> commands;
    if (!before.empty()) commands.push_back(before);
    std::vector<std::string>& cmd =
        commands.emplace_back(std::vector<std::string>{"EVALSHA", sha});
    cmd.insert(cmd.end(), args.begin(), args.end());
    ASSIGN_OR_RETURN(std::vector<redis::Reply> replies,
                     pool.Pipeline(commands));
    if (!before.empty()) RETURN_IF_ERROR(replies.front().AsStatus());
    redis::Reply& reply = replies.back();
    // NOSCRIPT means the script did not run at all: loading it and running
    // it again cannot apply it twice (and `before` must be idempotent).
    if (reply.is_error() && reply.error_code() == "NOSCRIPT") continue;
    return std::move(reply);
  }
  return absl::UnavailableError(
      "redis keeps forgetting the feedback scripts (NOSCRIPT); is it "
      "restarting?");
}

absl::StatusOr<FeedbackStore::AppendResult> FeedbackStore::Append(
    absl::string_view tenant, const v1::Feedback& item,
    absl::string_view idempotency_key) {
  ASSIGN_OR_RETURN(std::string stream, StreamKey(tenant));
  v1::Feedback stored = item;
  stored.clear_id();
  stored.clear_created_at();
  std::string bytes;
  if (!stored.SerializeToString(&bytes)) {
    return absl::InternalError("feedback item could not be serialized");
  }
  std::vector<std::string> args;
  if (idempotency_key.empty()) {
    args = {"1", std::move(stream)};
  } else {
    ASSIGN_OR_RETURN(std::string idem, IdemKey(tenant, idempotency_key));
    args = {"2", std::move(stream), std::move(idem)};
  }
  args.push_back(std::move(bytes));
  args.push_back(TrimBound());
  args.push_back(Seconds(options_.idempotency_ttl));
  args.emplace_back(kForwarderGroup);
  // The tenant joins the forwarders' set in the same round trip, on every
  // submit: a set lost with a Redis that restarted without persistence is
  // rebuilt by the next item (on a cluster the set lives in another slot;
  // pipelining to it then needs a cluster-aware client).
  ASSIGN_OR_RETURN(redis::Reply reply,
                   append_.Run(pool_, std::move(args),
                               {"SADD", kTenantsKey, ToStr(tenant)}));
  RETURN_IF_ERROR(reply.AsStatus());
  if (!reply.is_array() || reply.elements().size() < 2 ||
      !reply.elements()[0].is_integer() || !reply.elements()[1].is_string()) {
    return Corrupt("append script reply");
  }
  AppendResult result;
  result.duplicate = reply.elements()[0].integer() == 0;
  result.entry.id = reply.elements()[1].str();
  if (!result.duplicate) {
    result.entry.feedback = item;
  } else if (reply.elements().size() > 2) {
    result.entry.readable =
        result.entry.feedback.ParseFromString(reply.elements()[2].str());
  } else {
    // The original entry was trimmed away; only its id is known.
    result.entry.readable = false;
  }
  StampFromId(result.entry.id, &result.entry.feedback);
  return result;
}

absl::StatusOr<std::vector<Entry>> FeedbackStore::Range(
    absl::string_view tenant, absl::string_view min, absl::string_view max,
    int count, bool newest_first, bool* exhausted) {
  ASSIGN_OR_RETURN(std::string stream, StreamKey(tenant));
  const std::string n = absl::StrCat(count);
  absl::StatusOr<redis::Reply> reply =
      newest_first ? pool_.Command({"XREVRANGE", stream, max, min, "COUNT", n})
                   : pool_.Command({"XRANGE", stream, min, max, "COUNT", n});
  if (!reply.ok()) return reply.status();
  RETURN_IF_ERROR(reply->AsStatus());
  if (exhausted != nullptr) {
    *exhausted = static_cast<int>(reply->elements().size()) < count;
  }
  return DecodeEntries(*reply);
}

absl::StatusOr<std::vector<Entry>> FeedbackStore::ReadAfter(
    redis::Pool& pool, const std::string& key, absl::string_view after,
    int count, absl::Duration block) {
  std::vector<std::string> cmd = {"XREAD", "COUNT", absl::StrCat(count)};
  if (block > absl::ZeroDuration()) {
    cmd.emplace_back("BLOCK");
    cmd.push_back(absl::StrCat(absl::ToInt64Milliseconds(block)));
  }
  cmd.emplace_back("STREAMS");
  cmd.push_back(key);
  cmd.emplace_back(after);
  ASSIGN_OR_RETURN(redis::Reply reply, pool.Command(cmd));
  RETURN_IF_ERROR(reply.AsStatus());
  if (reply.is_nil()) return std::vector<Entry>{};
  // [[key, entries]]
  if (!reply.is_array() || reply.elements().empty() ||
      !reply.elements()[0].is_array() ||
      reply.elements()[0].elements().size() != 2) {
    return Corrupt("XREAD reply");
  }
  return DecodeEntries(reply.elements()[0].elements()[1]);
}

absl::StatusOr<std::string> FeedbackStore::LastId(absl::string_view tenant) {
  ASSIGN_OR_RETURN(std::vector<Entry> last,
                   Range(tenant, "-", "+", 1, /*newest_first=*/true));
  if (last.empty()) return std::string("0-0");
  return last[0].id;
}

absl::Status FeedbackStore::PutOutcomes(
    absl::string_view tenant,
    const std::vector<std::pair<std::string, store::OutcomeEnrichment>>&
        outcomes) {
  if (outcomes.empty()) return absl::OkStatus();
  std::vector<std::vector<std::string>> commands;
  commands.reserve(outcomes.size());
  const std::string ttl = Seconds(options_.retention);
  for (const auto& [id, enrichment] : outcomes) {
    ASSIGN_OR_RETURN(std::string key, OutcomeKey(tenant, id));
    std::string bytes;
    enrichment.SerializeToString(&bytes);
    commands.push_back({"SET", std::move(key), std::move(bytes), "EX", ttl});
  }
  ASSIGN_OR_RETURN(std::vector<redis::Reply> replies, pool_.Pipeline(commands));
  for (const redis::Reply& r : replies) RETURN_IF_ERROR(r.AsStatus());
  return absl::OkStatus();
}

absl::StatusOr<absl::flat_hash_map<std::string, store::OutcomeEnrichment>>
FeedbackStore::GetOutcomes(absl::string_view tenant,
                           const std::vector<std::string>& ids) {
  absl::flat_hash_map<std::string, store::OutcomeEnrichment> out;
  constexpr size_t kBatch = 500;
  for (size_t begin = 0; begin < ids.size(); begin += kBatch) {
    const size_t end = std::min(ids.size(), begin + kBatch);
    std::vector<std::string> cmd = {"MGET"};
    for (size_t i = begin; i < end; ++i) {
      ASSIGN_OR_RETURN(std::string key, OutcomeKey(tenant, ids[i]));
      cmd.push_back(std::move(key));
    }
    ASSIGN_OR_RETURN(redis::Reply reply, pool_.Command(cmd));
    RETURN_IF_ERROR(reply.AsStatus());
    if (!reply.is_array() || reply.elements().size() != end - begin) {
      return Corrupt("MGET reply");
    }
    for (size_t i = begin; i < end; ++i) {
      const redis::Reply& r = reply.elements()[i - begin];
      if (!r.is_string()) continue;
      store::OutcomeEnrichment e;
      if (e.ParseFromString(r.str())) out.emplace(ids[i], std::move(e));
    }
  }
  return out;
}

absl::StatusOr<std::vector<std::string>> FeedbackStore::Tenants() {
  ASSIGN_OR_RETURN(redis::Reply reply,
                   pool_.Command({"SMEMBERS", kTenantsKey}));
  RETURN_IF_ERROR(reply.AsStatus());
  std::vector<std::string> out;
  for (const redis::Reply& r : reply.elements()) {
    if (r.is_string() && redis::ValidateTenant(r.str()).ok()) {
      out.push_back(r.str());
    }
  }
  return out;
}

absl::Status FeedbackStore::EnsureGroup(absl::string_view tenant) {
  ASSIGN_OR_RETURN(std::string stream, StreamKey(tenant));
  ASSIGN_OR_RETURN(redis::Reply reply,
                   pool_.Command({"XGROUP", "CREATE", stream, kForwarderGroup,
                                  "0", "MKSTREAM"}));
  if (reply.is_error() && reply.error_code() == "BUSYGROUP") {
    return absl::OkStatus();
  }
  return reply.AsStatus();
}

absl::StatusOr<std::vector<std::vector<Entry>>> FeedbackStore::ReadGroup(
    const std::vector<std::string>& tenants, absl::string_view consumer,
    int count) {
  std::vector<std::vector<std::string>> commands;
  commands.reserve(tenants.size());
  for (const std::string& tenant : tenants) {
    ASSIGN_OR_RETURN(std::string stream, StreamKey(tenant));
    commands.push_back({"XREADGROUP", "GROUP", kForwarderGroup, ToStr(consumer),
                        "COUNT", absl::StrCat(count), "STREAMS",
                        std::move(stream), ">"});
  }
  ASSIGN_OR_RETURN(std::vector<redis::Reply> replies, pool_.Pipeline(commands));
  std::vector<std::vector<Entry>> out(tenants.size());
  for (size_t i = 0; i < replies.size(); ++i) {
    const redis::Reply& r = replies[i];
    if (IsNoGroup(r)) {
      // The stream was created without the script (or deleted and
      // recreated): create the group from offset 0 and read next time.
      RETURN_IF_ERROR(EnsureGroup(tenants[i]));
      continue;
    }
    RETURN_IF_ERROR(r.AsStatus());
    if (r.is_nil()) continue;
    if (!r.is_array() || r.elements().empty() || !r.elements()[0].is_array() ||
        r.elements()[0].elements().size() != 2) {
      return Corrupt("XREADGROUP reply");
    }
    out[i] = DecodeEntries(r.elements()[0].elements()[1]);
  }
  return out;
}

absl::StatusOr<std::vector<Entry>> FeedbackStore::AutoClaim(
    absl::string_view tenant, absl::string_view consumer,
    absl::Duration min_idle, int count, std::string* cursor) {
  ASSIGN_OR_RETURN(std::string stream, StreamKey(tenant));
  const std::string start =
      cursor != nullptr && !cursor->empty() ? *cursor : "0-0";
  ASSIGN_OR_RETURN(
      redis::Reply reply,
      pool_.Command({"XAUTOCLAIM", stream, kForwarderGroup, consumer,
                     absl::StrCat(absl::ToInt64Milliseconds(min_idle)), start,
                     "COUNT", absl::StrCat(count)}));
  if (IsNoGroup(reply)) return std::vector<Entry>{};
  RETURN_IF_ERROR(reply.AsStatus());
  // [next cursor, entries, deleted ids]
  if (!reply.is_array() || reply.elements().size() < 2) {
    return Corrupt("XAUTOCLAIM reply");
  }
  if (cursor != nullptr) *cursor = reply.elements()[0].str();
  return DecodeEntries(reply.elements()[1]);
}

absl::Status FeedbackStore::Touch(absl::string_view tenant,
                                  absl::string_view consumer,
                                  const std::vector<std::string>& ids) {
  if (ids.empty()) return absl::OkStatus();
  ASSIGN_OR_RETURN(std::string stream, StreamKey(tenant));
  std::vector<std::string> cmd = {"XCLAIM", std::move(stream), kForwarderGroup,
                                  ToStr(consumer), "0"};
  cmd.insert(cmd.end(), ids.begin(), ids.end());
  cmd.emplace_back("JUSTID");
  ASSIGN_OR_RETURN(redis::Reply reply, pool_.Command(cmd));
  return reply.AsStatus();
}

absl::Status FeedbackStore::Ack(absl::string_view tenant,
                                const std::vector<std::string>& ids) {
  if (ids.empty()) return absl::OkStatus();
  ASSIGN_OR_RETURN(std::string stream, StreamKey(tenant));
  std::vector<std::string> cmd = {"XACK", std::move(stream), kForwarderGroup};
  cmd.insert(cmd.end(), ids.begin(), ids.end());
  ASSIGN_OR_RETURN(redis::Reply reply, pool_.Command(cmd));
  return reply.AsStatus();
}

absl::Status FeedbackStore::DeadLetter(absl::string_view tenant,
                                       const Entry& entry,
                                       absl::string_view error, int attempts,
                                       absl::Time now) {
  ASSIGN_OR_RETURN(std::string stream, StreamKey(tenant));
  ASSIGN_OR_RETURN(std::string dead, DeadKey(tenant));
  v1::Feedback stored = entry.feedback;
  stored.clear_id();
  stored.clear_created_at();
  std::string bytes;
  stored.SerializeToString(&bytes);
  const std::vector<std::vector<std::string>> commands = {
      {"MULTI"},
      {"XADD", std::move(dead), "MINID", "~", TrimBound(), "*", "id", entry.id,
       "f", std::move(bytes), "error", ToStr(error), "attempts",
       absl::StrCat(attempts), "failed_at",
       absl::FormatTime("%Y-%m-%dT%H:%M:%E3SZ", now, absl::UTCTimeZone())},
      {"XACK", std::move(stream), kForwarderGroup, entry.id},
      {"EXEC"}};
  ASSIGN_OR_RETURN(std::vector<redis::Reply> replies, pool_.Pipeline(commands));
  for (const redis::Reply& r : replies) RETURN_IF_ERROR(r.AsStatus());
  const redis::Reply& exec = replies.back();
  if (exec.is_nil()) return absl::AbortedError("dead letter: EXEC aborted");
  for (const redis::Reply& r : exec.elements()) RETURN_IF_ERROR(r.AsStatus());
  return absl::OkStatus();
}

absl::StatusOr<std::vector<std::optional<std::string>>>
FeedbackStore::OldestPending(const std::vector<std::string>& tenants) {
  std::vector<std::vector<std::string>> commands;
  for (const std::string& tenant : tenants) {
    ASSIGN_OR_RETURN(std::string stream, StreamKey(tenant));
    commands.push_back({"XPENDING", std::move(stream), kForwarderGroup});
  }
  ASSIGN_OR_RETURN(std::vector<redis::Reply> replies, pool_.Pipeline(commands));
  std::vector<std::optional<std::string>> out(tenants.size());
  for (size_t i = 0; i < replies.size(); ++i) {
    const redis::Reply& r = replies[i];
    if (IsNoGroup(r)) continue;
    RETURN_IF_ERROR(r.AsStatus());
    // [count, min id, max id, consumers]
    if (r.is_array() && r.elements().size() >= 2 &&
        r.elements()[1].is_string()) {
      out[i] = r.elements()[1].str();
    }
  }
  return out;
}

absl::StatusOr<std::vector<DeadLetterRecord>> FeedbackStore::DeadLetters(
    absl::string_view tenant, int count) {
  ASSIGN_OR_RETURN(std::string dead, DeadKey(tenant));
  ASSIGN_OR_RETURN(redis::Reply reply,
                   pool_.Command({"XREVRANGE", dead, "+", "-", "COUNT",
                                  absl::StrCat(count)}));
  RETURN_IF_ERROR(reply.AsStatus());
  std::vector<DeadLetterRecord> out;
  for (const redis::Reply& e : reply.elements()) {
    if (!e.is_array() || e.elements().size() != 2) continue;
    DeadLetterRecord d;
    d.entry_id = e.elements()[0].str();
    const auto& kv = e.elements()[1].elements();
    std::string id;
    for (size_t i = 0; i + 1 < kv.size(); i += 2) {
      const std::string& k = kv[i].str();
      const std::string& v = kv[i + 1].str();
      if (k == "id") {
        id = v;
      } else if (k == "f") {
        d.feedback.ParseFromString(v);
      } else if (k == "error") {
        d.error = v;
      } else if (k == "attempts") {
        (void)absl::SimpleAtoi(v, &d.attempts);
      } else if (k == "failed_at") {
        d.failed_at = v;
      }
    }
    StampFromId(id, &d.feedback);
    out.push_back(std::move(d));
  }
  return out;
}

std::string FeedbackStore::CheckPersistence() {
  absl::StatusOr<redis::Reply> reply =
      pool_.Command({"CONFIG", "GET", "appendonly"});
  if (!reply.ok() || !reply->is_array() || reply->elements().size() != 2) {
    return "";
  }
  if (reply->elements()[1].str() == "yes") return "";
  return "redis has appendonly no: acknowledged feedback survives a Redis "
         "restart only up to the last RDB snapshot; set appendonly yes and "
         "appendfsync everysec (or always)";
}

}  // namespace rapport::feedback
