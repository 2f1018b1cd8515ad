#include "services/profile/service.h"

#include <exception>
#include <string>

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "common/log/log.h"
#include "common/server/handler.h"
#include "common/status/macros.h"
#include "services/profile/model/validate.h"

namespace rapport::profile {
namespace {

using server::Unary;

// ImportContacts: at most this many contacts in one stream.
constexpr int64_t kMaxImportContacts = 100'000;

absl::Status RequireWrite(const auth::Principal& principal) {
  if (principal.CanWrite()) return absl::OkStatus();
  return absl::PermissionDeniedError(
      absl::StrCat("the API key's role \"", principal.role,
                   "\" may only read; use a key with role writer or admin"));
}

// Reads ImportContacts messages one at a time and stores each before asking
// for the next, so a fast client cannot make the server buffer without
// bound; one bad row is reported in the response, never fails the stream.
class ImportReactor final
    : public grpc::ServerReadReactor<v1::ImportContactsRequest> {
 public:
  ImportReactor(ProfileHandler& handler, std::string tenant,
                v1::ImportContactsResponse* response)
      : handler_(handler), tenant_(std::move(tenant)), response_(response) {
    StartRead(&request_);
  }

  void OnReadDone(bool ok) override {
    if (!ok) {  // the client closed its side: the import is complete
      Finish(grpc::Status::OK);
      return;
    }
    const absl::Status status = Process();
    if (!status.ok()) {
      Finish(ToGrpcStatus(status));
      return;
    }
    request_.Clear();
    StartRead(&request_);
  }

  void OnDone() override { delete this; }

 private:
  absl::Status Process() {
    if (next_index_ + request_.contacts_size() > kMaxImportContacts) {
      return absl::ResourceExhaustedError(absl::StrCat(
          "contacts: one ImportContacts stream takes at most ",
          kMaxImportContacts, " contacts; split the import into several"));
    }
    try {
      absl::Status status =
          handler_.ImportBatch(tenant_, request_, next_index_, response_);
      next_index_ += request_.contacts_size();
      return status;
    } catch (const std::exception& e) {
      log::Error("handler_exception",
                 {{"rpc", "ImportContacts"}, {"what", e.what()}});
      return absl::InternalError(
          "ImportContacts failed on an internal error; it is logged as "
          "handler_exception");
    }
  }

  ProfileHandler& handler_;
  const std::string tenant_;
  v1::ImportContactsResponse* response_;
  v1::ImportContactsRequest request_;
  int64_t next_index_ = 0;
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
    grpc::CallbackServerContext* ctx, const v1::UpsertContactRequest* request,
    v1::UpsertContactResponse* response) {
  return Unary(ctx, auth_, "UpsertContact", [&](const auth::Principal& p) {
    RETURN_IF_ERROR(RequireWrite(p));
    return handler_.UpsertContact(p.tenant, *request, response);
  });
}

grpc::ServerReadReactor<v1::ImportContactsRequest>*
ProfileServiceImpl::ImportContacts(grpc::CallbackServerContext* ctx,
                                   v1::ImportContactsResponse* response) {
  std::string tenant;
  const absl::Status status = server::Guarded(*ctx, auth_, "ImportContacts",
                                              [&](const auth::Principal& p) {
                                                tenant = p.tenant;
                                                return RequireWrite(p);
                                              });
  if (!status.ok()) {
    return new server::FinishedReadReactor<v1::ImportContactsRequest>(
        ToGrpcStatus(status));
  }
  return new ImportReactor(handler_, std::move(tenant), response);
}

// The hot read path: the profile from the process-local coherent cache, or
// one HMGET through the pipelined AsyncClient (ProfileReader), answered from
// its I/O thread, so no gRPC callback thread ever waits on Redis (DESIGN.md
// "Performance notes"). A stale profile is re-derived on the refresh workers.
grpc::ServerUnaryReactor* ProfileServiceImpl::GetProfile(
    grpc::CallbackServerContext* ctx, const v1::GetProfileRequest* request,
    v1::Profile* response) {
  grpc::ServerUnaryReactor* reactor = ctx->DefaultReactor();
  std::string tenant;
  const absl::Status status =
      server::Guarded(*ctx, auth_, "GetProfile", [&](const auth::Principal& p) {
        tenant = p.tenant;
        return model::ValidateId("contact_id", request->contact_id());
      });
  if (!status.ok()) {
    reactor->Finish(ToGrpcStatus(status));
    return reactor;
  }
  reader_.Read(
      tenant, request->contact_id(),
      [this, reactor, request, response,
       tenant](ProfileReader::Result stored) mutable {
        if (!stored.ok()) {
          reactor->Finish(ToGrpcStatus(stored.status()));
          return;
        }
        if (*stored == nullptr) {
          reactor->Finish(ToGrpcStatus(absl::NotFoundError(absl::StrCat(
              "contact_id: no contact \"", absl::CEscape(request->contact_id()),
              "\" in this tenant"))));
          return;
        }
        if (handler_.IsFresh(**stored)) {
          *response = (*stored)->profile;
          reactor->Finish(grpc::Status::OK);
          return;
        }
        Refresh(reactor, tenant, request, response, **stored);
      });
  return reactor;
}

void ProfileServiceImpl::Refresh(grpc::ServerUnaryReactor* reactor,
                                 std::string tenant,
                                 const v1::GetProfileRequest* request,
                                 v1::Profile* response, StoredProfile stale) {
  auto refresh = [this, reactor, request, response, tenant = std::move(tenant),
                  s = std::move(stale)]() mutable {
    absl::Status st;
    try {
      st = handler_.RefreshProfile(tenant, request->contact_id(), std::move(s),
                                   response);
    } catch (const std::exception& e) {
      log::Error("handler_exception",
                 {{"rpc", "GetProfile"}, {"what", e.what()}});
      st = absl::InternalError(
          "GetProfile failed on an internal error; it is logged as "
          "handler_exception");
    }
    reactor->Finish(ToGrpcStatus(st));
  };
  if (!refreshes_.Submit(std::move(refresh))) {
    reactor->Finish(ToGrpcStatus(absl::ResourceExhaustedError(
        "too many stale profiles are being refreshed at once; retry "
        "shortly")));
  }
}

grpc::ServerUnaryReactor* ProfileServiceImpl::RecordInteraction(
    grpc::CallbackServerContext* ctx,
    const v1::RecordInteractionRequest* request,
    v1::RecordInteractionResponse* response) {
  return Unary(ctx, auth_, "RecordInteraction", [&](const auth::Principal& p) {
    RETURN_IF_ERROR(RequireWrite(p));
    return handler_.RecordInteraction(p.tenant, *request, response);
  });
}

grpc::ServerUnaryReactor* ProfileServiceImpl::RecordInsight(
    grpc::CallbackServerContext* ctx, const v1::RecordInsightRequest* request,
    v1::RecordInsightResponse* response) {
  return Unary(ctx, auth_, "RecordInsight", [&](const auth::Principal& p) {
    RETURN_IF_ERROR(RequireWrite(p));
    return handler_.RecordInsight(p.tenant, *request, response);
  });
}

grpc::ServerUnaryReactor* ProfileServiceImpl::ListProfiles(
    grpc::CallbackServerContext* ctx, const v1::ListProfilesRequest* request,
    v1::ListProfilesResponse* response) {
  return Unary(ctx, auth_, "ListProfiles", [&](const auth::Principal& p) {
    return handler_.ListProfiles(p.tenant, *request, response);
  });
}

grpc::ServerUnaryReactor* ProfileServiceImpl::DeleteContact(
    grpc::CallbackServerContext* ctx, const v1::DeleteContactRequest* request,
    v1::DeleteContactResponse* response) {
  return Unary(ctx, auth_, "DeleteContact", [&](const auth::Principal& p) {
    RETURN_IF_ERROR(RequireWrite(p));
    return handler_.DeleteContact(p.tenant, *request, response);
  });
}

}  // namespace rapport::profile
