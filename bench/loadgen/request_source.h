#pragma once

// What each call sends. One or more serialized requests ("templates": the
// --request, or every line of --request-lines) rotate per call; with --vary,
// each call also gets a number of its own appended to the named string
// fields, so a server's caches see distinct requests.
//
// How --vary stays cheap: the suffix is fixed-width (" [" + 19 digits +
// "]"), so every variant of a template serializes to the same length with
// the digits at the same byte offsets. Each template is serialized once with
// all-'0' and once with all-'9' digits; the bytes that differ are the digit
// positions. A call then costs one copy of the template into a fresh gRPC
// slice and 19 digit writes per field, not a protobuf serialization
// (numbers in bench/README.md, measured by loadgen_bench).
//
// Numbers: call n (counted over the whole run by NextNumber(), so unique
// across slots and streams) sends template n mod T with the stamp
// (offset + n) mod 10^19, or (offset + n mod K) with --variants K. The
// offset is random per run, so a second run does not hit the cache the first
// one filled.

#include <google/protobuf/descriptor.h>
#include <grpcpp/support/byte_buffer.h>

#include <atomic>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace rapport::loadgen {

struct VaryOptions {
  // Field paths of singular string fields, e.g. "message.body" (proto field
  // names or their lowerCamelCase JSON names, through singular messages).
  std::vector<std::string> paths;
  // Distinct stamps before they repeat; 0: never (until 10^19 calls).
  uint64_t variants = 0;
  // Added to every stamp; pick it at random per run (< 10^18).
  uint64_t offset = 0;
};

class RequestSource {
 public:
  // The digits of a stamp; the suffix is " [" + kStampDigits digits + "]".
  static constexpr int kStampDigits = 19;

  // `requests` are serialized messages of `type` (at least one). Errors
  // start with "--vary: " and name the path (and the request line, when
  // there are several requests).
  static absl::StatusOr<std::unique_ptr<RequestSource>> Create(
      const google::protobuf::Descriptor& type,
      std::vector<std::string> requests, const VaryOptions& vary);

  RequestSource(const RequestSource&) = delete;
  RequestSource& operator=(const RequestSource&) = delete;

  // True when every call sends the same bytes (one request, no --vary): the
  // runner then shares one buffer between all calls.
  bool constant() const { return constant_; }
  size_t size() const { return templates_.size(); }
  // Mean serialized size over the templates (stamps included).
  int64_t mean_bytes() const;

  // The number of the next call; unique across threads (relaxed atomic).
  uint64_t NextNumber() {
    return next_.fetch_add(1, std::memory_order_relaxed);
  }

  // The request of call `n`, as bytes (tests) or as a gRPC buffer: for a
  // template without --vary a reference to its shared slice, otherwise a
  // fresh slice with the stamp written in.
  std::string Render(uint64_t n) const;
  grpc::ByteBuffer Buffer(uint64_t n) const;

 private:
  struct Template {
    std::string bytes;
    std::vector<size_t> stamp_offsets;  // first digit of each stamp
    grpc::ByteBuffer shared;            // `bytes`, when it has no stamps
  };

  RequestSource() = default;
  uint64_t Stamp(uint64_t n) const;
  static void WriteStamp(uint64_t stamp, const std::vector<size_t>& offsets,
                         char* bytes);

  std::vector<Template> templates_;
  uint64_t variants_ = 0;
  uint64_t offset_ = 0;
  bool constant_ = false;
  std::atomic<uint64_t> next_{0};
};

// Parses JSON Lines: one request in proto3 JSON per non-blank line, each
// serialized as `type`. Errors start with "--request-lines: line N: ".
absl::StatusOr<std::vector<std::string>> ParseRequestLines(
    const google::protobuf::MethodDescriptor& method, absl::string_view text);

}  // namespace rapport::loadgen
