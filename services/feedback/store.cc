#include "services/feedback/store.h"

#include <openssl/sha.h>

#include <cstring>
#include <utility>

#include "absl/strings/escaping.h"
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

// Replays dead letters: puts each one's stream entry back into the
// forwarder group's pending list and deletes the dead letter, atomically.
// KEYS[1] stream, KEYS[2] dead-letter stream. ARGV: group, consumer, idle
// ms, then dead-letter entry ids. XCLAIM ... FORCE creates the pending
// entry although the entry was acknowledged; IDLE makes it old enough for
// the next XAUTOCLAIM of any forwarder. An entry no longer in the stream
// (trimmed or deleted) cannot be replayed: its dead letter stays. Returns
// {replayed feedback ids, feedback ids missing from the stream}; dead
// letters already gone (replayed concurrently) are in neither.
constexpr char kReplayScript[] = R"lua(
local replayed, missing = {}, {}
for i = 4, #ARGV do
  local e = redis.call('XRANGE', KEYS[2], ARGV[i], ARGV[i])
  if e[1] then
    local fields, id = e[1][2], nil
    for j = 1, #fields, 2 do
      if fields[j] == 'id' then id = fields[j + 1] end
    end
    local claimed = {}
    if id then
      claimed = redis.call('XCLAIM', KEYS[1], ARGV[1], ARGV[2], 0, id,
                           'IDLE', ARGV[3], 'FORCE', 'JUSTID')
    end
    if #claimed == 1 then
      redis.call('XDEL', KEYS[2], ARGV[i])
      replayed[#replayed + 1] = id
    else
      missing[#missing + 1] = id or ARGV[i]
    end
  end
end
return {replayed, missing}
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

bool IsNoScript(const redis::Reply& r) {
  return r.is_error() && r.error_code() == "NOSCRIPT";
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

FeedbackStore::FeedbackStore(redis::Pool& pool, redis::AsyncClient* async,
                             StoreOptions options)
    : pool_(pool),
      async_(async),
      options_(options),
      append_(kAppendScript),
      replay_(kReplayScript) {}

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

FeedbackStore::Script::Script(const char* source) : source_(source) {
  unsigned char digest[SHA_DIGEST_LENGTH];
  SHA1(reinterpret_cast<const unsigned char*>(source), std::strlen(source),
       digest);
  sha_ = absl::BytesToHexString(
      absl::string_view(reinterpret_cast<const char*>(digest), sizeof(digest)));
}

std::vector<std::string> FeedbackStore::Script::Command(
    const std::vector<std::string>& args, bool with_source) const {
  std::vector<std::string> cmd;
  cmd.reserve(args.size() + 2);
  cmd.emplace_back(with_source ? "EVAL" : "EVALSHA");
  cmd.emplace_back(with_source ? source_ : sha_);
  cmd.insert(cmd.end(), args.begin(), args.end());
  return cmd;
}

absl::StatusOr<redis::Reply> FeedbackStore::Script::Run(
    redis::Pool& pool, const std::vector<std::string>& args) const {
  ASSIGN_OR_RETURN(redis::Reply reply, pool.Command(Command(args, false)));
  if (!IsNoScript(reply)) return reply;
  return pool.Command(Command(args, true));
}

absl::StatusOr<FeedbackStore::PreparedAppend> FeedbackStore::PrepareAppend(
    absl::string_view tenant, const v1::Feedback& item,
    absl::string_view idempotency_key) const {
  PreparedAppend out;
  ASSIGN_OR_RETURN(std::string stream, StreamKey(tenant));
  out.item = item;
  out.item.clear_id();
  out.item.clear_created_at();
  std::string bytes;
  if (!out.item.SerializeToString(&bytes)) {
    return absl::InternalError("feedback item could not be serialized");
  }
  std::vector<std::string>& args = out.script_args;
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
  out.sadd = {"SADD", kTenantsKey, ToStr(tenant)};
  return out;
}

absl::StatusOr<FeedbackStore::AppendResult> FeedbackStore::ParseAppend(
    const redis::Reply& sadd, const redis::Reply& reply,
    const v1::Feedback& item) {
  RETURN_IF_ERROR(sadd.AsStatus());
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

absl::StatusOr<FeedbackStore::AppendResult> FeedbackStore::Append(
    absl::string_view tenant, const v1::Feedback& item,
    absl::string_view idempotency_key) {
  ASSIGN_OR_RETURN(PreparedAppend prepared,
                   PrepareAppend(tenant, item, idempotency_key));
  for (const bool with_source : {false, true}) {
    ASSIGN_OR_RETURN(
        std::vector<redis::Reply> replies,
        pool_.Pipeline({prepared.sadd,
                        append_.Command(prepared.script_args, with_source)}));
    if (!with_source && IsNoScript(replies[1])) continue;
    return ParseAppend(replies[0], replies[1], prepared.item);
  }
  return absl::InternalError("unreachable: EVAL answered NOSCRIPT");
}

struct FeedbackStore::AsyncAppend {
  PreparedAppend prepared;
  AppendDone done;
  bool with_source = false;
};

void FeedbackStore::Append(absl::string_view tenant, const v1::Feedback& item,
                           absl::string_view idempotency_key, AppendDone done) {
  if (async_ == nullptr) {
    std::move(done)(Append(tenant, item, idempotency_key));
    return;
  }
  absl::StatusOr<PreparedAppend> prepared =
      PrepareAppend(tenant, item, idempotency_key);
  if (!prepared.ok()) {
    std::move(done)(prepared.status());
    return;
  }
  auto op = std::make_unique<AsyncAppend>();
  op->prepared = *std::move(prepared);
  op->done = std::move(done);
  SendAppend(std::move(op));
}

void FeedbackStore::SendAppend(std::unique_ptr<AsyncAppend> op) {
  std::vector<std::vector<std::string>> commands = {
      op->prepared.sadd,
      append_.Command(op->prepared.script_args, op->with_source)};
  async_->Pipeline(
      commands, [this, op = std::move(op)](
                    absl::StatusOr<std::vector<redis::Reply>> replies) mutable {
        if (!replies.ok()) {
          std::move(op->done)(replies.status());
          return;
        }
        if (!op->with_source && IsNoScript((*replies)[1])) {
          // Sent again from the I/O thread (allowed by AsyncClient).
          op->with_source = true;
          SendAppend(std::move(op));
          return;
        }
        std::move(op->done)(
            ParseAppend((*replies)[0], (*replies)[1], op->prepared.item));
      });
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

absl::StatusOr<std::vector<FeedbackStore::Backlog>> FeedbackStore::Backlogs(
    const std::vector<std::string>& tenants) {
  // Per tenant: XPENDING (count, oldest pending id) and XINFO GROUPS (the
  // group's last-delivered-id and lag, the entries not read yet), in one
  // round trip; then, for tenants with unread entries, the first unread
  // entry's id.
  std::vector<std::vector<std::string>> commands;
  std::vector<std::string> streams;
  for (const std::string& tenant : tenants) {
    ASSIGN_OR_RETURN(std::string stream, StreamKey(tenant));
    commands.push_back({"XPENDING", stream, kForwarderGroup});
    commands.push_back({"XINFO", "GROUPS", stream});
    streams.push_back(std::move(stream));
  }
  ASSIGN_OR_RETURN(std::vector<redis::Reply> replies, pool_.Pipeline(commands));
  std::vector<Backlog> out(tenants.size());
  std::vector<std::vector<std::string>> next_commands;
  std::vector<size_t> next_of;
  for (size_t i = 0; i < tenants.size(); ++i) {
    const redis::Reply& pending = replies[2 * i];
    const redis::Reply& groups = replies[2 * i + 1];
    if (IsNoGroup(pending) ||
        (groups.is_error() && groups.error_code() == "ERR")) {
      continue;  // no stream or group yet: nothing to forward
    }
    RETURN_IF_ERROR(pending.AsStatus());
    RETURN_IF_ERROR(groups.AsStatus());
    // [count, min id, max id, consumers]
    if (pending.is_array() && pending.elements().size() >= 2) {
      if (pending.elements()[0].is_integer()) {
        out[i].pending = pending.elements()[0].integer();
      }
      if (pending.elements()[1].is_string()) {
        out[i].oldest_pending = pending.elements()[1].str();
      }
    }
    std::string last_delivered;
    for (const redis::Reply& g : groups.elements()) {
      if (!g.is_array()) continue;
      const auto& kv = g.elements();
      bool ours = false;
      std::string delivered;
      std::optional<int64_t> lag;
      for (size_t j = 0; j + 1 < kv.size(); j += 2) {
        const std::string& k = kv[j].str();
        if (k == "name") ours = kv[j + 1].str() == kForwarderGroup;
        if (k == "last-delivered-id") delivered = kv[j + 1].str();
        if (k == "lag" && kv[j + 1].is_integer()) lag = kv[j + 1].integer();
      }
      if (!ours) continue;
      last_delivered = delivered;
      // A nil lag means Redis cannot tell (after XDEL/XSETID): look.
      out[i].unread = lag.value_or(-1);
    }
    if (out[i].unread != 0 && !last_delivered.empty()) {
      next_commands.push_back({"XRANGE", streams[i],
                               absl::StrCat("(", last_delivered), "+", "COUNT",
                               "1"});
      next_of.push_back(i);
    }
  }
  if (next_commands.empty()) return out;
  ASSIGN_OR_RETURN(std::vector<redis::Reply> next,
                   pool_.Pipeline(next_commands));
  for (size_t k = 0; k < next.size(); ++k) {
    RETURN_IF_ERROR(next[k].AsStatus());
    std::vector<Entry> first = DecodeEntries(next[k]);
    Backlog& b = out[next_of[k]];
    if (first.empty()) {
      b.unread = 0;
    } else {
      b.oldest_unread = first[0].id;
      if (b.unread < 0) b.unread = 1;  // at least one; count unknown
    }
  }
  return out;
}

absl::StatusOr<std::vector<DeadLetterRecord>> FeedbackStore::DeadLetters(
    absl::string_view tenant, int count, absl::string_view before) {
  ASSIGN_OR_RETURN(std::string dead, DeadKey(tenant));
  const std::string max =
      before.empty() ? std::string("+") : absl::StrCat("(", before);
  ASSIGN_OR_RETURN(redis::Reply reply,
                   pool_.Command({"XREVRANGE", dead, max, "-", "COUNT",
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

absl::StatusOr<FeedbackStore::ReplayResult> FeedbackStore::ReplayDeadLetters(
    absl::string_view tenant, const std::vector<std::string>& dead_entry_ids) {
  ReplayResult out;
  if (dead_entry_ids.empty()) return out;
  ASSIGN_OR_RETURN(std::string stream, StreamKey(tenant));
  ASSIGN_OR_RETURN(std::string dead, DeadKey(tenant));
  for (const std::string& id : dead_entry_ids) {
    if (!ParseStreamId(id).has_value()) {
      return absl::InvalidArgumentError(absl::StrCat(
          "dead letter id \"", absl::CEscape(id), "\" is not a stream id"));
    }
  }
  constexpr size_t kBatch = 500;  // bounds how long one script holds Redis
  for (size_t begin = 0; begin < dead_entry_ids.size(); begin += kBatch) {
    const size_t end = std::min(dead_entry_ids.size(), begin + kBatch);
    std::vector<std::string> args = {
        "2",
        stream,
        dead,
        kForwarderGroup,
        kReplayConsumer,
        absl::StrCat(absl::ToInt64Milliseconds(kReplayIdle))};
    args.insert(args.end(), dead_entry_ids.begin() + begin,
                dead_entry_ids.begin() + end);
    ASSIGN_OR_RETURN(redis::Reply reply, replay_.Run(pool_, args));
    RETURN_IF_ERROR(reply.AsStatus());
    if (!reply.is_array() || reply.elements().size() != 2) {
      return Corrupt("replay script reply");
    }
    for (const redis::Reply& r : reply.elements()[0].elements()) {
      out.replayed.push_back(r.str());
    }
    for (const redis::Reply& r : reply.elements()[1].elements()) {
      out.missing.push_back(r.str());
    }
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
