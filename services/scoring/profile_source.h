#pragma once

// Where scoring-service gets the recipient's profile for a contact_id.
//
// First the profile that profile-service caches in the shared Redis (one
// HGET, DESIGN.md "Performance notes"); on a miss, profile-service itself
// over gRPC with a short deadline (it is authoritative for NOT_FOUND). When
// neither can answer, the caller scores without a profile and says so in the
// report (degradation PROFILE_UNAVAILABLE): a profile-service outage never
// fails a scoring request.

#include <grpcpp/grpcpp.h>

#include <memory>
#include <optional>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "common/redis/pool.h"
#include "rapport/profile/v1/profile.grpc.pb.h"

namespace rapport::scoring {

class ProfileSource {
 public:
  struct Fetched {
    // Empty when the profile could not be obtained (degraded).
    std::optional<profile::v1::Profile> profile;
    // Why the profile is missing, for logs and metrics (OK when present).
    absl::Status unavailable;
  };

  // `channel` may be null: then only the Redis cache is consulted.
  ProfileSource(redis::Pool& pool, std::shared_ptr<grpc::Channel> channel,
                absl::Duration deadline, std::string api_key);

  // NOT_FOUND when the contact does not exist; otherwise the profile or a
  // degraded result. Never fails because a peer is down.
  absl::StatusOr<Fetched> Fetch(absl::string_view tenant,
                                absl::string_view contact_id);

 private:
  redis::Pool& pool_;
  std::unique_ptr<profile::v1::ProfileService::Stub> stub_;
  const absl::Duration deadline_;
  const std::string api_key_;
};

}  // namespace rapport::scoring
