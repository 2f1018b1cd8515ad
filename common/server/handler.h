#pragma once

// Adapters between gRPC's callback API and handlers written as plain
// functions returning absl::Status (STYLE.md #1, #8). The gRPC class only
// adapts: authenticate, call the handler, Finish once with the mapped status.
// No exception escapes a handler: anything thrown is logged (without
// request data) and answered as INTERNAL.

#include <grpcpp/grpcpp.h>

#include <exception>
#include <utility>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "common/auth/auth.h"
#include "common/log/log.h"
#include "common/status/grpc_status.h"

namespace rapport::server {

// Calls fn() -> absl::Status; an exception becomes INTERNAL, logged as
// handler_exception with its what() (never request data).
template <typename Fn>
absl::Status Catching(absl::string_view rpc, Fn&& fn) {
  try {
    return std::forward<Fn>(fn)();
  } catch (const std::exception& e) {
    log::Error("handler_exception", {{"rpc", rpc}, {"what", e.what()}});
  } catch (...) {
    log::Error("handler_exception", {{"rpc", rpc}});
  }
  return absl::InternalError(absl::StrCat(
      rpc, " failed on an internal error; it is logged as handler_exception"));
}

// Calls fn(principal) after authenticating the caller; exceptions become
// INTERNAL.
template <typename Fn>
absl::Status Guarded(const grpc::ServerContextBase& ctx,
                     const auth::Authenticator& auth, absl::string_view rpc,
                     Fn&& fn) {
  return Catching(rpc, [&]() -> absl::Status {
    absl::StatusOr<auth::Principal> principal = auth.Authenticate(ctx);
    if (!principal.ok()) return principal.status();
    return std::forward<Fn>(fn)(*principal);
  });
}

// Unary RPC: `fn(const auth::Principal&) -> absl::Status` fills the response.
template <typename Fn>
grpc::ServerUnaryReactor* Unary(grpc::CallbackServerContext* ctx,
                                const auth::Authenticator& auth,
                                absl::string_view rpc, Fn&& fn) {
  grpc::ServerUnaryReactor* reactor = ctx->DefaultReactor();
  reactor->Finish(ToGrpcStatus(Guarded(*ctx, auth, rpc, std::forward<Fn>(fn))));
  return reactor;
}

// The answer of an RPC whose implementation has not landed yet: callers are
// authenticated first, so an unknown key still gets UNAUTHENTICATED.
inline absl::Status NotYetImplemented(absl::string_view rpc) {
  return absl::UnimplementedError(
      absl::StrCat(rpc, " is not implemented in this version of Rapport"));
}

// Streaming reactors that finish at once with a status (for authentication
// failures and RPCs not implemented yet).
template <typename Request, typename Response>
class FinishedBidiReactor final
    : public grpc::ServerBidiReactor<Request, Response> {
 public:
  explicit FinishedBidiReactor(const grpc::Status& status) {
    this->Finish(status);
  }
  void OnDone() override { delete this; }
};

template <typename Request>
class FinishedReadReactor final : public grpc::ServerReadReactor<Request> {
 public:
  explicit FinishedReadReactor(const grpc::Status& status) {
    this->Finish(status);
  }
  void OnDone() override { delete this; }
};

template <typename Response>
class FinishedWriteReactor final : public grpc::ServerWriteReactor<Response> {
 public:
  explicit FinishedWriteReactor(const grpc::Status& status) {
    this->Finish(status);
  }
  void OnDone() override { delete this; }
};

}  // namespace rapport::server
