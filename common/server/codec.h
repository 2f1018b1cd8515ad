#pragma once

// Request parsing and response serialization for raw (ByteBuffer) gRPC
// methods.
//
// Why the services take raw bytes: gRPC C++ 1.51's callback API ignores why a
// request did not deserialize. A proto3 `string` holding invalid UTF-8 (which
// protobuf refuses to parse) or plain garbage is answered UNIMPLEMENTED with
// an empty message on unary calls, and on streams a message that does not
// parse ends the reads as if the client had half-closed, so the call
// finishes OK having silently dropped the rest of the stream. Parsing the
// bytes ourselves lets every such request be answered INVALID_ARGUMENT with
// the field to fix (DESIGN.md: no input crashes a service, every error is a
// status a person can act on).

#include <grpcpp/support/byte_buffer.h>

#include <cstdint>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "google/protobuf/message.h"

namespace rapport::server {

// Parses one request message into `out` (cleared first).
//
// An empty buffer is a default message, as with protobuf. On failure the
// status is INVALID_ARGUMENT and says why, naming the first offending field
// by its proto path the way the handlers name fields ("message.body",
// "priorities[2]", "contacts[0].email"; map entries by their position in the
// request, "custom_fields[1].value", since keys are data):
//   message.body: not valid UTF-8 (first bad byte at offset 17); send text
//     as UTF-8
//   request: not a valid rapport.scoring.v1.ScoreMessageRequest (malformed
//     protobuf)
// No message ever contains the bytes of a field. `in` not Valid() (a unary
// call that carried no message at all) is INVALID_ARGUMENT too.
absl::Status ParseRequest(const grpc::ByteBuffer& in,
                          google::protobuf::Message* out);

// ParseRequest for message `index` (counting from 0) of a client stream; the
// status names the index and says that the messages before it were
// processed and none from it on, e.g.
//   stream message 2 (counting from 0): contacts[0].full_name: not valid
//     UTF-8 (first bad byte at offset 0); send text as UTF-8; the 2 messages
//     before it were processed, none from it on
absl::Status ParseStreamRequest(const grpc::ByteBuffer& in, int64_t index,
                                google::protobuf::Message* out);

// Why `bytes`, which protobuf refused to parse as `type`, are not a valid
// `type`, worded as ParseRequest reports it. Exposed for tests and for
// callers that hold bytes rather than a ByteBuffer.
absl::Status DiagnoseParseFailure(absl::string_view bytes,
                                  const google::protobuf::Descriptor& type);

// Serializes a response into `out` (replacing what it held, so one buffer
// can serve every write of a stream), exactly as gRPC does for generated
// (non-raw) methods. Fails (INTERNAL) only for messages protobuf cannot
// serialize (over 2 GiB).
absl::Status SerializeResponse(const google::protobuf::Message& message,
                               grpc::ByteBuffer* out);

// Sends protobuf's own log lines (e.g. its "String field ... contains invalid
// UTF-8 data when parsing" error, printed on every refused request) through
// common/log as one JSON object per line instead of free text on stderr.
// Field values never reach the log: protobuf's messages name types and
// fields. Not thread-safe (protobuf's SetLogHandler is not): call once at
// start-up, before any thread parses messages; the server bootstrap does.
void RouteProtobufLogs();

}  // namespace rapport::server
