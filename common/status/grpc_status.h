#pragma once

#include <grpcpp/support/status.h>

#include "absl/status/status.h"

namespace rapport {

// The one place where internal absl::Status values become gRPC statuses
// (STYLE.md #8). Codes map one to one; the message is kept verbatim, so it
// must already be something a person can act on and free of personal data.
grpc::Status ToGrpcStatus(const absl::Status& status);

// The reverse, for results of outgoing calls to peer services.
absl::Status FromGrpcStatus(const grpc::Status& status);

}  // namespace rapport
