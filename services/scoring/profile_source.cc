#include "services/scoring/profile_source.h"

#include <utility>

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "common/auth/auth.h"
#include "common/status/grpc_status.h"
#include "services/profile/keys.h"

namespace rapport::scoring {

ProfileSource::ProfileSource(redis::Pool& pool,
                             std::shared_ptr<grpc::Channel> channel,
                             absl::Duration deadline, std::string api_key)
    : pool_(pool),
      stub_(channel ? profile::v1::ProfileService::NewStub(channel) : nullptr),
      deadline_(deadline),
      api_key_(std::move(api_key)) {}

absl::StatusOr<ProfileSource::Fetched> ProfileSource::Fetch(
    absl::string_view tenant, absl::string_view contact_id) {
  Fetched out;
  auto key = profile::ContactKey(tenant, contact_id);
  if (!key.ok()) return key.status();
  auto reply = pool_.Command({"HGET", *key, profile::kProfileField});
  if (reply.ok() && reply->is_string()) {
    profile::v1::Profile p;
    if (p.ParseFromString(reply->str())) {
      out.profile = std::move(p);
      return out;
    }
  }

  // Cache miss (or Redis trouble): ask profile-service.
  if (stub_ == nullptr) {
    if (reply.ok() && reply->is_nil()) {
      return absl::NotFoundError(absl::StrCat(
          "contact_id: no contact \"", absl::CEscape(contact_id),
          "\" in this tenant; upsert it first or send an inline recipient"));
    }
    out.unavailable =
        reply.ok() ? absl::DataLossError("unreadable profile") : reply.status();
    return out;
  }
  grpc::ClientContext ctx;
  ctx.set_deadline(absl::ToChronoTime(absl::Now() + deadline_));
  auth::AttachApiKey(&ctx, api_key_);
  auth::AttachTenant(&ctx, std::string_view(tenant.data(), tenant.size()));
  profile::v1::GetProfileRequest request;
  request.set_contact_id(std::string(contact_id));
  profile::v1::Profile p;
  const grpc::Status status = stub_->GetProfile(&ctx, request, &p);
  if (status.ok()) {
    out.profile = std::move(p);
    return out;
  }
  if (status.error_code() == grpc::StatusCode::NOT_FOUND) {
    return absl::NotFoundError(absl::StrCat(
        "contact_id: no contact \"", absl::CEscape(contact_id),
        "\" in this tenant; upsert it first or send an inline recipient"));
  }
  out.unavailable = FromGrpcStatus(status);
  return out;
}

}  // namespace rapport::scoring
