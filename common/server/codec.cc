#include "common/server/codec.h"

#include <google/protobuf/descriptor.h>
#include <google/protobuf/io/coded_stream.h>
#include <google/protobuf/stubs/common.h>
#include <google/protobuf/stubs/logging.h>
#include <google/protobuf/unknown_field_set.h>
#include <grpcpp/impl/codegen/proto_utils.h>
#include <grpcpp/support/proto_buffer_reader.h>
#include <grpcpp/support/slice.h>

#include <climits>
#include <string>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "common/log/log.h"

namespace rapport::server {
namespace {

namespace pb = google::protobuf;

// protobuf's own limit on how deeply messages nest (CodedInputStream's
// default recursion limit): deeper requests are refused by the parser.
constexpr int kMaxDepth = 100;

std::string Join(absl::string_view path, absl::string_view field) {
  if (path.empty()) return std::string(field);
  return absl::StrCat(path, ".", field);
}

// `path` is empty for the request itself.
absl::string_view Subject(absl::string_view path) {
  return path.empty() ? "request" : path;
}

absl::Status Malformed(absl::string_view path, const pb::Descriptor& type) {
  return absl::InvalidArgumentError(
      absl::StrCat(Subject(path), ": not a valid ", type.full_name(),
                   " (malformed protobuf)"));
}

// Whether protobuf refuses a string field that is not valid UTF-8 when
// parsing: proto3 `string` fields (map keys and values included). proto2
// strings are only logged about, never refused.
bool ParserRequiresUtf8(const pb::FieldDescriptor& field) {
  return field.type() == pb::FieldDescriptor::TYPE_STRING &&
         field.file()->syntax() == pb::FileDescriptor::SYNTAX_PROTO3;
}

// Whether a length-delimited value of a packed repeated scalar field reads
// as whole values: varints that end, fixed-size values that fill it. The
// library's own reader does the reading.
bool PackedValuesRead(const pb::FieldDescriptor& field,
                      const std::string& bytes) {
  pb::io::CodedInputStream in(reinterpret_cast<const uint8_t*>(bytes.data()),
                              static_cast<int>(bytes.size()));
  while (in.BytesUntilLimit() != 0) {
    switch (field.type()) {
      case pb::FieldDescriptor::TYPE_FIXED32:
      case pb::FieldDescriptor::TYPE_SFIXED32:
      case pb::FieldDescriptor::TYPE_FLOAT: {
        uint32_t v = 0;
        if (!in.ReadLittleEndian32(&v)) return false;
        break;
      }
      case pb::FieldDescriptor::TYPE_FIXED64:
      case pb::FieldDescriptor::TYPE_SFIXED64:
      case pb::FieldDescriptor::TYPE_DOUBLE: {
        uint64_t v = 0;
        if (!in.ReadLittleEndian64(&v)) return false;
        break;
      }
      default: {
        uint64_t v = 0;
        if (!in.ReadVarint64(&v)) return false;
      }
    }
  }
  return true;
}

// Walks `bytes` as an encoding of `type` without the checks that made
// protobuf refuse it (an UnknownFieldSet keeps every field as raw bytes) and
// reports the first field, in wire order, that protobuf would refuse. OK when
// nothing is found.
absl::Status Diagnose(absl::string_view bytes, const pb::Descriptor& type,
                      const std::string& path, int depth) {
  if (depth > kMaxDepth) {
    return absl::InvalidArgumentError(
        absl::StrCat(Subject(path), ": messages nest more than ", kMaxDepth,
                     " levels deep, beyond what the protobuf parser reads"));
  }
  pb::UnknownFieldSet fields;
  if (bytes.size() > INT_MAX ||
      !fields.ParseFromArray(bytes.data(), static_cast<int>(bytes.size()))) {
    return Malformed(path, type);
  }
  // Occurrences of each field number so far: the index of a repeated
  // field's element (strings and messages are never packed).
  absl::flat_hash_map<int, int> seen;
  for (int i = 0; i < fields.field_count(); ++i) {
    const pb::UnknownField& f = fields.field(i);
    const int occurrence = seen[f.number()]++;
    const pb::FieldDescriptor* field = type.FindFieldByNumber(f.number());
    // Unknown fields and known ones sent with another wire type are kept
    // aside by protobuf as unknown fields: never a reason to refuse.
    if (field == nullptr ||
        f.type() != pb::UnknownField::TYPE_LENGTH_DELIMITED) {
      continue;
    }
    const std::string name =
        field->is_repeated()
            ? absl::StrCat(Join(path, field->name()), "[", occurrence, "]")
            : Join(path, field->name());
    const std::string& value = f.length_delimited();
    if (field->type() == pb::FieldDescriptor::TYPE_MESSAGE) {
      absl::Status nested =
          Diagnose(value, *field->message_type(), name, depth + 1);
      if (!nested.ok()) return nested;
    } else if (ParserRequiresUtf8(*field)) {
      // The validator protobuf's parser itself uses, so both agree on
      // which bytes are bad.
      const int valid = pb::internal::UTF8SpnStructurallyValid(value);
      if (static_cast<size_t>(valid) != value.size()) {
        return absl::InvalidArgumentError(
            absl::StrCat(name, ": not valid UTF-8 (first bad byte at offset ",
                         valid, "); send text as UTF-8"));
      }
    } else if (field->is_packable() && !PackedValuesRead(*field, value)) {
      return absl::InvalidArgumentError(
          absl::StrCat(Join(path, field->name()), ": malformed packed ",
                       field->type_name(), " values"));
    }
  }
  return absl::OkStatus();
}

// Events and levels of protobuf's log lines (see RouteProtobufLogs).
void LogProtobufMessage(pb::LogLevel level, const char* filename, int line,
                        const std::string& message) {
  // protobuf 3.21 words it: "String field 'pkg.Type.field' contains invalid
  // UTF-8 data when parsing a protocol buffer. Use the 'bytes' type if you
  // intend to send raw bytes." A refused request is the client's error,
  // answered INVALID_ARGUMENT and counted by the RPC metrics, so parsing
  // logs at debug; serializing invalid UTF-8 is ours, an error.
  constexpr absl::string_view kPrefix = "String field '";
  constexpr absl::string_view kMiddle = "' contains invalid UTF-8 data when ";
  const absl::string_view text = message;
  if (absl::StartsWith(text, kPrefix)) {
    const size_t middle = text.find(kMiddle);
    if (middle != absl::string_view::npos) {
      const absl::string_view field =
          text.substr(kPrefix.size(), middle - kPrefix.size());
      absl::string_view operation = text.substr(middle + kMiddle.size());
      operation = operation.substr(0, operation.find(' '));
      log::Write(
          operation == "parsing" ? log::Level::kDebug : log::Level::kError,
          "protobuf_invalid_utf8",
          {{"field", field}, {"operation", operation}});
      return;
    }
  }
  log::Level ours = log::Level::kError;
  if (level == pb::LOGLEVEL_INFO) ours = log::Level::kInfo;
  if (level == pb::LOGLEVEL_WARNING) ours = log::Level::kWarn;
  log::Write(
      ours, "protobuf_log",
      {{"source", absl::StrCat(filename, ":", line)}, {"message", message}});
}

}  // namespace

absl::Status DiagnoseParseFailure(absl::string_view bytes,
                                  const pb::Descriptor& type) {
  absl::Status found = Diagnose(bytes, type, /*path=*/"", /*depth=*/0);
  if (!found.ok()) return found;
  // Nothing found that the parser refuses: say what was expected without
  // guessing.
  return absl::InvalidArgumentError(
      absl::StrCat("request: not a valid ", type.full_name(),
                   " (the protobuf parser refused it)"));
}

absl::Status ParseRequest(const grpc::ByteBuffer& in, pb::Message* out) {
  if (!in.Valid()) {
    return absl::InvalidArgumentError(
        absl::StrCat("request: the call carried no request message; send one ",
                     out->GetDescriptor()->full_name()));
  }
  // A small request arrives as one slice: parse it in place. One in several
  // slices (or compressed) is read through gRPC's zero-copy reader, as
  // generated methods do. Both measured cheapest for their case
  // (common/server/codec_bench.cc); copying into one slice first was not.
  grpc::Slice slice;
  if (in.TrySingleSlice(&slice).ok()) {
    const absl::string_view bytes(reinterpret_cast<const char*>(slice.begin()),
                                  slice.size());
    if (bytes.size() <= INT_MAX &&
        out->ParseFromArray(bytes.data(), static_cast<int>(bytes.size()))) {
      return absl::OkStatus();
    }
    out->Clear();
    return DiagnoseParseFailure(bytes, *out->GetDescriptor());
  }
  {
    // The reader only reads the buffer; it takes a non-const pointer.
    grpc::ProtoBufferReader reader(const_cast<grpc::ByteBuffer*>(&in));
    if (reader.status().ok() && out->ParseFromZeroCopyStream(&reader)) {
      return absl::OkStatus();
    }
  }
  out->Clear();
  // The failure path: one contiguous copy to diagnose.
  if (const grpc::Status read = in.DumpToSingleSlice(&slice); !read.ok()) {
    return absl::InvalidArgumentError(absl::StrCat(
        "request: could not be read (", read.error_message(), ")"));
  }
  return DiagnoseParseFailure(
      absl::string_view(reinterpret_cast<const char*>(slice.begin()),
                        slice.size()),
      *out->GetDescriptor());
}

absl::Status ParseStreamRequest(const grpc::ByteBuffer& in, int64_t index,
                                pb::Message* out) {
  absl::Status status = ParseRequest(in, out);
  if (status.ok()) return status;
  const std::string before =
      index == 0   ? "nothing of the stream was processed"
      : index == 1 ? "the message before it was processed, none from it on"
                   : absl::StrCat("the ", index,
                                  " messages before it were processed, none "
                                  "from it on");
  return absl::Status(
      status.code(),
      absl::StrCat("stream message ", index,
                   " (counting from 0): ", status.message(), "; ", before));
}

absl::Status SerializeResponse(const pb::Message& message,
                               grpc::ByteBuffer* out) {
  out->Clear();  // gRPC's writer fills only an empty buffer
  bool own_buffer = false;
  const grpc::Status status = grpc::SerializationTraits<pb::Message>::Serialize(
      message, out, &own_buffer);
  if (status.ok()) return absl::OkStatus();
  return absl::InternalError(absl::StrCat("the response (",
                                          message.GetDescriptor()->full_name(),
                                          ") could not be serialized"));
}

void RouteProtobufLogs() { pb::SetLogHandler(&LogProtobufMessage); }

}  // namespace rapport::server
