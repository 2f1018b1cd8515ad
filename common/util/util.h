#pragma once

// Small helpers more than one service needs.

#include <google/protobuf/message.h>
#include <google/protobuf/timestamp.pb.h>

#include <cstddef>
#include <cstdint>
#include <string>

#include "absl/random/random.h"
#include "absl/time/time.h"

namespace rapport::util {

// absl::Time <-> google.protobuf.Timestamp, to the nanosecond (times before
// 1970 included).
google::protobuf::Timestamp ToTimestamp(absl::Time t);
absl::Time FromTimestamp(const google::protobuf::Timestamp& ts);

// A random generator per thread: absl::BitGen is not thread-safe, and a lock
// on the request path would serialise handlers.
absl::BitGen& ThreadBitGen();

// FNV-1a (64 bits) over the message's deterministic serialization: stable
// across builds, processes and replicas (unlike std::hash or absl::Hash), so
// page tokens that embed it survive a rolling upgrade.
uint64_t StableFingerprint(const google::protobuf::Message& message);

// Appends the tag and length of length-delimited field `number` holding
// `length` bytes to a message's encoding (the protobuf wire format); the
// caller appends the bytes. A message's encoding is its fields in any
// order, so an embedded message serialized once can be framed as a field
// of several outer messages without serializing it again.
void AppendLengthDelimitedHeader(int number, size_t length, std::string* out);

// Full-jitter exponential backoff: a random duration in [0, min(cap,
// base * 2^attempt)].
absl::Duration JitteredBackoff(int attempt, absl::Duration base,
                               absl::Duration cap);

}  // namespace rapport::util
