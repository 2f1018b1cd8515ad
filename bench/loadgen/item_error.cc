#include "bench/loadgen/item_error.h"

#include <google/protobuf/io/coded_stream.h>
#include <google/protobuf/io/zero_copy_stream_impl_lite.h>
#include <grpcpp/support/proto_buffer_reader.h>

#include <cstdint>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"

namespace rapport::loadgen {
namespace {

using google::protobuf::Descriptor;
using google::protobuf::FieldDescriptor;
using google::protobuf::io::CodedInputStream;

// Wire types (protobuf encoding spec).
constexpr uint32_t kVarint = 0;
constexpr uint32_t kFixed64 = 1;
constexpr uint32_t kLengthDelimited = 2;
constexpr uint32_t kFixed32 = 5;

absl::Status FieldError(absl::string_view path, absl::string_view why) {
  return absl::InvalidArgumentError(
      absl::StrCat("--item-error-field: ", path, ": ", why));
}

// Skips the value of a field whose tag was just read. Groups (proto2 only)
// and invalid wire types are malformed here.
bool SkipValue(CodedInputStream& in, uint32_t tag) {
  switch (tag & 7) {
    case kVarint: {
      uint64_t ignored = 0;
      return in.ReadVarint64(&ignored);
    }
    case kFixed64:
      return in.Skip(8);
    case kLengthDelimited: {
      uint32_t length = 0;
      return in.ReadVarint32(&length) && length <= INT32_MAX &&
             in.Skip(static_cast<int>(length));
    }
    case kFixed32:
      return in.Skip(4);
    default:
      return false;
  }
}

enum class Scan { kAbsent, kFound, kMalformed };

// After ReadTag() returned 0: whether that was the end of the message (or
// of the sub-message under the current limit), not an invalid tag or input
// cut short inside a sub-message.
bool AtEnd(CodedInputStream& in) {
  return in.ConsumedEntireMessage() && in.BytesUntilLimit() <= 0;
}

// The integer field `number` of the length-delimited message that follows
// (the last occurrence wins, as in a parse); 0 when absent.
Scan ReadCode(CodedInputStream& in, int number, int* code) {
  uint32_t length = 0;
  if (!in.ReadVarint32(&length)) return Scan::kMalformed;
  const auto limit = in.PushLimit(static_cast<int>(length));
  *code = 0;
  for (;;) {
    const uint32_t tag = in.ReadTag();
    if (tag == 0) break;
    if (static_cast<int>(tag >> 3) == number && (tag & 7) == kVarint) {
      uint64_t value = 0;
      if (!in.ReadVarint64(&value)) return Scan::kMalformed;
      *code = static_cast<int>(static_cast<int64_t>(value));
    } else if (!SkipValue(in, tag)) {
      return Scan::kMalformed;
    }
  }
  if (!AtEnd(in)) return Scan::kMalformed;
  in.PopLimit(limit);
  return Scan::kFound;
}

// Looks for numbers[depth..] in the message (or sub-message, under a
// pushed limit) being read.
Scan ScanLevel(CodedInputStream& in, const std::vector<int>& numbers,
               size_t depth, int code_number, int* code) {
  for (;;) {
    const uint32_t tag = in.ReadTag();
    if (tag == 0) return AtEnd(in) ? Scan::kAbsent : Scan::kMalformed;
    if (static_cast<int>(tag >> 3) != numbers[depth]) {
      if (!SkipValue(in, tag)) return Scan::kMalformed;
      continue;
    }
    if (depth + 1 == numbers.size()) {
      if (code_number != 0 && (tag & 7) == kLengthDelimited) {
        return ReadCode(in, code_number, code);
      }
      *code = 0;
      return SkipValue(in, tag) ? Scan::kFound : Scan::kMalformed;
    }
    // An enclosing message: look inside it. A singular message may occur
    // more than once on the wire (parsers merge them), so keep going after
    // an occurrence without the field.
    uint32_t length = 0;
    if ((tag & 7) != kLengthDelimited || !in.ReadVarint32(&length) ||
        length > INT32_MAX) {
      return Scan::kMalformed;
    }
    const auto limit = in.PushLimit(static_cast<int>(length));
    const Scan inner = ScanLevel(in, numbers, depth + 1, code_number, code);
    if (inner != Scan::kAbsent) return inner;
    in.PopLimit(limit);
  }
}

bool IsPlainInteger(const FieldDescriptor& field) {
  switch (field.type()) {
    case FieldDescriptor::TYPE_INT32:
    case FieldDescriptor::TYPE_INT64:
    case FieldDescriptor::TYPE_UINT32:
    case FieldDescriptor::TYPE_UINT64:
    case FieldDescriptor::TYPE_ENUM:
      return !field.is_repeated();
    default:
      return false;
  }
}

}  // namespace

absl::StatusOr<ItemErrorDetector> ItemErrorDetector::Create(
    const Descriptor& response_type, const std::optional<std::string>& path) {
  ItemErrorDetector detector;
  std::string wanted;
  if (!path.has_value()) {
    if (response_type.FindFieldByName("error") == nullptr) return detector;
    wanted = "error";
  } else {
    wanted = *path;
  }
  if (wanted.empty() || wanted == "none") return detector;

  const Descriptor* type = &response_type;
  const FieldDescriptor* field = nullptr;
  std::string walked;
  for (absl::string_view name : absl::StrSplit(wanted, '.')) {
    if (type == nullptr) {
      return FieldError(wanted,
                        absl::StrCat(walked, " has type ", field->type_name(),
                                     ", not a message"));
    }
    const std::string key(name);
    field = type->FindFieldByName(key);
    if (field == nullptr) field = type->FindFieldByCamelcaseName(key);
    if (field == nullptr) {
      return FieldError(wanted, absl::StrCat(type->full_name(),
                                             " has no field \"", name, "\""));
    }
    absl::StrAppend(&walked, walked.empty() ? "" : ".", field->name());
    detector.numbers_.push_back(field->number());
    const bool is_message = field->type() == FieldDescriptor::TYPE_MESSAGE;
    if (field->is_repeated() && is_message) {
      return FieldError(wanted, absl::StrCat(walked, " is repeated"));
    }
    type = is_message ? field->message_type() : nullptr;
  }
  if (type != nullptr) {
    const FieldDescriptor* code = type->FindFieldByName("code");
    if (code != nullptr && IsPlainInteger(*code)) {
      detector.code_number_ = code->number();
    }
  }
  detector.field_ = walked;
  return detector;
}

std::optional<int> ItemErrorDetector::Find(
    google::protobuf::io::ZeroCopyInputStream& input) const {
  if (!enabled()) return std::nullopt;
  CodedInputStream in(&input);
  int code = 0;
  switch (ScanLevel(in, numbers_, 0, code_number_, &code)) {
    case Scan::kAbsent:
      return std::nullopt;
    case Scan::kFound:
      return code;
    case Scan::kMalformed:
      break;
  }
  return kMalformedCode;
}

std::optional<int> ItemErrorDetector::Find(absl::string_view response) const {
  google::protobuf::io::ArrayInputStream in(response.data(),
                                            static_cast<int>(response.size()));
  return Find(in);
}

std::optional<int> ItemErrorDetector::Find(grpc::ByteBuffer& response) const {
  if (!enabled()) return std::nullopt;
  grpc::ProtoBufferReader in(&response);
  return Find(in);
}

}  // namespace rapport::loadgen
