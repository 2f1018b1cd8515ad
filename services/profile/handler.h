#pragma once

// The request logic of profile-service, as plain functions over the store
// and the pure model: validate, load, compute, store, answer (STYLE.md #1).
// No gRPC types here; service.cc adapts these to the callback API.

#include <prometheus/counter.h>
#include <prometheus/histogram.h>
#include <prometheus/registry.h>

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "rapport/profile/v1/profile.pb.h"
#include "services/profile/model/derive.h"
#include "services/profile/store.h"

namespace rapport::profile {

struct HandlerOptions {
  model::DeriveOptions derive;
  // A stored profile older than this is derived again on read, so
  // time-dependent fields (fatigue, decayed interests, gaps) stay current for
  // contacts nobody writes to.
  absl::Duration refresh_after = absl::Hours(1);
  // Compare-and-set attempts before giving up with ABORTED.
  int max_attempts = 32;
  // Clock, replaceable in tests.
  std::function<absl::Time()> now = [] { return absl::Now(); };
};

// Counters and histograms of profile-service, resolved once.
class ProfileMetrics {
 public:
  explicit ProfileMetrics(prometheus::Registry& registry);

  prometheus::Counter& created;
  prometheus::Counter& updated;
  prometheus::Counter& unchanged;
  prometheus::Counter& interactions_recorded;
  prometheus::Counter& interactions_duplicate;
  prometheus::Counter& insights_applied;
  prometheus::Counter& import_accepted;
  prometheus::Counter& import_rejected;
  prometheus::Counter& write_conflicts;
  prometheus::Counter& refreshes;
  prometheus::Histogram& derivation_seconds;
};

class ProfileHandler {
 public:
  ProfileHandler(ProfileStore& store, ProfileMetrics& metrics,
                 HandlerOptions options = {});

  absl::Status UpsertContact(absl::string_view tenant,
                             const v1::UpsertContactRequest& request,
                             v1::UpsertContactResponse* response);
  absl::Status GetProfile(absl::string_view tenant,
                          const v1::GetProfileRequest& request,
                          v1::Profile* response);
  // The two halves of GetProfile, for the asynchronous read path: whether a
  // stored profile can be answered as it is, and the answer for a stale one
  // (derive again, store if changed; blocking).
  bool IsFresh(const ProfileStore::StoredProfile& stored) const;
  absl::Status RefreshProfile(absl::string_view tenant,
                              absl::string_view contact_id,
                              ProfileStore::StoredProfile stored,
                              v1::Profile* response);
  absl::Status RecordInteraction(absl::string_view tenant,
                                 const v1::RecordInteractionRequest& request,
                                 v1::RecordInteractionResponse* response);
  // Up to kMaxInteractionsPerCall interactions; each contact's applied in
  // request order with one write of its record; per-interaction errors in
  // the results (see profile.proto).
  static constexpr int kMaxInteractionsPerCall = 1000;
  absl::Status RecordInteractions(absl::string_view tenant,
                                  const v1::RecordInteractionsRequest& request,
                                  v1::RecordInteractionsResponse* response);
  absl::Status RecordInsight(absl::string_view tenant,
                             const v1::RecordInsightRequest& request,
                             v1::RecordInsightResponse* response);
  absl::Status ListProfiles(absl::string_view tenant,
                            const v1::ListProfilesRequest& request,
                            v1::ListProfilesResponse* response);
  absl::Status DeleteContact(absl::string_view tenant,
                             const v1::DeleteContactRequest& request,
                             v1::DeleteContactResponse* response);

  // One message of an ImportContacts stream. `first_index` is the stream
  // position of its first contact. Bad rows are appended to `response`
  // (rejected_count always, `rejected` up to 1000 entries) and never fail
  // the call; a storage failure does (nothing of this message is then
  // reported as accepted, and what was stored of it is consistent, each
  // contact being written atomically).
  absl::Status ImportBatch(absl::string_view tenant,
                           const v1::ImportContactsRequest& request,
                           int64_t first_index,
                           v1::ImportContactsResponse* response);

 private:
  // Applies `change` to the contact's record and stores the result with its
  // derived profile, retrying on concurrent writes. `change` returns whether
  // it changed anything (nothing is written otherwise) or an error. With
  // `create` false an unknown contact is NOT_FOUND.
  struct MutateResult {
    v1::Profile profile;
    bool created = false;
    bool changed = false;
  };
  using Change =
      std::function<absl::StatusOr<bool>(ContactRecord* record, bool exists)>;
  absl::StatusOr<MutateResult> Mutate(absl::string_view tenant,
                                      absl::string_view contact_id, bool create,
                                      const Change& change);

  // Derives the profile of `record` as of `now`, for version `version`.
  v1::Profile DeriveProfile(const ContactRecord& record, int64_t version,
                            absl::Time now);

  ProfileStore& store_;
  ProfileMetrics& metrics_;
  HandlerOptions options_;
};

// Applies an UpsertContact/ImportContacts update mask: `incoming` replaces
// `stored` entirely when the mask is empty, else only the named top-level
// fields. Server-owned fields (created_at, updated_at) are kept. An unknown
// or output-only path is INVALID_ARGUMENT naming `mask_field`.
absl::Status ApplyContactUpdate(const common::v1::Contact& incoming,
                                const google::protobuf::FieldMask& mask,
                                absl::string_view mask_field,
                                common::v1::Contact* stored);

// Opaque ListProfiles page tokens: the last contact id returned, bound to the
// filter it was issued for.
std::string EncodePageToken(absl::string_view last_id,
                            const v1::ProfileFilter& filter);
absl::StatusOr<std::string> DecodePageToken(absl::string_view token,
                                            const v1::ProfileFilter& filter);

// Whether a profile passes a ListProfiles filter.
bool MatchesFilter(const v1::Profile& profile, const v1::ProfileFilter& filter);

}  // namespace rapport::profile
