#include "services/profile/store.h"

#include <string_view>
#include <utility>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"

namespace rapport::profile {
namespace {

// Each script that changes a contact hash publishes its key on
// kContactChangesChannel (keys.h) in the same atomic step.

// KEYS[1] contact hash, KEYS[2] id index.
// ARGV: expected version, new version, contact, history, profile,
// derived-at micros, contact id.
constexpr char kCasScript[] = R"lua(
local cur = redis.call('HGET', KEYS[1], 'v')
if (cur or '0') ~= ARGV[1] then return 0 end
redis.call('HSET', KEYS[1], 'v', ARGV[2], 'c', ARGV[3], 'h', ARGV[4],
           'p', ARGV[5], 'd', ARGV[6])
redis.call('ZADD', KEYS[2], 0, ARGV[7])
redis.call('PUBLISH', 'rapport:contact-changes', KEYS[1])
return 1
)lua";

// KEYS[1] contact hash, KEYS[2] id index. ARGV[1] contact id.
constexpr char kDeleteScript[] = R"lua(
local n = redis.call('DEL', KEYS[1])
redis.call('ZREM', KEYS[2], ARGV[1])
redis.call('PUBLISH', 'rapport:contact-changes', KEYS[1])
return n
)lua";

// KEYS[1] contact hash. ARGV: expected version, derived-at micros.
constexpr char kTouchScript[] = R"lua(
if redis.call('HGET', KEYS[1], 'v') ~= ARGV[1] then return 0 end
redis.call('HSET', KEYS[1], 'd', ARGV[2])
redis.call('PUBLISH', 'rapport:contact-changes', KEYS[1])
return 1
)lua";

static_assert(std::string_view(kContactChangesChannel) ==
                  "rapport:contact-changes",
              "the scripts above name the channel literally");

// Parses HMGET v c h replies into a record.
absl::StatusOr<std::optional<ContactRecord>> ParseRecord(
    const redis::Reply& reply) {
  if (reply.is_error()) return reply.AsStatus();
  if (!reply.is_array() || reply.elements().size() != 3) {
    return CorruptContact("unexpected reply shape");
  }
  const auto& e = reply.elements();
  if (e[0].is_nil()) return std::nullopt;
  ContactRecord record;
  if (!e[0].is_string() || !absl::SimpleAtoi(e[0].str(), &record.version) ||
      record.version < 1) {
    return CorruptContact("version");
  }
  if (!e[1].is_string() || !record.contact.ParseFromString(e[1].str())) {
    return CorruptContact("contact");
  }
  if (!e[2].is_string()) return CorruptContact("history");
  auto history = model::ParseHistory(e[2].str());
  if (!history.ok()) return history.status();
  record.history = *std::move(history);
  return record;
}

std::string Micros(absl::Time t) { return absl::StrCat(absl::ToUnixMicros(t)); }

}  // namespace

ProfileStore::ProfileStore(redis::Pool& pool)
    : pool_(pool),
      cas_(kCasScript),
      delete_(kDeleteScript),
      touch_(kTouchScript) {}

absl::StatusOr<std::string> ProfileStore::Script::Sha(redis::Pool& pool,
                                                      bool reload) {
  {
    absl::MutexLock lock(&mu_);
    if (!reload && !sha_.empty()) return sha_;
  }
  auto reply = pool.Command({"SCRIPT", "LOAD", source_});
  if (!reply.ok()) return reply.status();
  auto sha = reply->AsString();
  if (!sha.ok()) return sha.status();
  absl::MutexLock lock(&mu_);
  sha_ = *sha;
  return sha_;
}

void ProfileStore::Changed(absl::string_view key) const {
  if (on_change_) on_change_(key);
}

absl::StatusOr<std::vector<redis::Reply>> ProfileStore::Script::Run(
    redis::Pool& pool, const std::vector<std::vector<std::string>>& calls) {
  for (int attempt = 0; attempt < 2; ++attempt) {
    auto sha = Sha(pool, attempt > 0);
    if (!sha.ok()) return sha.status();
    std::vector<std::vector<std::string>> commands;
    commands.reserve(calls.size());
    for (const auto& call : calls) {
      std::vector<std::string> cmd = {"EVALSHA", *sha};
      cmd.insert(cmd.end(), call.begin(), call.end());
      commands.push_back(std::move(cmd));
    }
    auto replies = pool.Pipeline(commands);
    if (!replies.ok()) return replies.status();
    bool noscript = false;
    for (const redis::Reply& r : *replies) {
      if (r.is_error() && r.error_code() == "NOSCRIPT") noscript = true;
    }
    // A NOSCRIPT reply means that command did nothing; the others are
    // idempotent compare-and-sets, so re-running the batch is safe.
    if (!noscript) return replies;
  }
  return absl::UnavailableError(
      "redis keeps forgetting the profile scripts (NOSCRIPT); is it "
      "restarting?");
}

absl::StatusOr<std::optional<ContactRecord>> ProfileStore::Load(
    absl::string_view tenant, absl::string_view contact_id) {
  auto many = LoadMany(tenant, {std::string(contact_id)});
  if (!many.ok()) return many.status();
  return std::move((*many)[0]);
}

