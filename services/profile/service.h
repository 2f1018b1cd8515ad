#pragma once

#include <deque>
#include <functional>
#include <memory>
#include <thread>
#include <vector>

#include "absl/synchronization/mutex.h"
#include "common/auth/auth.h"
#include "common/server/server.h"
#include "rapport/profile/v1/profile.grpc.pb.h"
#include "services/profile/handler.h"
#include "services/profile/reader.h"
#include "services/profile/store.h"

namespace rapport::profile {

// A few threads for blocking work that must not run on gRPC callback threads
// or on the Redis client's I/O threads (re-deriving a stale profile).
// Bounded: Submit() refuses work when `max_queued` tasks wait.
class WorkQueue {
 public:
  WorkQueue(int threads, size_t max_queued);
  ~WorkQueue();
  bool Submit(std::function<void()> task);

 private:
  void Run();

  const size_t max_queued_;
  absl::Mutex mu_;
  std::deque<std::function<void()>> tasks_ ABSL_GUARDED_BY(mu_);
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
  std::vector<std::thread> threads_;
};

// gRPC adapter of rapport.profile.v1.ProfileService: authenticates, checks
// the caller's role, then hands each call to ProfileHandler. The RPCs are
// specified in protos/rapport/profile/v1/profile.proto.
class ProfileServiceImpl final : public v1::ProfileService::CallbackService {
 public:
  ProfileServiceImpl(server::Runtime& runtime, HandlerOptions options = {});

  grpc::ServerUnaryReactor* UpsertContact(
      grpc::CallbackServerContext* ctx, const v1::UpsertContactRequest* request,
      v1::UpsertContactResponse* response) override;
  grpc::ServerReadReactor<v1::ImportContactsRequest>* ImportContacts(
      grpc::CallbackServerContext* ctx,
      v1::ImportContactsResponse* response) override;
  grpc::ServerUnaryReactor* GetProfile(grpc::CallbackServerContext* ctx,
                                       const v1::GetProfileRequest* request,
                                       v1::Profile* response) override;
  grpc::ServerUnaryReactor* RecordInteraction(
      grpc::CallbackServerContext* ctx,
      const v1::RecordInteractionRequest* request,
      v1::RecordInteractionResponse* response) override;
  grpc::ServerUnaryReactor* RecordInsight(
      grpc::CallbackServerContext* ctx, const v1::RecordInsightRequest* request,
      v1::RecordInsightResponse* response) override;
  grpc::ServerUnaryReactor* ListProfiles(
      grpc::CallbackServerContext* ctx, const v1::ListProfilesRequest* request,
      v1::ListProfilesResponse* response) override;
  grpc::ServerUnaryReactor* DeleteContact(
      grpc::CallbackServerContext* ctx, const v1::DeleteContactRequest* request,
      v1::DeleteContactResponse* response) override;

 private:
  // Re-derives a stale profile on the refresh workers, then answers.
  void Refresh(grpc::ServerUnaryReactor* reactor, std::string tenant,
               const v1::GetProfileRequest* request, v1::Profile* response,
               StoredProfile stale);

  const auth::Authenticator& auth_;
  ProfileReader reader_;
  ProfileMetrics metrics_;
  ProfileStore store_;
  ProfileHandler handler_;
  WorkQueue refreshes_;
};

}  // namespace rapport::profile
