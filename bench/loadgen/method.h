#pragma once

// Turns the command line's method name and JSON request into what goes on the
// wire, through protobuf reflection over the descriptors compiled into the
// binary (DescriptorPool::generated_pool()). The binary must therefore carry
// every generated file of rapport_protos: bench/loadgen/CMakeLists.txt links
// the archive whole (see rapport_all_protos there), since nothing in the
// loadgen names a generated symbol that would pull a file's object in.
//
// Errors are one line and start with the flag they are about ("--method: ",
// "--request: ", "--payload-bytes: ") so the command line can be fixed from
// the message alone.

#include <google/protobuf/descriptor.h>
#include <google/protobuf/dynamic_message.h>
#include <google/protobuf/message.h>

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace rapport::loadgen {

struct Method {
  std::string path;  // "/rapport.bench.v1.EchoService/Echo", as gRPC sends it
  const google::protobuf::MethodDescriptor* descriptor = nullptr;
  // Client and server streaming: driven as a stream of requests, each
  // answered by one response in order (bench/README.md).
  bool bidi_streaming = false;
};

// Accepts "pkg.Service/Method", "/pkg.Service/Method" and "pkg.Service.Method".
// Unknown services and methods are NOT_FOUND (listing what is known). Unary
// and bidirectional-streaming methods are accepted; client-only and
// server-only streaming are INVALID_ARGUMENT (no load model for them yet).
absl::StatusOr<Method> ResolveMethod(
    absl::string_view name,
    const google::protobuf::DescriptorPool& pool =
        *google::protobuf::DescriptorPool::generated_pool());

// ResolveMethod, refusing every streaming method ("only unary").
absl::StatusOr<Method> ResolveUnaryMethod(
    absl::string_view name,
    const google::protobuf::DescriptorPool& pool =
        *google::protobuf::DescriptorPool::generated_pool());

// Parses `json` (proto3 JSON mapping, unknown fields rejected) as the method's
// input type and returns it serialized. The error names the offending field.
absl::StatusOr<std::string> SerializeJsonRequest(
    const google::protobuf::MethodDescriptor& method, absl::string_view json);

// The input type with its `payload` field (bytes or string) holding `bytes`
// bytes, serialized: the convenience of --payload-bytes for Echo.
absl::StatusOr<std::string> SerializePayloadRequest(
    const google::protobuf::MethodDescriptor& method, int64_t bytes);

// Checks that `response` parses as the method's output type: a server that
// answers a different message for this path is a wrong --method.
absl::Status CheckResponse(const google::protobuf::MethodDescriptor& method,
                           const std::string& response);

// Every method the loadgen can drive (unary and bidirectional streaming) of
// the generated pool whose file is under "rapport/", as "pkg.Service/Method",
// sorted.
std::vector<std::string> CompiledInMethods();

// A mutable instance of `type`. DynamicMessageFactory delegates to the
// generated classes for generated descriptors and builds dynamic ones for
// any other pool (tests use hand-built pools).
class MessageHolder {
 public:
  explicit MessageHolder(const google::protobuf::Descriptor* type);
  google::protobuf::Message& get() { return *message_; }

 private:
  google::protobuf::DynamicMessageFactory factory_;
  std::unique_ptr<google::protobuf::Message> message_;  // before factory_ dies
};

}  // namespace rapport::loadgen