absl::StatusOr<std::vector<std::optional<ContactRecord>>>
ProfileStore::LoadMany(absl::string_view tenant,
                       const std::vector<std::string>& contact_ids) {
  std::vector<std::vector<std::string>> commands;
  commands.reserve(contact_ids.size());
  for (const std::string& id : contact_ids) {
    auto key = ContactKey(tenant, id);
    if (!key.ok()) return key.status();
    commands.push_back(
        {"HMGET", *key, kVersionField, kContactField, kHistoryField});
  }
  auto replies = pool_.Pipeline(commands);
  if (!replies.ok()) return replies.status();
  std::vector<std::optional<ContactRecord>> out;
  out.reserve(replies->size());
  for (const redis::Reply& reply : *replies) {
    auto record = ParseRecord(reply);
    if (!record.ok()) return record.status();
    out.push_back(*std::move(record));
  }
  return out;
}

absl::StatusOr<bool> ProfileStore::CompareAndSet(absl::string_view tenant,
                                                 const ContactRecord& record,
                                                 const v1::Profile& profile,
                                                 absl::Time derived_at) {
  auto results =
      CompareAndSetMany(tenant, {Write{&record, &profile}}, derived_at);
  if (!results.ok()) return results.status();
  return (*results)[0];
}

absl::StatusOr<std::vector<bool>> ProfileStore::CompareAndSetMany(
    absl::string_view tenant, const std::vector<Write>& writes,
    absl::Time derived_at) {
  auto index = ContactIndexKey(tenant);
  if (!index.ok()) return index.status();
  std::vector<std::vector<std::string>> calls;
  calls.reserve(writes.size());
  const std::string derived = Micros(derived_at);
  for (const Write& w : writes) {
    const std::string& id = w.record->contact.id();
    auto key = ContactKey(tenant, id);
    if (!key.ok()) return key.status();
    std::string contact;
    std::string profile;
    w.record->contact.SerializeToString(&contact);
    w.profile->SerializeToString(&profile);
    calls.push_back({"2", *key, *index, absl::StrCat(w.record->version),
                     absl::StrCat(w.record->version + 1), std::move(contact),
                     model::SerializeHistory(w.record->history),
                     std::move(profile), derived, id});
  }
  auto replies = cas_.Run(pool_, calls);
  for (const auto& call : calls) Changed(call[1]);
  if (!replies.ok()) return replies.status();
  std::vector<bool> out;
  out.reserve(replies->size());
  for (const redis::Reply& r : *replies) {
    auto applied = r.AsInteger();
    if (!applied.ok()) return applied.status();
    out.push_back(*applied == 1);
  }
  return out;
}

absl::StatusOr<std::optional<ProfileStore::StoredProfile>>
ProfileStore::GetProfile(absl::string_view tenant,
                         absl::string_view contact_id) {
  auto command = profile::GetProfileCommand(tenant, contact_id);
  if (!command.ok()) return command.status();
  auto reply = pool_.Command(*command);
  if (!reply.ok()) return reply.status();
  return profile::ParseProfileReply(*reply);
}

absl::StatusOr<std::vector<v1::Profile>> ProfileStore::Scan(
    absl::string_view tenant, absl::string_view after_id, int limit,
    bool* exhausted, std::string* last_id) {
  auto index = ContactIndexKey(tenant);
  if (!index.ok()) return index.status();
  const std::string min = after_id.empty() ? "-" : absl::StrCat("(", after_id);
  auto ids = pool_.Command(
      {"ZRANGEBYLEX", *index, min, "+", "LIMIT", "0", absl::StrCat(limit)});
  if (!ids.ok()) return ids.status();
  if (ids->is_error()) return ids->AsStatus();
  *exhausted = static_cast<int>(ids->elements().size()) < limit;
  std::vector<std::vector<std::string>> commands;
  for (const redis::Reply& id : ids->elements()) {
    auto key = ContactKey(tenant, id.str());
    if (!key.ok()) return key.status();
    commands.push_back({"HGET", *key, kProfileField});
    *last_id = id.str();
  }
  auto replies = pool_.Pipeline(commands);
  if (!replies.ok()) return replies.status();
  std::vector<v1::Profile> out;
  out.reserve(replies->size());
  for (const redis::Reply& r : *replies) {
    // An id whose hash vanished between the two reads was deleted
    // meanwhile: skip it.
    if (r.is_nil()) continue;
    if (!r.is_string()) return CorruptContact("profile");
    v1::Profile& p = out.emplace_back();
    if (!p.ParseFromString(r.str())) return CorruptContact("profile");
  }
  return out;
}

absl::StatusOr<bool> ProfileStore::Touch(absl::string_view tenant,
                                         absl::string_view contact_id,
                                         int64_t version,
                                         absl::Time derived_at) {
  auto key = ContactKey(tenant, contact_id);
  if (!key.ok()) return key.status();
  auto replies = touch_.Run(
      pool_, {{"1", *key, absl::StrCat(version), Micros(derived_at)}});
  Changed(*key);
  if (!replies.ok()) return replies.status();
  auto n = (*replies)[0].AsInteger();
  if (!n.ok()) return n.status();
  return *n == 1;
}

absl::StatusOr<int> ProfileStore::Delete(absl::string_view tenant,
                                         absl::string_view contact_id) {
  auto key = ContactKey(tenant, contact_id);
  if (!key.ok()) return key.status();
  auto index = ContactIndexKey(tenant);
  if (!index.ok()) return index.status();
  auto replies =
      delete_.Run(pool_, {{"2", *key, *index, std::string(contact_id)}});
  Changed(*key);
  if (!replies.ok()) return replies.status();
  auto n = (*replies)[0].AsInteger();
  if (!n.ok()) return n.status();
  return static_cast<int>(*n);
}

}  // namespace rapport::profile
