#include "bench/loadgen/request_source.h"

#include <google/protobuf/io/coded_stream.h>
#include <google/protobuf/io/zero_copy_stream_impl_lite.h>
#include <google/protobuf/message.h>
#include <grpc/slice.h>
#include <grpcpp/support/slice.h>

#include <cstring>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "bench/loadgen/method.h"

namespace rapport::loadgen {
namespace {

using google::protobuf::Descriptor;
using google::protobuf::FieldDescriptor;
using google::protobuf::Message;
using google::protobuf::Reflection;

constexpr uint64_t kStampModulus = 10'000'000'000'000'000'000ULL;  // 10^19

absl::Status VaryError(absl::string_view path, absl::string_view why) {
  return absl::InvalidArgumentError(absl::StrCat("--vary: ", path, ": ", why));
}

// The fields along `path`: every one singular, all but the last messages,
// the last a string.
absl::StatusOr<std::vector<const FieldDescriptor*>> ResolvePath(
    const Descriptor& root, absl::string_view path) {
  std::vector<const FieldDescriptor*> fields;
  const Descriptor* type = &root;
  std::string walked;
  for (absl::string_view name : absl::StrSplit(path, '.')) {
    if (type == nullptr) {
      return VaryError(
          path, absl::StrCat(walked, " has type ", fields.back()->type_name(),
                             ", not a message"));
    }
    const std::string key(name);
    const FieldDescriptor* field = type->FindFieldByName(key);
    if (field == nullptr) field = type->FindFieldByCamelcaseName(key);
    if (field == nullptr) {
      return VaryError(path, absl::StrCat(type->full_name(), " has no field \"",
                                          name, "\""));
    }
    absl::StrAppend(&walked, walked.empty() ? "" : ".", field->name());
    if (field->is_repeated()) {
      return VaryError(path, absl::StrCat(walked,
                                          " is repeated; give a singular "
                                          "string field"));
    }
    fields.push_back(field);
    type = field->type() == FieldDescriptor::TYPE_MESSAGE
               ? field->message_type()
               : nullptr;
  }
  if (fields.back()->type() != FieldDescriptor::TYPE_STRING) {
    return VaryError(
        path, absl::StrCat(walked, " has type ", fields.back()->type_name(),
                           "; --vary takes a string field"));
  }
  return fields;
}

// Appends `suffix` to the string at `fields` in `message`. Refuses to switch
// a oneof the request set to another member: that would change what the
// request means, not just vary it.
absl::Status Append(Message& message, absl::string_view path,
                    const std::vector<const FieldDescriptor*>& fields,
                    const std::string& suffix) {
  Message* m = &message;
  for (const FieldDescriptor* field : fields) {
    const Reflection* r = m->GetReflection();
    if (const auto* oneof = field->real_containing_oneof(); oneof != nullptr) {
      const FieldDescriptor* set = r->GetOneofFieldDescriptor(*m, oneof);
      if (set != nullptr && set != field) {
        return VaryError(
            path, absl::StrCat("the request sets ", set->name(), " of oneof ",
                               oneof->name(), ", not ", field->name()));
      }
    }
    if (field == fields.back()) {
      r->SetString(m, field, absl::StrCat(r->GetString(*m, field), suffix));
    } else {
      m = r->MutableMessage(m, field);
    }
  }
  return absl::OkStatus();
}

// Map entries are the only thing a protobuf serializer may order freely;
// deterministic output keeps the two probes comparable byte for byte.
std::string SerializeDeterministic(const Message& message) {
  std::string out;
  {
    google::protobuf::io::StringOutputStream stream(&out);
    google::protobuf::io::CodedOutputStream coded(&stream);
    coded.SetSerializationDeterministic(true);
    message.SerializePartialToCodedStream(&coded);
  }
  return out;
}

grpc::ByteBuffer SharedBuffer(const std::string& bytes) {
  grpc::Slice slice(bytes);
  return grpc::ByteBuffer(&slice, 1);
}

}  // namespace

absl::StatusOr<std::unique_ptr<RequestSource>> RequestSource::Create(
    const Descriptor& type, std::vector<std::string> requests,
    const VaryOptions& vary) {
  if (requests.empty()) {
    return absl::InvalidArgumentError("no request to send");
  }
  std::vector<std::vector<const FieldDescriptor*>> paths;
  for (const std::string& path : vary.paths) {
    auto fields = ResolvePath(type, path);
    if (!fields.ok()) return fields.status();
    paths.push_back(*std::move(fields));
  }

  std::unique_ptr<RequestSource> source(new RequestSource());
  source->variants_ = vary.variants;
  source->offset_ = vary.offset % kStampModulus;
  source->constant_ = requests.size() == 1 && paths.empty();
  const std::string zeros(kStampDigits, '0');
  const std::string nines(kStampDigits, '9');
  for (size_t i = 0; i < requests.size(); ++i) {
    Template t;
    if (paths.empty()) {
      t.bytes = std::move(requests[i]);
      t.shared = SharedBuffer(t.bytes);
      source->templates_.push_back(std::move(t));
      continue;
    }
    const std::string where =
        requests.size() > 1 ? absl::StrCat(" (request ", i + 1, ")") : "";
    MessageHolder low(&type);
    MessageHolder high(&type);
    if (!low.get().ParseFromString(requests[i]) ||
        !high.get().ParseFromString(requests[i])) {
      return absl::InvalidArgumentError(absl::StrCat(
          "--vary: request", where, " is not a ", type.full_name()));
    }
    for (size_t p = 0; p < paths.size(); ++p) {
      absl::Status st = Append(low.get(), vary.paths[p], paths[p],
                               absl::StrCat(" [", zeros, "]"));
      if (st.ok()) {
        st = Append(high.get(), vary.paths[p], paths[p],
                    absl::StrCat(" [", nines, "]"));
      }
      if (!st.ok()) {
        return absl::InvalidArgumentError(absl::StrCat(st.message(), where));
      }
    }
    t.bytes = SerializeDeterministic(low.get());
    const std::string probe = SerializeDeterministic(high.get());
    // Equal lengths, and the differing bytes must be exactly one run of
    // kStampDigits per path: anything else means the stamp did not land
    // verbatim in the wire bytes, and stamping would corrupt the request.
    bool exact = probe.size() == t.bytes.size();
    for (size_t b = 0; exact && b < t.bytes.size(); ++b) {
      if (t.bytes[b] == probe[b]) continue;
      if (b + kStampDigits > t.bytes.size()) {
        exact = false;
        break;
      }
      for (size_t d = 0; d < kStampDigits; ++d) {
        exact = exact && t.bytes[b + d] == '0' && probe[b + d] == '9';
      }
      t.stamp_offsets.push_back(b);
      b += kStampDigits - 1;
    }
    if (!exact || t.stamp_offsets.size() != paths.size()) {
      return absl::InternalError(absl::StrCat(
          "--vary: could not locate the stamps in the serialized request",
          where));
    }
    source->templates_.push_back(std::move(t));
  }
  return source;
}

int64_t RequestSource::mean_bytes() const {
  size_t total = 0;
  for (const Template& t : templates_) total += t.bytes.size();
  return static_cast<int64_t>(total / templates_.size());
}

uint64_t RequestSource::Stamp(uint64_t n) const {
  const uint64_t k = variants_ > 0 ? n % variants_ : n % kStampModulus;
  // offset_ and k are both < 10^19 and 2 * 10^19 > 2^64: subtract instead of
  // adding past the modulus.
  return k >= kStampModulus - offset_ ? k - (kStampModulus - offset_)
                                      : k + offset_;
}

void RequestSource::WriteStamp(uint64_t stamp,
                               const std::vector<size_t>& offsets,
                               char* bytes) {
  char digits[kStampDigits];
  for (int d = kStampDigits - 1; d >= 0; --d) {
    digits[d] = static_cast<char>('0' + stamp % 10);
    stamp /= 10;
  }
  for (size_t offset : offsets) {
    std::memcpy(bytes + offset, digits, kStampDigits);
  }
}

std::string RequestSource::Render(uint64_t n) const {
  const Template& t = templates_[n % templates_.size()];
  std::string out = t.bytes;
  if (!t.stamp_offsets.empty())
    WriteStamp(Stamp(n), t.stamp_offsets, out.data());
  return out;
}

grpc::ByteBuffer RequestSource::Buffer(uint64_t n) const {
  const Template& t = templates_[n % templates_.size()];
  if (t.stamp_offsets.empty()) return t.shared;  // shares the slice
  grpc_slice slice = grpc_slice_malloc(t.bytes.size());
  char* bytes = reinterpret_cast<char*>(GRPC_SLICE_START_PTR(slice));
  std::memcpy(bytes, t.bytes.data(), t.bytes.size());
  WriteStamp(Stamp(n), t.stamp_offsets, bytes);
  grpc::Slice owned(slice, grpc::Slice::STEAL_REF);
  return grpc::ByteBuffer(&owned, 1);
}

absl::StatusOr<std::vector<std::string>> ParseRequestLines(
    const google::protobuf::MethodDescriptor& method, absl::string_view text) {
  std::vector<std::string> out;
  int line_number = 0;
  for (absl::string_view line : absl::StrSplit(text, '\n')) {
    ++line_number;
    line = absl::StripAsciiWhitespace(line);
    if (line.empty()) continue;
    auto wire = SerializeJsonRequest(method, line);
    if (!wire.ok()) {
      // Same parser as --request; the user should fix this line.
      return absl::InvalidArgumentError(absl::StrCat(
          "--request-lines: line ", line_number, ": ",
          absl::StripPrefix(wire.status().message(), "--request: ")));
    }
    out.push_back(*std::move(wire));
  }
  if (out.empty()) {
    return absl::InvalidArgumentError(
        "--request-lines: no request in the file (one JSON object per line)");
  }
  return out;
}

}  // namespace rapport::loadgen
