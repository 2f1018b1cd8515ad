#include "services/profile/handler.h"

#include <google/protobuf/util/field_mask_util.h>
#include <google/protobuf/util/message_differencer.h>

#include <algorithm>
#include <utility>

#include "absl/container/flat_hash_set.h"
#include "absl/random/random.h"
#include "absl/strings/ascii.h"
#include "absl/strings/escaping.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "common/metrics/counters.h"
#include "common/status/item_error.h"
#include "common/status/macros.h"
#include "common/util/util.h"
#include "services/profile/model/validate.h"

namespace rapport::profile {
namespace {

using google::protobuf::util::FieldMaskUtil;
using google::protobuf::util::MessageDifferencer;

// Most ids one ListProfiles call examines when a filter matches few
// contacts; past it the call answers what it found and a token to go on.
constexpr int kListScanBudget = 5000;
constexpr int kMaxRejectedReported = 1000;
constexpr int kMaxContactsPerImportMessage = 500;

absl::Status NotFound(absl::string_view field, absl::string_view id) {
  return absl::NotFoundError(absl::StrCat(
      field, ": no contact \"", absl::CEscape(id), "\" in this tenant"));
}

// Profile without its bookkeeping, to tell whether a re-derivation changed
// anything a reader can see.
bool SameDerivedContent(v1::Profile a, v1::Profile b) {
  a.clear_version();
  a.clear_updated_at();
  b.clear_version();
  b.clear_updated_at();
  return MessageDifferencer::Equals(a, b);
}

std::string NewInteractionId() {
  return absl::StrCat("ix-",
                      absl::Hex(absl::Uniform<uint64_t>(util::ThreadBitGen()),
                                absl::kZeroPad16));
}

bool EqualsIgnoringCase(absl::string_view a, absl::string_view b) {
  return absl::EqualsIgnoreCase(absl::StripAsciiWhitespace(a),
                                absl::StripAsciiWhitespace(b));
}

// The change an upsert makes to a stored record (UpsertContact and each
// ImportContacts row): apply the mask, validate the result, normalise it,
// stamp the times. An opt-out recorded in the history (an unsubscribe or a
// complaint) stays in force: a CRM sync that still says "may contact" cannot
// clear it. Returns whether anything changed.
absl::StatusOr<bool> ApplyUpsert(const common::v1::Contact& incoming,
                                 const google::protobuf::FieldMask& mask,
                                 absl::string_view path, bool validate,
                                 absl::Time now, ContactRecord* record,
                                 bool exists) {
  common::v1::Contact merged = record->contact;
  RETURN_IF_ERROR(ApplyContactUpdate(incoming, mask, "update_mask", &merged));
  merged.set_id(incoming.id());
  if (validate) RETURN_IF_ERROR(model::ValidateContact(merged, now, path));
  model::NormalizeContact(&merged);
  if (record->history.aggregates.has_opted_out_at() &&
      !merged.do_not_contact()) {
    merged.set_do_not_contact(true);
    merged.set_do_not_contact_reason(
        record->contact.do_not_contact_reason().empty()
            ? "opted out (unsubscribe or complaint recorded)"
            : record->contact.do_not_contact_reason());
  }
  if (!exists) *merged.mutable_created_at() = util::ToTimestamp(now);
  if (exists && MessageDifferencer::Equals(merged, record->contact)) {
    return false;
  }
  *merged.mutable_updated_at() = util::ToTimestamp(now);
  record->contact = std::move(merged);
  return true;
}

}  // namespace

ProfileMetrics::ProfileMetrics(prometheus::Registry& registry)
    : created(metrics::Counter(
          registry, "rapport_profile_contacts_upserted_total",
          "Contacts written by UpsertContact and ImportContacts, by result",
          {{"result", "created"}})),
      updated(metrics::Counter(
          registry, "rapport_profile_contacts_upserted_total",
          "Contacts written by UpsertContact and ImportContacts, by result",
          {{"result", "updated"}})),
      unchanged(metrics::Counter(
          registry, "rapport_profile_contacts_upserted_total",
          "Contacts written by UpsertContact and ImportContacts, by result",
          {{"result", "unchanged"}})),
      interactions_recorded(metrics::Counter(
          registry, "rapport_profile_interactions_total",
          "RecordInteraction calls, by result", {{"result", "recorded"}})),
      interactions_duplicate(metrics::Counter(
          registry, "rapport_profile_interactions_total",
          "RecordInteraction calls, by result", {{"result", "duplicate"}})),
      insights_applied(
          metrics::Counter(registry, "rapport_profile_insights_total",
                           "Contact insights applied to profiles")),
      import_accepted(metrics::Counter(
          registry, "rapport_profile_import_rows_total",
          "ImportContacts rows, by result", {{"result", "accepted"}})),
      import_rejected(metrics::Counter(
          registry, "rapport_profile_import_rows_total",
          "ImportContacts rows, by result", {{"result", "rejected"}})),
      write_conflicts(metrics::Counter(registry,
                                       "rapport_profile_write_conflicts_total",
                                       "Compare-and-set writes that lost to a "
                                       "concurrent writer and were retried")),
      refreshes(metrics::Counter(registry, "rapport_profile_refreshes_total",
                                 "Profiles derived again on read because they "
                                 "were older than the refresh interval")),
      derivation_seconds(
          prometheus::BuildHistogram()
              .Name("rapport_profile_derivation_seconds")
              .Help("Time to derive one profile from its contact and "
                    "history")
              .Register(registry)
              .Add({}, prometheus::Histogram::BucketBoundaries{
                           1e-6, 5e-6, 1e-5, 2.5e-5, 5e-5, 1e-4, 2.5e-4, 5e-4,
                           1e-3, 2.5e-3, 1e-2})) {}

ProfileHandler::ProfileHandler(ProfileStore& store, ProfileMetrics& metrics,
                               HandlerOptions options)
    : store_(store), metrics_(metrics), options_(std::move(options)) {}

v1::Profile ProfileHandler::DeriveProfile(const ContactRecord& record,
                                          int64_t version, absl::Time now) {
  const absl::Time start = absl::Now();
  v1::Profile profile;
  model::Derive(record.contact, record.history, now, options_.derive, &profile);
  profile.set_version(version);
  *profile.mutable_updated_at() = util::ToTimestamp(now);
  metrics_.derivation_seconds.Observe(
      absl::ToDoubleSeconds(absl::Now() - start));
  return profile;
}

absl::StatusOr<ProfileHandler::MutateResult> ProfileHandler::Mutate(
    absl::string_view tenant, absl::string_view contact_id, bool create,
    const Change& change) {
  for (int attempt = 0; attempt < options_.max_attempts; ++attempt) {
    ASSIGN_OR_RETURN(std::optional<ContactRecord> loaded,
                     store_.Load(tenant, contact_id));
    const bool exists = loaded.has_value();
    if (!exists && !create) return NotFound("contact_id", contact_id);
    ContactRecord record = exists ? *std::move(loaded) : ContactRecord{};
    if (!exists) record.contact.set_id(std::string(contact_id));
    ASSIGN_OR_RETURN(bool changed, change(&record, exists));
    const absl::Time now = options_.now();
    MutateResult result;
    result.created = !exists;
    if (!changed) {
      // Nothing to write: answer the stored profile.
      ASSIGN_OR_RETURN(auto stored, store_.GetProfile(tenant, contact_id));
      if (stored.has_value()) {
        result.profile = std::move(stored->profile);
        return result;
      }
      continue;  // deleted meanwhile: start over
    }
    result.profile = DeriveProfile(record, record.version + 1, now);
    ASSIGN_OR_RETURN(bool applied,
                     store_.CompareAndSet(tenant, record, result.profile, now));
    if (applied) {
      result.changed = true;
      return result;
    }
    metrics_.write_conflicts.Increment();
    // Another writer won the race: back off a random moment that doubles
    // with each loss (full jitter, capped at 20 ms), so writers of a hot
    // contact spread out instead of colliding again.
    absl::SleepFor(util::JitteredBackoff(attempt, absl::Microseconds(100),
                                         absl::Milliseconds(20)));
  }
  return absl::AbortedError(absl::StrCat(
      "contact \"", absl::CEscape(contact_id), "\" changed ",
      options_.max_attempts,
      " times while this write was being applied; retry the call"));
}

absl::Status ApplyContactUpdate(const common::v1::Contact& incoming,
                                const google::protobuf::FieldMask& mask,
                                absl::string_view mask_field,
                                common::v1::Contact* stored) {
  const google::protobuf::Timestamp created = stored->created_at();
  const google::protobuf::Timestamp updated = stored->updated_at();
  if (mask.paths().empty()) {
    *stored = incoming;
  } else {
    const auto* descriptor = common::v1::Contact::descriptor();
    for (int i = 0; i < mask.paths_size(); ++i) {
      const std::string& path = mask.paths(i);
      const auto* field = descriptor->FindFieldByName(path);
      if (field == nullptr || path == "created_at" || path == "updated_at") {
        return absl::InvalidArgumentError(absl::StrCat(
            mask_field, ".paths[", i, "]: \"", absl::CEscape(path),
            "\" is not a settable top-level Contact field (e.g. \"title\", "
            "\"priorities\")"));
      }
    }
    FieldMaskUtil::MergeOptions options;
    options.set_replace_repeated_fields(true);
    options.set_replace_message_fields(true);
    FieldMaskUtil::MergeMessageTo(incoming, mask, options, stored);
  }
  *stored->mutable_created_at() = created;
  *stored->mutable_updated_at() = updated;
  return absl::OkStatus();
}

absl::Status ProfileHandler::UpsertContact(
    absl::string_view tenant, const v1::UpsertContactRequest& request,
    v1::UpsertContactResponse* response) {
  if (!request.has_contact()) {
    return absl::InvalidArgumentError("contact: required");
  }
  const common::v1::Contact& incoming = request.contact();
  RETURN_IF_ERROR(model::ValidateId("contact.id", incoming.id()));
  const bool full_replace = request.update_mask().paths().empty();
  if (full_replace) {
    // Bad input is answered before any I/O, even with Redis down.
    RETURN_IF_ERROR(model::ValidateContact(incoming, options_.now()));
  }
  ASSIGN_OR_RETURN(MutateResult result,
                   Mutate(tenant, incoming.id(), /*create=*/true,
                          [&](ContactRecord* record, bool exists) {
                            // A full replace was validated above; a masked one
                            // is validated once merged with what is stored.
                            return ApplyUpsert(incoming, request.update_mask(),
                                               "contact", !full_replace,
                                               options_.now(), record, exists);
                          }));
  (result.created   ? metrics_.created
   : result.changed ? metrics_.updated
                    : metrics_.unchanged)
      .Increment();
  *response->mutable_profile() = std::move(result.profile);
  response->set_created(result.created);
  return absl::OkStatus();
}

absl::Status ProfileHandler::GetProfile(absl::string_view tenant,
                                        const v1::GetProfileRequest& request,
                                        v1::Profile* response) {
  RETURN_IF_ERROR(model::ValidateId("contact_id", request.contact_id()));
  ASSIGN_OR_RETURN(auto stored,
                   store_.GetProfile(tenant, request.contact_id()));
  if (!stored.has_value()) return NotFound("contact_id", request.contact_id());
  if (IsFresh(*stored)) {
    *response = std::move(stored->profile);
    return absl::OkStatus();
  }
  return RefreshProfile(tenant, request.contact_id(), *std::move(stored),
                        response);
}

bool ProfileHandler::IsFresh(const ProfileStore::StoredProfile& stored) const {
  return options_.now() - stored.derived_at < options_.refresh_after;
}

absl::Status ProfileHandler::RefreshProfile(absl::string_view tenant,
                                            absl::string_view contact_id,
                                            ProfileStore::StoredProfile stored,
                                            v1::Profile* response) {
  // Stale: derive again as of now. Write only if a reader would see a
  // difference (a new version), else just note the derivation time.
  const absl::Time now = options_.now();
  metrics_.refreshes.Increment();
  ASSIGN_OR_RETURN(auto record, store_.Load(tenant, contact_id));
  if (!record.has_value()) return NotFound("contact_id", contact_id);
  v1::Profile fresh = DeriveProfile(*record, record->version, now);
  if (SameDerivedContent(fresh, stored.profile)) {
    RETURN_IF_ERROR(
        store_.Touch(tenant, contact_id, record->version, now).status());
    *response = std::move(stored.profile);
    return absl::OkStatus();
  }
  fresh.set_version(record->version + 1);
  ASSIGN_OR_RETURN(bool applied,
                   store_.CompareAndSet(tenant, *record, fresh, now));
  // On a conflict another writer has just derived a fresh profile; the one
  // computed here is as current, so answer it either way.
  if (!applied) fresh.set_version(record->version);
  *response = std::move(fresh);
  return absl::OkStatus();
}

absl::Status ProfileHandler::RecordInteraction(
    absl::string_view tenant, const v1::RecordInteractionRequest& request,
    v1::RecordInteractionResponse* response) {
  if (!request.has_interaction()) {
    return absl::InvalidArgumentError("interaction: required");
  }
  v1::RecordInteractionsRequest batch;
  *batch.add_interactions() = request.interaction();
  v1::RecordInteractionsResponse answer;
  RETURN_IF_ERROR(RecordInteractions(tenant, batch, &answer));
  return TakeOnlyResult(*answer.mutable_results(0), response);
}

absl::Status ProfileHandler::RecordInteractions(
    absl::string_view tenant, const v1::RecordInteractionsRequest& request,
    v1::RecordInteractionsResponse* response) {
  const int n = request.interactions_size();
  if (n == 0) {
    return absl::InvalidArgumentError(
        "interactions: required: at least one interaction");
  }
  if (n > kMaxInteractionsPerCall) {
    return absl::InvalidArgumentError(absl::StrCat(
        "interactions: ", n, " interactions; at most ", kMaxInteractionsPerCall,
        " per call, send the rest in another call"));
  }
  // The valid interactions (ids assigned), grouped by contact in the order
  // contacts first appear.
  std::vector<v1::Interaction> interactions(static_cast<size_t>(n));
  std::vector<std::pair<std::string, std::vector<int>>> contacts;
  absl::flat_hash_map<std::string, size_t> contact_index;
  const absl::Time now = options_.now();
  for (int i = 0; i < n; ++i) {
    v1::RecordInteractionResult* result = response->add_results();
    v1::Interaction& in = interactions[static_cast<size_t>(i)];
    in = request.interactions(i);
    // Named by position when the call carries more than one interaction.
    const absl::Status valid = model::ValidateInteraction(
        in, now,
        n == 1 ? std::string("interaction")
               : absl::StrCat("interactions[", i, "]"));
    if (!valid.ok()) {
      ToItemError(valid, result->mutable_error());
      continue;
    }
    if (in.id().empty()) in.set_id(NewInteractionId());
    result->mutable_response()->set_interaction_id(in.id());
    auto [it, added] =
        contact_index.try_emplace(in.contact_id(), contacts.size());
    if (added) contacts.emplace_back(in.contact_id(), std::vector<int>{});
    contacts[it->second].second.push_back(i);
  }

  bool applied_any = false;
  for (size_t c = 0; c < contacts.size(); ++c) {
    const std::string& contact_id = contacts[c].first;
    const std::vector<int>& indexes = contacts[c].second;
    std::vector<bool> duplicate(indexes.size());
    absl::StatusOr<MutateResult> result =
        Mutate(tenant, contact_id, /*create=*/false,
               [&](ContactRecord* record, bool) -> absl::StatusOr<bool> {
                 // Runs again on a write conflict, on the record as it is then.
                 bool changed = false;
                 const google::protobuf::Timestamp recorded_at =
                     util::ToTimestamp(options_.now());
                 for (size_t k = 0; k < indexes.size(); ++k) {
                   v1::Interaction copy =
                       interactions[static_cast<size_t>(indexes[k])];
                   *copy.mutable_recorded_at() = recorded_at;
                   duplicate[k] = !model::FoldInteraction(
                       copy, &record->history, options_.derive);
                   if (duplicate[k]) continue;
                   model::ApplyInteractionToContact(copy, &record->contact);
                   changed = true;
                 }
                 return changed;
               });
    if (!result.ok()) {
      const absl::Status& st = result.status();
      // NOT_FOUND (no such contact) and ABORTED (this contact kept changing
      // under the write) concern this contact only.
      if (st.code() != absl::StatusCode::kNotFound &&
          st.code() != absl::StatusCode::kAborted) {
        // Storage failing: nothing more will go through.
        if (!applied_any) return st;
        for (size_t rest = c; rest < contacts.size(); ++rest) {
          for (int i : contacts[rest].second) {
            ToItemError(st, response->mutable_results(i)->mutable_error());
          }
        }
        return absl::OkStatus();
      }
      for (int i : indexes) {
        ToItemError(st, response->mutable_results(i)->mutable_error());
      }
      continue;
    }
    applied_any = true;
    for (size_t k = 0; k < indexes.size(); ++k) {
      (duplicate[k] ? metrics_.interactions_duplicate
                    : metrics_.interactions_recorded)
          .Increment();
      v1::RecordInteractionResponse* r =
          response->mutable_results(indexes[k])->mutable_response();
      r->set_profile_version(result->profile.version());
      r->set_duplicate(duplicate[k]);
    }
  }
  return absl::OkStatus();
}

absl::Status ProfileHandler::RecordInsight(
    absl::string_view tenant, const v1::RecordInsightRequest& request,
    v1::RecordInsightResponse* response) {
  if (!request.has_insight()) {
    return absl::InvalidArgumentError("insight: required");
  }
  const common::v1::ContactInsight& insight = request.insight();
  RETURN_IF_ERROR(model::ValidateInsight(insight, options_.now()));
  bool duplicate = false;
  ASSIGN_OR_RETURN(
      MutateResult result,
      Mutate(tenant, insight.contact_id(), /*create=*/false,
             [&](ContactRecord* record, bool) -> absl::StatusOr<bool> {
               const model::InsightEffect effect = model::ApplyInsight(
                   insight, options_.now(), &record->contact, &record->history,
                   options_.derive);
               duplicate = effect.duplicate;
               return !effect.duplicate;
             }));
  if (!duplicate) metrics_.insights_applied.Increment();
  response->set_profile_version(result.profile.version());
  response->set_duplicate(duplicate);
  return absl::OkStatus();
}

bool MatchesFilter(const v1::Profile& profile,
                   const v1::ProfileFilter& filter) {
  const common::v1::Contact& c = profile.contact();
  if (filter.stage() != common::v1::BUYING_STAGE_UNSPECIFIED &&
      profile.stage() != filter.stage()) {
    return false;
  }
  if (!filter.company().empty() &&
      !EqualsIgnoringCase(c.company(), filter.company())) {
    return false;
  }
  if (!filter.industry().empty() &&
      !EqualsIgnoringCase(c.industry(), filter.industry())) {
    return false;
  }
  if (filter.has_do_not_contact() &&
      c.do_not_contact() != filter.do_not_contact()) {
    return false;
  }
  if (!filter.owner_rep_id().empty() &&
      c.owner_rep_id() != filter.owner_rep_id()) {
    return false;
  }
  if (filter.has_fatigued() &&
      profile.fatigue().fatigued() != filter.fatigued()) {
    return false;
  }
  return true;
}

std::string EncodePageToken(absl::string_view last_id,
                            const v1::ProfileFilter& filter) {
  return absl::WebSafeBase64Escape(absl::StrCat(
      "p1:", absl::Hex(util::StableFingerprint(filter)), ":", last_id));
}

absl::StatusOr<std::string> DecodePageToken(absl::string_view token,
                                            const v1::ProfileFilter& filter) {
  std::string raw;
  const absl::Status bad = absl::InvalidArgumentError(
      "page_token: not a token from a previous ListProfiles response; start "
      "again with an empty page_token");
  if (!absl::WebSafeBase64Unescape(token, &raw)) return bad;
  std::vector<absl::string_view> parts =
      absl::StrSplit(raw, absl::MaxSplits(':', 2));
  if (parts.size() != 3 || parts[0] != "p1" || parts[2].empty()) return bad;
  if (parts[1] != absl::StrCat(absl::Hex(util::StableFingerprint(filter)))) {
    return absl::InvalidArgumentError(
        "page_token: it was issued for a different filter; keep the filter "
        "unchanged while paging, or start again with an empty page_token");
  }
  return std::string(parts[2]);
}

absl::Status ProfileHandler::ListProfiles(
    absl::string_view tenant, const v1::ListProfilesRequest& request,
    v1::ListProfilesResponse* response) {
  RETURN_IF_ERROR(model::ValidateListProfilesRequest(request));
  std::string after;
  if (!request.page_token().empty()) {
    ASSIGN_OR_RETURN(after,
                     DecodePageToken(request.page_token(), request.filter()));
  }
  const int page_size = model::EffectivePageSize(request.page_size());
  const int batch = std::clamp(page_size * 2, 100, 1000);
  int examined = 0;
  while (true) {
    bool exhausted = false;
    std::string last;
    ASSIGN_OR_RETURN(std::vector<v1::Profile> profiles,
                     store_.Scan(tenant, after, batch, &exhausted, &last));
    for (size_t i = 0; i < profiles.size(); ++i) {
      if (!MatchesFilter(profiles[i], request.filter())) continue;
      *response->add_profiles() = std::move(profiles[i]);
      if (response->profiles_size() == page_size) {
        const bool nothing_after = exhausted && i + 1 == profiles.size();
        if (!nothing_after) {
          response->set_next_page_token(
              EncodePageToken(response->profiles(page_size - 1).contact().id(),
                              request.filter()));
        }
        return absl::OkStatus();
      }
    }
    if (exhausted || last.empty()) return absl::OkStatus();
    after = last;
    examined += batch;
    if (examined >= kListScanBudget) {
      // Few matches so far: answer a short page and where to go on.
      response->set_next_page_token(EncodePageToken(after, request.filter()));
      return absl::OkStatus();
    }
  }
}

absl::Status ProfileHandler::DeleteContact(
    absl::string_view tenant, const v1::DeleteContactRequest& request,
    v1::DeleteContactResponse* response) {
  RETURN_IF_ERROR(model::ValidateId("contact_id", request.contact_id()));
  ASSIGN_OR_RETURN(int removed, store_.Delete(tenant, request.contact_id()));
  if (removed == 0 && !request.allow_missing()) {
    return NotFound("contact_id", request.contact_id());
  }
  response->set_deleted_keys(removed);
  return absl::OkStatus();
}

absl::Status ProfileHandler::ImportBatch(
    absl::string_view tenant, const v1::ImportContactsRequest& request,
    int64_t first_index, v1::ImportContactsResponse* response) {
  if (request.contacts_size() > kMaxContactsPerImportMessage) {
    return absl::InvalidArgumentError(
        absl::StrCat("contacts: at most ", kMaxContactsPerImportMessage,
                     " contacts per ImportContactsRequest message, got ",
                     request.contacts_size(), "; split the batch"));
  }
  // A bad mask is a bad request, not a bad row.
  {
    common::v1::Contact probe;
    RETURN_IF_ERROR(ApplyContactUpdate(
        common::v1::Contact(), request.update_mask(), "update_mask", &probe));
  }
  const absl::Time now = options_.now();
  const bool full_replace = request.update_mask().paths().empty();

  auto reject = [&](int i, const absl::Status& status) {
    response->set_rejected_count(response->rejected_count() + 1);
    metrics_.import_rejected.Increment();
    if (response->rejected_size() >= kMaxRejectedReported) return;
    v1::RejectedContact* r = response->add_rejected();
    r->set_index(static_cast<int32_t>(first_index + i));
    const std::string& id = request.contacts(i).id();
    r->set_contact_id(id.substr(0, model::kMaxIdBytes));
    r->set_field(model::ViolationField(status));
    r->set_reason(model::ViolationReason(status));
  };
  auto accept = [&](bool created) {
    response->set_accepted_count(response->accepted_count() + 1);
    if (created) response->set_created_count(response->created_count() + 1);
    metrics_.import_accepted.Increment();
    (created ? metrics_.created : metrics_.updated).Increment();
  };

  // The change one row makes, shared by the batched path and the retry.
  auto change_for = [&](const common::v1::Contact& incoming) {
    return [&, incoming](ContactRecord* record, bool exists) {
      return ApplyUpsert(incoming, request.update_mask(), "",
                         /*validate=*/true, now, record, exists);
    };
  };

  // Rows that pass the id check, first occurrence of each id only; later
  // duplicates within the message are applied one by one afterwards.
  std::vector<int> rows;
  std::vector<int> later;
  std::vector<std::string> ids;
  absl::flat_hash_set<std::string> seen;
  for (int i = 0; i < request.contacts_size(); ++i) {
    const common::v1::Contact& c = request.contacts(i);
    if (absl::Status st = model::ValidateId("id", c.id()); !st.ok()) {
      reject(i, st);
      continue;
    }
    if (full_replace) {
      if (absl::Status st = model::ValidateContact(c, now, ""); !st.ok()) {
        reject(i, st);
        continue;
      }
    }
    if (!seen.insert(c.id()).second) {
      later.push_back(i);
      continue;
    }
    rows.push_back(i);
    ids.push_back(c.id());
  }

  ASSIGN_OR_RETURN(auto loaded, store_.LoadMany(tenant, ids));
  std::vector<ContactRecord> records(rows.size());
  std::vector<v1::Profile> profiles(rows.size());
  std::vector<ProfileStore::Write> writes;
  std::vector<size_t> write_rows;
  for (size_t k = 0; k < rows.size(); ++k) {
    const int i = rows[k];
    const bool exists = loaded[k].has_value();
    records[k] = exists ? *std::move(loaded[k]) : ContactRecord{};
    if (!exists) records[k].contact.set_id(ids[k]);
    auto changed = change_for(request.contacts(i))(&records[k], exists);
    if (!changed.ok()) {
      reject(i, changed.status());
      continue;
    }
    if (!*changed) {
      accept(false);
      continue;
    }
    profiles[k] = DeriveProfile(records[k], records[k].version + 1, now);
    writes.push_back({&records[k], &profiles[k]});
    write_rows.push_back(k);
  }
  ASSIGN_OR_RETURN(std::vector<bool> applied,
                   store_.CompareAndSetMany(tenant, writes, now));
  for (size_t w = 0; w < applied.size(); ++w) {
    const size_t k = write_rows[w];
    if (applied[w]) {
      accept(records[k].version == 0);
      continue;
    }
    metrics_.write_conflicts.Increment();
    later.push_back(rows[k]);  // a concurrent writer won: apply on top
  }
  std::sort(later.begin(), later.end());
  for (int i : later) {
    const common::v1::Contact& c = request.contacts(i);
    auto result = Mutate(tenant, c.id(), /*create=*/true, change_for(c));
    if (!result.ok()) {
      if (result.status().code() != absl::StatusCode::kInvalidArgument) {
        return result.status();
      }
      reject(i, result.status());
      continue;
    }
    accept(result->created);
  }
  return absl::OkStatus();
}

}  // namespace rapport::profile
