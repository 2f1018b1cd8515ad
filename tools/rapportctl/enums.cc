#include "tools/rapportctl/enums.h"

#include <vector>

#include "absl/status/status.h"
#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/strip.h"

namespace rapport::ctl {

namespace {

std::string Normalize(absl::string_view text) {
  std::string out = absl::AsciiStrToUpper(absl::StripAsciiWhitespace(text));
  for (char& c : out) {
    if (c == '-' || c == ' ') c = '_';
  }
  return out;
}

}  // namespace

std::string EnumPrefix(const google::protobuf::EnumDescriptor& type) {
  if (type.value_count() == 0) return "";
  std::string prefix = type.value(0)->name();
  for (int i = 1; i < type.value_count(); ++i) {
    const std::string& name = type.value(i)->name();
    size_t n = 0;
    while (n < prefix.size() && n < name.size() && prefix[n] == name[n]) ++n;
    prefix.resize(n);
  }
  // Cut back to a word boundary: "OUTCOME_" and never "OUTCOME_RE".
  const size_t underscore = prefix.rfind('_');
  prefix.resize(underscore == std::string::npos ? 0 : underscore + 1);
  // A single-value enum would otherwise have its whole name as the prefix.
  if (type.value_count() == 1) prefix.clear();
  return prefix;
}

absl::StatusOr<int> ParseEnum(const google::protobuf::EnumDescriptor& type,
                              absl::string_view text) {
  const std::string wanted = Normalize(text);
  if (wanted.empty()) {
    return absl::InvalidArgumentError(
        absl::StrCat("empty value; choose one of: ", EnumChoices(type)));
  }
  if (const auto* exact = type.FindValueByName(wanted); exact != nullptr) {
    return exact->number();
  }
  const std::string prefix = EnumPrefix(type);
  if (const auto* prefixed = type.FindValueByName(prefix + wanted);
      prefixed != nullptr && prefixed->number() != 0) {
    return prefixed->number();
  }
  const std::string suffix = absl::StrCat("_", wanted);
  std::vector<const google::protobuf::EnumValueDescriptor*> matches;
  for (int i = 0; i < type.value_count(); ++i) {
    const auto* value = type.value(i);
    if (value->number() != 0 && absl::EndsWith(value->name(), suffix)) {
      matches.push_back(value);
    }
  }
  if (matches.size() == 1) return matches[0]->number();
  if (matches.size() > 1) {
    std::vector<std::string> names;
    names.reserve(matches.size());
    for (const auto* m : matches) {
      names.push_back(ShortEnumName(type, m->number()));
    }
    return absl::InvalidArgumentError(absl::StrCat(
        "\"", text, "\" is ambiguous: ", absl::StrJoin(names, ", ")));
  }
  return absl::InvalidArgumentError(
      absl::StrCat("\"", text, "\" is not one of: ", EnumChoices(type)));
}

std::string ShortEnumName(const google::protobuf::EnumDescriptor& type,
                          int number) {
  const auto* value = type.FindValueByNumber(number);
  if (value == nullptr) return absl::StrCat(number);
  absl::string_view name = value->name();
  absl::ConsumePrefix(&name, EnumPrefix(type));
  return absl::AsciiStrToLower(name);
}

std::string EnumChoices(const google::protobuf::EnumDescriptor& type) {
  std::vector<std::string> names;
  for (int i = 0; i < type.value_count(); ++i) {
    if (type.value(i)->number() == 0) continue;
    names.push_back(ShortEnumName(type, type.value(i)->number()));
  }
  return absl::StrJoin(names, ", ");
}

}  // namespace rapport::ctl
