#pragma once

// Redis key names of profile-service's data, shared with scoring-service,
// which reads the cached profile (field "p") directly: one HGET per score.
// The layout is documented in store.h.

#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace rapport::profile {

// rapport:{tenant}:contact:<id>: the hash holding one contact's record.
absl::StatusOr<std::string> ContactKey(absl::string_view tenant,
                                       absl::string_view contact_id);
// rapport:{tenant}:contacts: the sorted set of the tenant's contact ids.
absl::StatusOr<std::string> ContactIndexKey(absl::string_view tenant);

// Hash fields of a contact record.
inline constexpr char kVersionField[] = "v";
inline constexpr char kContactField[] = "c";
inline constexpr char kHistoryField[] = "h";
inline constexpr char kProfileField[] = "p";
inline constexpr char kDerivedAtField[] = "d";

// Every script that changes or deletes a contact hash publishes the hash's
// key on this channel, atomically with the change, so that processes
// caching profiles (profile-service, scoring-service) drop their copy
// (common/redis/coherent_cache.h). One channel for all tenants: the payload
// is the full key, tenant included.
inline constexpr char kContactChangesChannel[] = "rapport:contact-changes";

}  // namespace rapport::profile
