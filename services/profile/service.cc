#include "services/profile/service.h"

#include <string>
#include <utility>
#include <vector>

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "common/server/handler.h"
#include "common/server/raw_handler.h"
#include "common/status/macros.h"
#include "services/profile/model/validate.h"

namespace rapport::profile {
namespace {

using server::RawUnary;

// ImportContacts: at most this many contacts in one stream.
constexpr int64_t kMaxImportContacts = 100'000;

absl::Status RequireWrite(const auth::Principal& principal) {
  if (principal.CanWrite()) return absl::OkStatus();
  return absl::PermissionDeniedError(
      absl::StrCat("the API key's role \"", principal.role,
                   "\" may only read; use a key with role writer or admin"));
}

// ImportContacts: each message is stored before the next is read
// (server::RawReadReactor), so a fast client cannot make the server buffer
// without bound; one bad row is reported in the response, never fails the
// stream. A message that does not parse fails it, naming the message.
class ImportReactor final
    : public server::RawReadReactor<v1::ImportContactsRequest,
                                    v1::ImportContactsResponse> {
 public:
  ImportReactor(ProfileHandler& handler, std::string tenant,
                grpc::ByteBuffer* response)
      : RawReadReactor("ImportContacts", response),
        handler_(handler),
        tenant_(std::move(tenant)) {
    StartReading();
  }

 private:
  absl::Status OnMessage(int64_t /*index*/,
                         const v1::ImportContactsRequest& request) override {
    if (next_contact_ + request.contacts_size() > kMaxImportContacts) {
      return absl::ResourceExhaustedError(absl::StrCat(
          "contacts: one ImportContacts stream takes at most ",
          kMaxImportContacts, " contacts; split the import into several"));
    }
    absl::Status status =
        handler_.ImportBatch(tenant_, request, next_contact_, &summary_);
    next_contact_ += request.contacts_size();
    return status;
  }

  absl::Status OnReadsDone(int64_t /*count*/,
                           v1::ImportContactsResponse* response) override {
    *response = std::move(summary_);
    return absl::OkStatus();
  }

  ProfileHandler& handler_;
  const std::string tenant_;
  v1::ImportContactsResponse summary_;
  int64_t next_contact_ = 0;  // stream-wide index of the next contact
};

}  // namespace

WorkQueue::WorkQueue(int threads, size_t max_queued) : max_queued_(max_queued) {
  for (int i = 0; i < threads; ++i) threads_.emplace_back([this] { Run(); });
}

WorkQueue::~WorkQueue() {
  {
    absl::MutexLock lock(&mu_);
    stopping_ = true;
  }
  for (std::thread& t : threads_) t.join();
}

bool WorkQueue::Submit(std::function<void()> task) {
  absl::MutexLock lock(&mu_);
  if (stopping_ || tasks_.size() >= max_queued_) return false;
  tasks_.push_back(std::move(task));
  return true;
}

void WorkQueue::Run() {
  while (true) {
    std::function<void()> task;
    {
      absl::MutexLock lock(&mu_);
      mu_.Await(absl::Condition(
          +[](WorkQueue* q) ABSL_EXCLUSIVE_LOCKS_REQUIRED(q->mu_) {
            return q->stopping_ || !q->tasks_.empty();
          },
          this));
      if (tasks_.empty()) return;  // stopping, nothing left
      task = std::move(tasks_.front());
      tasks_.pop_front();
    }
    task();
  }
}

ProfileServiceImpl::ProfileServiceImpl(server::Runtime& runtime,
                                       HandlerOptions options)
    : auth_(runtime.auth()),
      reader_(*runtime.async_redis(), runtime.metrics().registry(),
              ProfileReader::FromConfig(runtime.config())),
      metrics_(runtime.metrics().registry()),
      store_(*runtime.redis()),
      handler_(store_, metrics_, std::move(options)),
      refreshes_(/*threads=*/2, /*max_queued=*/1024) {
  store_.set_on_change(
      [this](absl::string_view key) { reader_.Invalidate(key); });
}

grpc::ServerUnaryReactor* ProfileServiceImpl::UpsertContact(
    grpc::CallbackServerContext* ctx, const grpc::ByteBuffer* request,
    grpc::ByteBuffer* response) {
  return RawUnary<v1::UpsertContactRequest, v1::UpsertContactResponse>(
      ctx, request, response, auth_, "UpsertContact",
      [&](const auth::Principal& p, const auto& req, auto* resp) {
        RETURN_IF_ERROR(RequireWrite(p));
        return handler_.UpsertContact(p.tenant, req, resp);
      });
}

grpc::ServerReadReactor<grpc::ByteBuffer>* ProfileServiceImpl::ImportContacts(
    grpc::CallbackServerContext* ctx, grpc::ByteBuffer* response) {
  std::string tenant;
  const absl::Status status = server::Guarded(*ctx, auth_, "ImportContacts",
                                              [&](const auth::Principal& p) {
                                                tenant = p.tenant;
                                                return RequireWrite(p);
                                              });
  if (!status.ok()) {
    return new server::FinishedReadReactor<grpc::ByteBuffer>(
        ToGrpcStatus(status));
  }
  return new ImportReactor(handler_, std::move(tenant), response);
}

// The hot read path: the profile from the process-local coherent cache, or
// one HMGET through the pipelined AsyncClient (ProfileReader), answered from
// its I/O thread, so no gRPC callback thread ever waits on Redis (DESIGN.md
// "Performance notes"). A stale profile is re-derived on the refresh workers.
grpc::ServerUnaryReactor* ProfileServiceImpl::GetProfile(
    grpc::CallbackServerContext* ctx, const grpc::ByteBuffer* request,
    grpc::ByteBuffer* response) {
  grpc::ServerUnaryReactor* reactor = ctx->DefaultReactor();
  std::string tenant;
  std::string contact_id;
  const absl::Status status =
      server::Guarded(*ctx, auth_, "GetProfile", [&](const auth::Principal& p) {
        tenant = p.tenant;
        v1::GetProfileRequest parsed;
        RETURN_IF_ERROR(server::ParseRequest(*request, &parsed));
        contact_id = std::move(*parsed.mutable_contact_id());
        return model::ValidateId("contact_id", contact_id);
      });
  if (!status.ok()) {
    reactor->Finish(ToGrpcStatus(status));
    return reactor;
  }
  reader_.Read(
      tenant, contact_id,
      [this, reactor, response, tenant,
       contact_id](ProfileReader::Result stored) mutable {
        if (!stored.ok()) {
          reactor->Finish(ToGrpcStatus(stored.status()));
          return;
        }
        if (*stored == nullptr) {
          reactor->Finish(ToGrpcStatus(absl::NotFoundError(
              absl::StrCat("contact_id: no contact \"",
                           absl::CEscape(contact_id), "\" in this tenant"))));
          return;
        }
        if (handler_.IsFresh(**stored)) {
          // The stored bytes are the answer: no re-serialization.
          grpc::Slice bytes((*stored)->serialized);
          *response = grpc::ByteBuffer(&bytes, 1);
          reactor->Finish(grpc::Status::OK);
          return;
        }
        Refresh(reactor, std::move(tenant), std::move(contact_id), response,
                **stored);
      });
  return reactor;
}

void ProfileServiceImpl::Refresh(grpc::ServerUnaryReactor* reactor,
                                 std::string tenant, std::string contact_id,
                                 grpc::ByteBuffer* response,
                                 StoredProfile stale) {
  auto refresh = [this, reactor, response, tenant = std::move(tenant),
                  contact_id = std::move(contact_id),
                  s = std::move(stale)]() mutable {
    const absl::Status st =
        server::Catching("GetProfile", [&]() -> absl::Status {
          v1::Profile profile;
          RETURN_IF_ERROR(handler_.RefreshProfile(tenant, contact_id,
                                                  std::move(s), &profile));
          return server::SerializeResponse(profile, response);
        });
    reactor->Finish(ToGrpcStatus(st));
  };
  if (!refreshes_.Submit(std::move(refresh))) {
    reactor->Finish(ToGrpcStatus(absl::ResourceExhaustedError(
        "too many stale profiles are being refreshed at once; retry "
        "shortly")));
  }
}

grpc::ServerUnaryReactor* ProfileServiceImpl::RecordInteraction(
    grpc::CallbackServerContext* ctx, const grpc::ByteBuffer* request,
    grpc::ByteBuffer* response) {
  return RawUnary<v1::RecordInteractionRequest, v1::RecordInteractionResponse>(
      ctx, request, response, auth_, "RecordInteraction",
      [&](const auth::Principal& p, const auto& req, auto* resp) {
        RETURN_IF_ERROR(RequireWrite(p));
        return handler_.RecordInteraction(p.tenant, req, resp);
      });
}

grpc::ServerUnaryReactor* ProfileServiceImpl::RecordInteractions(
    grpc::CallbackServerContext* ctx, const grpc::ByteBuffer* request,
    grpc::ByteBuffer* response) {
  return RawUnary<v1::RecordInteractionsRequest,
                  v1::RecordInteractionsResponse>(
      ctx, request, response, auth_, "RecordInteractions",
      [&](const auth::Principal& p, const auto& req, auto* resp) {
        RETURN_IF_ERROR(RequireWrite(p));
        return handler_.RecordInteractions(p.tenant, req, resp);
      });
}

grpc::ServerUnaryReactor* ProfileServiceImpl::RecordInsight(
    grpc::CallbackServerContext* ctx, const grpc::ByteBuffer* request,
    grpc::ByteBuffer* response) {
  return RawUnary<v1::RecordInsightRequest, v1::RecordInsightResponse>(
      ctx, request, response, auth_, "RecordInsight",
      [&](const auth::Principal& p, const auto& req, auto* resp) {
        RETURN_IF_ERROR(RequireWrite(p));
        return handler_.RecordInsight(p.tenant, req, resp);
      });
}

grpc::ServerUnaryReactor* ProfileServiceImpl::ListProfiles(
    grpc::CallbackServerContext* ctx, const grpc::ByteBuffer* request,
    grpc::ByteBuffer* response) {
  return RawUnary<v1::ListProfilesRequest, v1::ListProfilesResponse>(
      ctx, request, response, auth_, "ListProfiles",
      [&](const auth::Principal& p, const auto& req, auto* resp) {
        return handler_.ListProfiles(p.tenant, req, resp);
      });
}

grpc::ServerUnaryReactor* ProfileServiceImpl::DeleteContact(
    grpc::CallbackServerContext* ctx, const grpc::ByteBuffer* request,
    grpc::ByteBuffer* response) {
  return RawUnary<v1::DeleteContactRequest, v1::DeleteContactResponse>(
      ctx, request, response, auth_, "DeleteContact",
      [&](const auth::Principal& p, const auto& req, auto* resp) {
        RETURN_IF_ERROR(RequireWrite(p));
        return handler_.DeleteContact(p.tenant, req, resp);
      });
}

}  // namespace rapport::profile
