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

// Every RPC of rapport.profile.v1.ProfileService as a raw (ByteBuffer)
// callback method: requests are parsed by server::ParseRequest so one that
// does not parse is answered INVALID_ARGUMENT naming the field
// (common/server/codec.h says why gRPC's own parsing cannot be used).
using RawProfileService =
    v1::ProfileService::WithRawCallbackMethod_UpsertContact<
        v1::ProfileService::WithRawCallbackMethod_ImportContacts<
            v1::ProfileService::WithRawCallbackMethod_GetProfile<
                v1::ProfileService::WithRawCallbackMethod_RecordInteraction<
                    v1::ProfileService::WithRawCallbackMethod_RecordInteractions<
                        v1::ProfileService::WithRawCallbackMethod_RecordInsight<
                            v1::ProfileService::
                                WithRawCallbackMethod_ListProfiles<
                                    v1::ProfileService::
                                        WithRawCallbackMethod_DeleteContact<
                                            v1::ProfileService::Service>>>>>>>>;

// gRPC adapter of rapport.profile.v1.ProfileService: authenticates, parses
// the request, checks the caller's role, then hands each call to
// ProfileHandler. The RPCs are specified in
// protos/rapport/profile/v1/profile.proto.
class ProfileServiceImpl final : public RawProfileService {
 public:
  ProfileServiceImpl(server::Runtime& runtime, HandlerOptions options = {});

  grpc::ServerUnaryReactor* UpsertContact(grpc::CallbackServerContext* ctx,
                                          const grpc::ByteBuffer* request,
                                          grpc::ByteBuffer* response) override;
  grpc::ServerReadReactor<grpc::ByteBuffer>* ImportContacts(
      grpc::CallbackServerContext* ctx, grpc::ByteBuffer* response) override;
  grpc::ServerUnaryReactor* GetProfile(grpc::CallbackServerContext* ctx,
                                       const grpc::ByteBuffer* request,
                                       grpc::ByteBuffer* response) override;
  grpc::ServerUnaryReactor* RecordInteraction(
      grpc::CallbackServerContext* ctx, const grpc::ByteBuffer* request,
      grpc::ByteBuffer* response) override;
  grpc::ServerUnaryReactor* RecordInteractions(
      grpc::CallbackServerContext* ctx, const grpc::ByteBuffer* request,
      grpc::ByteBuffer* response) override;
  grpc::ServerUnaryReactor* RecordInsight(grpc::CallbackServerContext* ctx,
                                          const grpc::ByteBuffer* request,
                                          grpc::ByteBuffer* response) override;
  grpc::ServerUnaryReactor* ListProfiles(grpc::CallbackServerContext* ctx,
                                         const grpc::ByteBuffer* request,
                                         grpc::ByteBuffer* response) override;
  grpc::ServerUnaryReactor* DeleteContact(grpc::CallbackServerContext* ctx,
                                          const grpc::ByteBuffer* request,
                                          grpc::ByteBuffer* response) override;

 private:
  // Re-derives a stale profile on the refresh workers, then answers.
  void Refresh(grpc::ServerUnaryReactor* reactor, std::string tenant,
               std::string contact_id, grpc::ByteBuffer* response,
               StoredProfile stale);

  const auth::Authenticator& auth_;
  ProfileReader reader_;
  ProfileMetrics metrics_;
  ProfileStore store_;
  ProfileHandler handler_;
  WorkQueue refreshes_;
};

}  // namespace rapport::profile
