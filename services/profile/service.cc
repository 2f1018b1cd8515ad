#include "services/profile/service.h"

#include "common/server/handler.h"

namespace rapport::profile {

using server::NotYetImplemented;
using server::Unary;

ProfileServiceImpl::ProfileServiceImpl(server::Runtime& runtime)
    : auth_(runtime.auth()) {}

grpc::ServerUnaryReactor* ProfileServiceImpl::UpsertContact(
    grpc::CallbackServerContext* ctx, const v1::UpsertContactRequest* request,
    v1::UpsertContactResponse* response) {
  return Unary(ctx, auth_, "UpsertContact", [](const auth::Principal&) {
    return NotYetImplemented("UpsertContact");
  });
}

grpc::ServerReadReactor<v1::ImportContactsRequest>*
ProfileServiceImpl::ImportContacts(grpc::CallbackServerContext* ctx,
                                   v1::ImportContactsResponse* response) {
  const absl::Status status = server::Guarded(
      *ctx, auth_, "ImportContacts", [](const auth::Principal&) {
        return NotYetImplemented("ImportContacts");
      });
  return new server::FinishedReadReactor<v1::ImportContactsRequest>(
      ToGrpcStatus(status));
}

grpc::ServerUnaryReactor* ProfileServiceImpl::GetProfile(
    grpc::CallbackServerContext* ctx, const v1::GetProfileRequest* request,
    v1::Profile* response) {
  return Unary(ctx, auth_, "GetProfile", [](const auth::Principal&) {
    return NotYetImplemented("GetProfile");
  });
}

grpc::ServerUnaryReactor* ProfileServiceImpl::RecordInteraction(
    grpc::CallbackServerContext* ctx,
    const v1::RecordInteractionRequest* request,
    v1::RecordInteractionResponse* response) {
  return Unary(ctx, auth_, "RecordInteraction", [](const auth::Principal&) {
    return NotYetImplemented("RecordInteraction");
  });
}

grpc::ServerUnaryReactor* ProfileServiceImpl::RecordInsight(
    grpc::CallbackServerContext* ctx, const v1::RecordInsightRequest* request,
    v1::RecordInsightResponse* response) {
  return Unary(ctx, auth_, "RecordInsight", [](const auth::Principal&) {
    return NotYetImplemented("RecordInsight");
  });
}

grpc::ServerUnaryReactor* ProfileServiceImpl::ListProfiles(
    grpc::CallbackServerContext* ctx, const v1::ListProfilesRequest* request,
    v1::ListProfilesResponse* response) {
  return Unary(ctx, auth_, "ListProfiles", [](const auth::Principal&) {
    return NotYetImplemented("ListProfiles");
  });
}

grpc::ServerUnaryReactor* ProfileServiceImpl::DeleteContact(
    grpc::CallbackServerContext* ctx, const v1::DeleteContactRequest* request,
    v1::DeleteContactResponse* response) {
  return Unary(ctx, auth_, "DeleteContact", [](const auth::Principal&) {
    return NotYetImplemented("DeleteContact");
  });
}

}  // namespace rapport::profile
