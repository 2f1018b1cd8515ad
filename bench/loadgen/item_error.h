#pragma once

// Tells whether one response of a stream reports a failed item (e.g.
// rapport.scoring.v1.ScoreMessagesResponse's `error`, set instead of
// `report` when a request was not scored), without parsing the response.
//
// The detector reads only the wire format's tags along the field path and
// skips every other field by its length (no allocation, no message built):
// a scored response costs a few tag reads, ~40 ns for a ~2-KB report where a
// full parse costs microseconds (loadgen_bench, bench/README.md). That makes
// it cheap enough to check every response, so the error count is exact
// rather than sampled.
//
// The field counts as set when it is present on the wire: for a message
// (or a oneof member, or a proto3 `optional` scalar) that is "has"; for a
// plain proto3 scalar, "not the default value". When the field is a message
// with an integer field `code`, its value is returned (gRPC status code
// numbers, as ItemError.code).

#include <google/protobuf/descriptor.h>
#include <google/protobuf/io/zero_copy_stream.h>
#include <grpcpp/support/byte_buffer.h>

#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace rapport::loadgen {

class ItemErrorDetector {
 public:
  // The value of a response that is not a protobuf message at all.
  static constexpr int kMalformedCode = 15;  // DATA_LOSS

  // `path` unset: "error" when `response_type` has a field of that name,
  // else disabled. "" or "none": disabled. Otherwise a dotted path of
  // singular fields through singular messages (proto or JSON names); errors
  // start with "--item-error-field: ".
  static absl::StatusOr<ItemErrorDetector> Create(
      const google::protobuf::Descriptor& response_type,
      const std::optional<std::string>& path);

  bool enabled() const { return !numbers_.empty(); }
  // The resolved path ("error"), empty when disabled.
  const std::string& field() const { return field_; }

  // nullopt when the response reports no item error (always, if disabled);
  // otherwise the error's code, 0 when it has none, kMalformedCode when the
  // bytes are not a well-formed message.
  std::optional<int> Find(google::protobuf::io::ZeroCopyInputStream& in) const;
  std::optional<int> Find(absl::string_view response) const;
  std::optional<int> Find(grpc::ByteBuffer& response) const;

 private:
  std::vector<int> numbers_;  // field numbers along the path
  int code_number_ = 0;       // field number of `code` in the last, or 0
  std::string field_;
};

}  // namespace rapport::loadgen
