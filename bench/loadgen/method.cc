#include "bench/loadgen/method.h"

#include <google/protobuf/descriptor_database.h>
#include <google/protobuf/dynamic_message.h>
#include <google/protobuf/message.h>
#include <google/protobuf/util/json_util.h>

#include <algorithm>
#include <memory>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_replace.h"
#include "absl/strings/string_view.h"
#include "absl/strings/strip.h"

namespace rapport::loadgen {
namespace {

using google::protobuf::Descriptor;
using google::protobuf::DescriptorPool;
using google::protobuf::FieldDescriptor;
using google::protobuf::MethodDescriptor;
using google::protobuf::ServiceDescriptor;

// Services of the project's own files in the generated pool. The pool cannot
// list itself; its backing database can (an "internal_" accessor, but public
// and stable since protobuf 3.0; it is only used for error messages).
std::vector<const ServiceDescriptor*> CompiledInServices() {
  std::vector<std::string> files;
  DescriptorPool::internal_generated_database()->FindAllFileNames(&files);
  std::vector<const ServiceDescriptor*> services;
  for (const std::string& name : files) {
    if (!absl::StartsWith(name, "rapport/")) continue;
    const auto* file = DescriptorPool::generated_pool()->FindFileByName(name);
    if (file == nullptr) continue;
    for (int i = 0; i < file->service_count(); ++i) {
      services.push_back(file->service(i));
    }
  }
  std::sort(services.begin(), services.end(),
            [](const ServiceDescriptor* a, const ServiceDescriptor* b) {
              return a->full_name() < b->full_name();
            });
  return services;
}

std::string OneLine(absl::string_view text) {
  return absl::StrReplaceAll(absl::StripAsciiWhitespace(text),
                             {{"\n", " "}, {"\r", " "}});
}

}  // namespace

MessageHolder::MessageHolder(const Descriptor* type) {
  factory_.SetDelegateToGeneratedFactory(true);
  message_.reset(factory_.GetPrototype(type)->New());
}

absl::StatusOr<Method> ResolveMethod(absl::string_view name,
                                     const DescriptorPool& pool) {
  absl::string_view full =
      absl::StripPrefix(absl::StripAsciiWhitespace(name), "/");
  size_t split = full.rfind('/');
  if (split == absl::string_view::npos) split = full.rfind('.');
  if (full.empty() || split == absl::string_view::npos || split == 0 ||
      split + 1 == full.size()) {
    return absl::InvalidArgumentError(absl::StrCat(
        "--method: \"", name,
        "\" is not a full method name like rapport.bench.v1.EchoService/Echo"));
  }
  const std::string service_name(full.substr(0, split));
  const std::string method_name(full.substr(split + 1));
  const ServiceDescriptor* service = pool.FindServiceByName(service_name);
  if (service == nullptr) {
    std::string known;
    if (&pool == DescriptorPool::generated_pool()) {
      std::vector<std::string> names;
      for (const auto* s : CompiledInServices()) {
        names.push_back(s->full_name());
      }
      known = names.empty()
                  ? " (no rapport service is compiled in)"
                  : absl::StrCat(" (known: ", absl::StrJoin(names, ", "), ")");
    }
    return absl::NotFoundError(absl::StrCat("--method: unknown service \"",
                                            service_name, "\"", known));
  }
  const MethodDescriptor* method = service->FindMethodByName(method_name);
  if (method == nullptr) {
    std::vector<std::string> names;
    names.reserve(static_cast<size_t>(service->method_count()));
    for (int i = 0; i < service->method_count(); ++i) {
      names.push_back(service->method(i)->name());
    }
    return absl::NotFoundError(absl::StrCat(
        "--method: service ", service_name, " has no method \"", method_name,
        "\" (it has: ", absl::StrJoin(names, ", "), ")"));
  }
  const bool bidi = method->client_streaming() && method->server_streaming();
  if (!bidi && (method->client_streaming() || method->server_streaming())) {
    return absl::InvalidArgumentError(absl::StrCat(
        "--method: ", service_name, "/", method_name, " is ",
        method->client_streaming() ? "client-streaming" : "server-streaming",
        "; only unary and bidirectional-streaming methods are supported"));
  }
  return Method{absl::StrCat("/", service_name, "/", method_name), method,
                bidi};
}

absl::StatusOr<Method> ResolveUnaryMethod(absl::string_view name,
                                          const DescriptorPool& pool) {
  auto method = ResolveMethod(name, pool);
  if (method.ok() && method->bidi_streaming) {
    return absl::InvalidArgumentError(
        absl::StrCat("--method: ", method->path.substr(1),
                     " is bidirectional-streaming; only unary methods are "
                     "supported here"));
  }
  return method;
}

absl::StatusOr<std::string> SerializeJsonRequest(const MethodDescriptor& method,
                                                 absl::string_view json) {
  MessageHolder request(method.input_type());
  google::protobuf::util::JsonParseOptions options;
  options.ignore_unknown_fields = false;
  const auto status = google::protobuf::util::JsonStringToMessage(
      google::protobuf::StringPiece(json.data(), json.size()), &request.get(),
      options);
  if (!status.ok()) {
    return absl::InvalidArgumentError(absl::StrCat(
        "--request: not a valid ", method.input_type()->full_name(), ": ",
        OneLine(status.message().as_string())));
  }
  std::string wire;
  if (!request.get().SerializeToString(&wire)) {
    return absl::InvalidArgumentError(
        absl::StrCat("--request: ", method.input_type()->full_name(),
                     " does not serialize"));
  }
  return wire;
}

absl::StatusOr<std::string> SerializePayloadRequest(
    const MethodDescriptor& method, int64_t bytes) {
  const Descriptor* type = method.input_type();
  const FieldDescriptor* field = type->FindFieldByName("payload");
  if (field == nullptr || field->is_repeated() ||
      (field->type() != FieldDescriptor::TYPE_BYTES &&
       field->type() != FieldDescriptor::TYPE_STRING)) {
    return absl::InvalidArgumentError(
        absl::StrCat("--payload-bytes: ", type->full_name(),
                     " has no bytes field \"payload\"; use --request"));
  }
  MessageHolder request(type);
  // 'x' keeps the payload valid UTF-8 should the field be a string.
  request.get().GetReflection()->SetString(
      &request.get(), field, std::string(static_cast<size_t>(bytes), 'x'));
  return request.get().SerializeAsString();
}

absl::Status CheckResponse(const MethodDescriptor& method,
                           const std::string& response) {
  MessageHolder message(method.output_type());
  if (!message.get().ParseFromString(response)) {
    return absl::FailedPreconditionError(absl::StrCat(
        "--method: the response to ", method.full_name(), " is not a ",
        method.output_type()->full_name(), " (", response.size(),
        " bytes): is the server running another service?"));
  }
  return absl::OkStatus();
}

std::vector<std::string> CompiledInMethods() {
  std::vector<std::string> out;
  for (const ServiceDescriptor* s : CompiledInServices()) {
    for (int i = 0; i < s->method_count(); ++i) {
      const MethodDescriptor* m = s->method(i);
      if (m->client_streaming() != m->server_streaming()) continue;
      out.push_back(absl::StrCat(s->full_name(), "/", m->name()));
    }
  }
  return out;
}

}  // namespace rapport::loadgen
