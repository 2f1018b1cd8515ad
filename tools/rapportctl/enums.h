#pragma once

// Enum values as people type them: "email_sent", "Email-Sent" or
// "INTERACTION_KIND_EMAIL_SENT" all name INTERACTION_KIND_EMAIL_SENT. The
// match runs over the proto descriptor, so values added to the protos work
// without changes here.

#include <google/protobuf/descriptor.h>

#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace rapport::ctl {

// The value of `type` that `text` names, case-insensitively ('-' and ' '
// read as '_'): the full value name, or a suffix of it that starts after a
// '_' and matches one value only ("replied" is OUTCOME_REPLIED; "reply" is
// ambiguous between the *_REPLY outcomes). The type prefix plus `text` is
// preferred over other suffix matches. The zero (*_UNSPECIFIED) value is
// only matched by its full name. INVALID_ARGUMENT lists the choices.
absl::StatusOr<int> ParseEnum(const google::protobuf::EnumDescriptor& type,
                              absl::string_view text);

// Typed convenience: ParseEnumAs<rapport::profile::v1::InteractionKind>(s).
template <typename E>
absl::StatusOr<E> ParseEnumAs(const google::protobuf::EnumDescriptor& type,
                              absl::string_view text) {
  absl::StatusOr<int> number = ParseEnum(type, text);
  if (!number.ok()) return number.status();
  return static_cast<E>(*number);
}

// The common prefix of a type's value names, "INTERACTION_KIND_".
std::string EnumPrefix(const google::protobuf::EnumDescriptor& type);

// A value as a person writes it: the name without the type prefix, in lower
// case ("email_sent"). Unknown numbers print as the number.
std::string ShortEnumName(const google::protobuf::EnumDescriptor& type,
                          int number);

// "email_sent, email_replied, ...": every value except the zero value.
std::string EnumChoices(const google::protobuf::EnumDescriptor& type);

}  // namespace rapport::ctl
