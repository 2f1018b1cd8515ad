#pragma once

// Per-item results of batch RPCs (ScoringService.RecordOutcomes,
// ProfileService.RecordInteractions, the ScoreMessages stream): each item
// answers a response or an error message shaped like ItemError
// { int32 code; string message; }, carrying the code the single RPC would
// have failed with.

#include <string>
#include <utility>

#include "absl/status/status.h"

namespace rapport {

// Writes `status` (not OK) into an ItemError-shaped message.
template <typename Error>
void ToItemError(const absl::Status& status, Error* error) {
  error->set_code(static_cast<int>(status.code()));
  error->set_message(std::string(status.message()));
}

// The status an ItemError-shaped message carries; a code that is OK or not
// a gRPC code (a peer's bug) reads as INTERNAL, so an error never reads as
// success.
template <typename Error>
absl::Status FromItemError(const Error& error) {
  const int code = error.code();
  const bool known =
      code > 0 && code <= static_cast<int>(absl::StatusCode::kUnauthenticated);
  return absl::Status(
      known ? static_cast<absl::StatusCode>(code) : absl::StatusCode::kInternal,
      error.message());
}

// A single RPC served as a batch of one: the batch's only result, as the
// single RPC answers it (its response, or its error as the call's status).
// `Result` has a oneof of `response` and `error`.
template <typename Result, typename Response>
absl::Status TakeOnlyResult(Result& result, Response* response) {
  if (result.has_error()) return FromItemError(result.error());
  *response = std::move(*result.mutable_response());
  return absl::OkStatus();
}

}  // namespace rapport
