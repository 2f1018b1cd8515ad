#pragma once

// How rapportctl shows things: a profile the way a seller reads it before
// writing (who they are and what to call them, what they care about, how
// they respond, whether to wait, what is still unknown), a one-line summary
// for lists, and any message as JSON for scripts.

#include <google/protobuf/message.h>

#include <string>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "rapport/profile/v1/profile.pb.h"

namespace rapport::ctl {

// The profile as a labelled block, one fact per line, ending in '\n'.
std::string FormatProfile(const rapport::profile::v1::Profile& profile);

// One line: id, name and address, role, stage, reply rate, fatigue,
// version (no trailing '\n').
std::string FormatProfileSummary(const rapport::profile::v1::Profile& profile);

// The name to use: Profile.address_as, else the preferred name, else the
// first word of the full name.
std::string AddressAs(const rapport::profile::v1::Profile& profile);

// The message as indented JSON with the proto field names
// ("preferred_name", not "preferredName") and default values included, so
// scripts can rely on every field being there.
absl::StatusOr<std::string> ToJson(const google::protobuf::Message& message);

// "2d 4h", "3h 20m", "45m", "12s", "0s": the two largest units.
std::string HumanDuration(absl::Duration d);

// "2024-05-10 14:00 UTC".
std::string HumanTime(absl::Time t);

}  // namespace rapport::ctl
