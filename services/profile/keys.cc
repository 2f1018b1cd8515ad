#include "services/profile/keys.h"

#include "common/redis/keys.h"

namespace rapport::profile {

absl::StatusOr<std::string> ContactKey(absl::string_view tenant,
                                       absl::string_view contact_id) {
  return redis::Key(tenant, {"contact", contact_id});
}

absl::StatusOr<std::string> ContactIndexKey(absl::string_view tenant) {
  return redis::Key(tenant, {"contacts"});
}

}  // namespace rapport::profile
