#include "services/scoring/profile_source.h"

#include <utility>

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "common/auth/auth.h"
#include "common/status/grpc_status.h"

namespace rapport::scoring {
namespace {

absl::Status NoSuchContact(absl::string_view contact_id) {
  return absl::NotFoundError(absl::StrCat(
      "contact_id: no contact \"", absl::CEscape(contact_id),
      "\" in this tenant; upsert it first or send an inline recipient"));
}

}  // namespace

ProfileSource::ProfileSource(profile::ProfileReader& reader,
                             std::shared_ptr<grpc::Channel> channel,
                             absl::Duration deadline, std::string api_key)
    : reader_(reader),
      stub_(channel ? profile::v1::ProfileService::NewStub(channel) : nullptr),
      deadline_(deadline),
      api_key_(std::move(api_key)) {}

void ProfileSource::Fetch(absl::string_view tenant,
                          absl::string_view contact_id, Done done) {
  reader_.Read(
      tenant, contact_id,
      [this, tenant = std::string(tenant), id = std::string(contact_id),
       done = std::move(done)](profile::ProfileReader::Result read) mutable {
        if (read.ok() && *read != nullptr) {
          // Shares ownership of the stored profile (aliasing constructor).
          std::shared_ptr<const profile::v1::Profile> p(*read,
                                                        &(*read)->profile);
          std::move(done)(Fetched{std::move(p), absl::OkStatus()});
          return;
        }
        AskProfileService(
            std::move(tenant), std::move(id),
            read.ok() ? absl::NotFoundError("not in Redis") : read.status(),
            std::move(done));
      });
}

void ProfileSource::AskProfileService(std::string tenant,
                                      std::string contact_id, absl::Status why,
                                      Done done) {
  if (stub_ == nullptr) {
    if (absl::IsNotFound(why)) {
      std::move(done)(NoSuchContact(contact_id));
    } else {
      std::move(done)(Fetched{nullptr, std::move(why)});
    }
    return;
  }
  struct Call {
    grpc::ClientContext ctx;
    profile::v1::GetProfileRequest request;
    profile::v1::Profile response;
    Done done;
  };
  auto call = std::make_shared<Call>();
  call->ctx.set_deadline(absl::ToChronoTime(absl::Now() + deadline_));
  auth::AttachApiKey(&call->ctx, api_key_);
  auth::AttachTenant(&call->ctx, std::string_view(tenant));
  call->request.set_contact_id(contact_id);
  call->done = std::move(done);
  Call* raw = call.get();
  stub_->async()->GetProfile(
      &raw->ctx, &raw->request, &raw->response,
      [call = std::move(call)](grpc::Status status) {
        if (status.ok()) {
          auto p = std::make_shared<const profile::v1::Profile>(
              std::move(call->response));
          std::move(call->done)(Fetched{std::move(p), absl::OkStatus()});
        } else if (status.error_code() == grpc::StatusCode::NOT_FOUND) {
          std::move(call->done)(NoSuchContact(call->request.contact_id()));
        } else {
          std::move(call->done)(Fetched{nullptr, FromGrpcStatus(status)});
        }
      });
}

}  // namespace rapport::scoring
