#include "tools/rapportctl/print.h"

#include <google/protobuf/util/json_util.h>

#include <algorithm>
#include <map>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_replace.h"
#include "tools/rapportctl/csv_import.h"
#include "tools/rapportctl/enums.h"

namespace rapport::ctl {

namespace {

using rapport::profile::v1::Profile;

constexpr int kLabelWidth = 17;
constexpr int kTopInterests = 5;
constexpr int kShownInsights = 3;
constexpr absl::string_view kDot = " · ";

// Appends "  label           text\n"; continuation lines of a multi-line
// block are indented under the text.
class Block {
 public:
  void Line(absl::string_view label, absl::string_view text) {
    absl::StrAppend(
        &out_, "  ", label,
        std::string(
            kLabelWidth - std::min<size_t>(label.size(), kLabelWidth - 1), ' '),
        text, "\n");
  }
  void Lines(absl::string_view label, const std::vector<std::string>& lines) {
    for (size_t i = 0; i < lines.size(); ++i) {
      Line(i == 0 ? label : "", lines[i]);
    }
  }
  void Raw(absl::string_view text) { absl::StrAppend(&out_, text); }
  std::string Take() { return std::move(out_); }

 private:
  std::string out_;
};

std::string Date(const google::protobuf::Timestamp& t) {
  return absl::FormatTime("%Y-%m-%d", FromProto(t), absl::UTCTimeZone());
}

bool IsSet(const google::protobuf::Timestamp& t) {
  return t.seconds() != 0 || t.nanos() != 0;
}

absl::Duration DurationFromProto(const google::protobuf::Duration& d) {
  return absl::Seconds(d.seconds()) + absl::Nanoseconds(d.nanos());
}

std::string StageName(rapport::common::v1::BuyingStage stage) {
  return absl::StrReplaceAll(
      ShortEnumName(*rapport::common::v1::BuyingStage_descriptor(), stage),
      {{"_", " "}});
}

std::string Percent(double rate) {
  const double pct = rate * 100;
  return pct > 0 && pct < 10 ? absl::StrFormat("%.1f%%", pct)
                             : absl::StrFormat("%.0f%%", pct);
}

std::string FirstWord(absl::string_view s) {
  s = absl::StripAsciiWhitespace(s);
  s = s.substr(0, s.find(' '));
  return {s.data(), s.size()};
}

std::string Role(const rapport::common::v1::Contact& c) {
  std::string role = c.title();
  if (!c.company().empty()) {
    absl::StrAppend(&role, role.empty() ? "" : " ", "@ ", c.company());
  }
  if (!c.industry().empty()) {
    absl::StrAppend(&role, role.empty() ? "" : kDot, c.industry());
  }
  return role;
}

std::string ReplyRate(const rapport::profile::v1::Responsiveness& r) {
  std::string s = absl::StrCat("reply rate ", Percent(r.reply_rate()));
  if (r.touches() == 0 && r.replies() == 0) {
    absl::StrAppend(&s, " (the prior ", Percent(r.prior_reply_rate()),
                    ": no touches yet)");
  } else {
    absl::StrAppend(&s, " (", r.replies(),
                    r.replies() == 1 ? " reply" : " replies", " / ",
                    r.touches(), r.touches() == 1 ? " touch" : " touches",
                    ", prior ", Percent(r.prior_reply_rate()), ")");
  }
  return s;
}

std::vector<std::string> Responsiveness(
    const rapport::profile::v1::Responsiveness& r) {
  std::vector<std::string> lines = {ReplyRate(r)};
  std::string second;
  if (r.has_median_reply_time()) {
    second =
        absl::StrCat("median reply time ",
                     HumanDuration(DurationFromProto(r.median_reply_time())));
  } else {
    second = "median reply time unknown";
  }
  if (r.best_hours_utc_size() > 0) {
    std::vector<std::string> hours;
    for (const int h : r.best_hours_utc()) {
      hours.push_back(absl::StrFormat("%02d:00", h));
    }
    absl::StrAppend(&second, kDot, "best hours ", absl::StrJoin(hours, ", "),
                    " UTC");
  } else {
    absl::StrAppend(&second, kDot, "best hours not known yet");
  }
  if (r.has_last_reply_at()) {
    absl::StrAppend(&second, kDot, "last reply ", Date(r.last_reply_at()));
  }
  lines.push_back(std::move(second));
  return lines;
}

// `do_not_contact` overrides the timing advice: there is no good time.
std::vector<std::string> Fatigue(const rapport::profile::v1::Fatigue& f,
                                 bool do_not_contact) {
  std::string first = absl::StrCat(
      f.touches_14d(), f.touches_14d() == 1 ? " touch" : " touches", " and ",
      f.replies_14d(), f.replies_14d() == 1 ? " reply" : " replies",
      " in 14 days");
  const absl::Duration wait = DurationFromProto(f.recommended_wait());
  if (do_not_contact) {
    absl::StrAppend(&first, kDot, "do not contact");
  } else if (wait > absl::ZeroDuration()) {
    absl::StrAppend(&first, kDot, f.fatigued() ? "FATIGUED: " : "", "wait ",
                    HumanDuration(wait));
    if (f.has_next_contact_after()) {
      absl::StrAppend(&first, ", next contact after ",
                      HumanTime(FromProto(f.next_contact_after())));
    }
  } else {
    absl::StrAppend(&first, kDot, "ok to write now");
  }
  if (f.has_last_touch_at()) {
    absl::StrAppend(&first, kDot, "last touch ", Date(f.last_touch_at()));
  }
  std::vector<std::string> lines = {std::move(first)};
  if (!f.reason().empty()) lines.push_back(f.reason());
  return lines;
}

}  // namespace

std::string HumanDuration(absl::Duration d) {
  if (d < absl::ZeroDuration()) d = absl::ZeroDuration();
  const int64_t total = absl::ToInt64Seconds(d);
  const int64_t days = total / 86400;
  const int64_t hours = total % 86400 / 3600;
  const int64_t minutes = total % 3600 / 60;
  const int64_t seconds = total % 60;
  std::vector<std::string> parts;
  if (days > 0) parts.push_back(absl::StrCat(days, "d"));
  if (hours > 0) parts.push_back(absl::StrCat(hours, "h"));
  if (minutes > 0) parts.push_back(absl::StrCat(minutes, "m"));
  if (seconds > 0 || parts.empty()) parts.push_back(absl::StrCat(seconds, "s"));
  if (parts.size() > 2) parts.resize(2);
  return absl::StrJoin(parts, " ");
}

std::string HumanTime(absl::Time t) {
  return absl::FormatTime("%Y-%m-%d %H:%M UTC", t, absl::UTCTimeZone());
}

std::string AddressAs(const Profile& profile) {
  if (!profile.address_as().empty()) return profile.address_as();
  if (!profile.contact().preferred_name().empty()) {
    return profile.contact().preferred_name();
  }
  return FirstWord(profile.contact().full_name());
}

std::string FormatProfile(const Profile& profile) {
  const rapport::common::v1::Contact& c = profile.contact();
  Block b;
  const std::string address = AddressAs(profile);
  std::string heading = c.full_name().empty() ? c.id() : c.full_name();
  if (!address.empty()) {
    absl::StrAppend(&heading, ": address as \"", address, "\"");
    if (c.preferred_name().empty()) {
      absl::StrAppend(&heading, " (no preferred name known yet)");
    }
  }
  b.Raw(absl::StrCat(heading, "\n"));
  if (c.do_not_contact()) {
    b.Line("DO NOT CONTACT", c.do_not_contact_reason().empty()
                                 ? "no reason recorded"
                                 : c.do_not_contact_reason());
  }

  std::vector<std::string> contact = {c.id()};
  if (!c.email().empty()) contact.push_back(c.email());
  if (!c.time_zone().empty()) contact.push_back(c.time_zone());
  if (!c.locale().empty()) contact.push_back(c.locale());
  b.Line("contact", absl::StrJoin(contact, kDot));
  if (!c.linkedin_url().empty()) b.Line("linkedin", c.linkedin_url());
  const std::string role = Role(c);
  b.Line("role", role.empty() ? "unknown" : role);
  if (!c.owner_rep_id().empty()) b.Line("owner", c.owner_rep_id());

  std::string stage = StageName(profile.stage());
  if (!profile.stage_reason().empty()) {
    absl::StrAppend(&stage, ": ", profile.stage_reason());
  }
  b.Line("stage", stage);

  std::vector<std::string> lines;
  lines.reserve(c.priorities_size());
  for (int i = 0; i < c.priorities_size(); ++i) {
    lines.push_back(absl::StrCat(i + 1, ". ", c.priorities(i)));
  }
  b.Lines("priorities",
          lines.empty() ? std::vector<std::string>{"none stated"} : lines);
  lines.clear();
  for (const std::string& challenge : c.challenges()) {
    lines.push_back(absl::StrCat("- ", challenge));
  }
  b.Lines("challenges",
          lines.empty() ? std::vector<std::string>{"none stated"} : lines);
  lines.clear();
  for (const auto& event : c.trigger_events()) {
    std::string line = absl::StrCat("- ", event.description());
    if (IsSet(event.occurred_at())) {
      absl::StrAppend(&line, " (", Date(event.occurred_at()), ")");
    }
    lines.push_back(std::move(line));
  }
  b.Lines("trigger events",
          lines.empty() ? std::vector<std::string>{"none known"} : lines);

  // Strongest first, as the server orders them; the weight says how much
  // stronger, the mentions how much evidence.
  lines.clear();
  for (int i = 0; i < profile.interests_size() && i < kTopInterests; ++i) {
    const auto& interest = profile.interests(i);
    std::string line =
        absl::StrFormat("%.1f  %s", interest.weight(), interest.topic());
    if (interest.mentions() > 0) {
      absl::StrAppend(&line, " (", interest.mentions(),
                      interest.mentions() == 1 ? " mention)" : " mentions)");
    }
    lines.push_back(std::move(line));
  }
  if (profile.interests_size() > kTopInterests) {
    lines.push_back(absl::StrCat("+", profile.interests_size() - kTopInterests,
                                 " more (--json lists them all)"));
  }
  b.Lines("top interests",
          lines.empty() ? std::vector<std::string>{"none learned yet"} : lines);
  b.Lines("responsiveness", Responsiveness(profile.responsiveness()));
  b.Lines("fatigue", Fatigue(profile.fatigue(), c.do_not_contact()));

  lines.clear();
  for (const auto& gap : profile.knowledge_gaps()) {
    lines.push_back(absl::StrCat(
        "[ ] ", gap.description().empty()
                    ? ShortEnumName(
                          *rapport::profile::v1::KnowledgeGapCode_descriptor(),
                          gap.code())
                    : gap.description()));
  }
  b.Lines("knowledge gaps",
          lines.empty()
              ? std::vector<std::string>{"none: you know your homework"}
              : lines);

  lines.clear();
  for (int i = 0; i < profile.insights_size() && i < kShownInsights; ++i) {
    const auto& insight = profile.insights(i);
    std::string line = "- ";
    if (IsSet(insight.observed_at())) {
      absl::StrAppend(&line, Date(insight.observed_at()), " ");
    }
    absl::StrAppend(
        &line,
        ShortEnumName(*rapport::common::v1::InsightKind_descriptor(),
                      insight.kind()),
        ": ", insight.text());
    lines.push_back(std::move(line));
  }
  if (!lines.empty()) b.Lines("insights", lines);

  if (!c.custom_fields().empty()) {
    // Sorted: protobuf maps iterate in no particular order.
    std::map<std::string, std::string> sorted(c.custom_fields().begin(),
                                              c.custom_fields().end());
    std::vector<std::string> fields;
    fields.reserve(sorted.size());
    for (const auto& [key, value] : sorted) {
      fields.push_back(absl::StrCat(key, "=", value));
    }
    b.Line("other fields", absl::StrJoin(fields, kDot));
  }

  std::string version = absl::StrCat(profile.version());
  if (IsSet(profile.updated_at())) {
    absl::StrAppend(&version, kDot, "updated ",
                    HumanTime(FromProto(profile.updated_at())));
  }
  absl::StrAppend(
      &version, kDot, profile.interaction_count(),
      profile.interaction_count() == 1 ? " interaction" : " interactions");
  if (IsSet(profile.last_interaction_at())) {
    absl::StrAppend(&version, ", last ", Date(profile.last_interaction_at()));
  }
  b.Line("version", version);
  return b.Take();
}

std::string FormatProfileSummary(const Profile& profile) {
  const rapport::common::v1::Contact& c = profile.contact();
  std::vector<std::string> parts;
  std::string who = AddressAs(profile);
  if (!c.full_name().empty() && c.full_name() != who) {
    absl::StrAppend(&who, " (", c.full_name(), ")");
  }
  parts.push_back(who);
  if (const std::string role = Role(c); !role.empty()) parts.push_back(role);
  parts.push_back(StageName(profile.stage()));
  parts.push_back(absl::StrCat("reply rate ",
                               Percent(profile.responsiveness().reply_rate())));
  const absl::Duration wait =
      DurationFromProto(profile.fatigue().recommended_wait());
  if (c.do_not_contact()) {
    parts.emplace_back("DO NOT CONTACT");
  } else if (wait > absl::ZeroDuration()) {
    parts.push_back(absl::StrCat("wait ", HumanDuration(wait)));
  } else {
    parts.emplace_back("ok to write");
  }
  if (profile.knowledge_gaps_size() > 0) {
    parts.push_back(absl::StrCat(profile.knowledge_gaps_size(),
                                 profile.knowledge_gaps_size() == 1
                                     ? " knowledge gap"
                                     : " knowledge gaps"));
  }
  parts.push_back(absl::StrCat("v", profile.version()));
  return absl::StrFormat("%-24s %s", c.id(), absl::StrJoin(parts, kDot));
}

absl::StatusOr<std::string> ToJson(const google::protobuf::Message& message) {
  google::protobuf::util::JsonPrintOptions options;
  options.add_whitespace = true;
  options.preserve_proto_field_names = true;
  options.always_print_primitive_fields = true;
  std::string out;
  const auto status =
      google::protobuf::util::MessageToJsonString(message, &out, options);
  if (!status.ok()) {
    return absl::InternalError(
        absl::StrCat("cannot print as JSON: ", status.ToString()));
  }
  return out;
}

}  // namespace rapport::ctl
