// rapportctl interaction add|import-csv.

#include <cstdio>
#include <fstream>
#include <iostream>
#include <optional>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "common/util/util.h"
#include "rapport/profile/v1/profile.grpc.pb.h"
#include "tools/rapportctl/client.h"
#include "tools/rapportctl/commands.h"
#include "tools/rapportctl/csv.h"
#include "tools/rapportctl/csv_import.h"
#include "tools/rapportctl/enums.h"
#include "tools/rapportctl/print.h"

namespace rapport::ctl {

namespace {

namespace pb = rapport::profile::v1;

// Failures that say nothing about the row: continuing would only repeat
// them (and wait out a deadline per row).
bool IsFatal(grpc::StatusCode code) {
  return code == grpc::StatusCode::UNAVAILABLE ||
         code == grpc::StatusCode::DEADLINE_EXCEEDED ||
         code == grpc::StatusCode::UNAUTHENTICATED ||
         code == grpc::StatusCode::PERMISSION_DENIED ||
         code == grpc::StatusCode::UNIMPLEMENTED;
}

template <typename E>
std::optional<E> TakeEnum(Args* args, const char* flag,
                          const google::protobuf::EnumDescriptor& type) {
  std::optional<std::string> text = args->Take(flag);
  if (!text.has_value()) return std::nullopt;
  absl::StatusOr<E> value = ParseEnumAs<E>(type, *text);
  if (!value.ok()) {
    args->AddError(absl::StrCat("--", flag, ": ", value.status().message()));
    return std::nullopt;
  }
  return *value;
}

int Add(const config::Config& config, Args args) {
  const CallOptions options = TakeCallOptions(&args, config);
  pb::RecordInteractionRequest request;
  pb::Interaction* in = request.mutable_interaction();
  in->set_id(args.Flag("id"));
  in->set_contact_id(args.Flag("contact"));
  in->set_rep_id(args.Flag("rep"));
  in->set_message_id(args.Flag("message-id"));
  const std::optional<pb::InteractionKind> kind = TakeEnum<pb::InteractionKind>(
      &args, "kind", *pb::InteractionKind_descriptor());
  std::optional<pb::Direction> direction =
      TakeEnum<pb::Direction>(&args, "direction", *pb::Direction_descriptor());
  const std::optional<rapport::common::v1::Outcome> outcome =
      TakeEnum<rapport::common::v1::Outcome>(
          &args, "outcome", *rapport::common::v1::Outcome_descriptor());
  absl::Time at = absl::Now();
  if (std::optional<std::string> text = args.Take("at"); text.has_value()) {
    absl::StatusOr<absl::Time> parsed = ParseTime(*text);
    if (parsed.ok()) {
      at = *parsed;
    } else {
      args.AddError(absl::StrCat("--at: ", parsed.status().message()));
    }
  }
  for (std::string& topic : args.TakeAll("topic")) {
    if (!topic.empty()) in->add_topics(std::move(topic));
  }
  if (std::optional<double> ratio = args.TakeDouble("talk-ratio");
      ratio.has_value()) {
    in->set_talk_ratio(*ratio);
  }
  if (std::optional<std::string> d = args.Take("duration"); d.has_value()) {
    absl::Duration duration;
    if (absl::ParseDuration(*d, &duration) &&
        duration >= absl::ZeroDuration()) {
      in->mutable_duration()->set_seconds(absl::ToInt64Seconds(duration));
    } else {
      args.AddError(
          absl::StrCat("--duration takes a duration like 30m or "
                       "1h15m, not \"",
                       *d, "\""));
    }
  }
  const bool quiet = args.Switch("quiet");
  std::vector<std::string> rest;
  if (!args.Finish(&rest)) return 2;
  if (!rest.empty() || in->contact_id().empty() || !kind.has_value()) {
    std::fprintf(stderr,
                 "usage: rapportctl interaction add --contact ID --kind KIND "
                 "[--direction inbound|outbound] [--at TIME] [--topic T ...] "
                 "[--talk-ratio X] [--outcome O]\n  kinds: %s\n",
                 EnumChoices(*pb::InteractionKind_descriptor()).c_str());
    return 2;
  }
  if (!direction.has_value()) direction = DefaultDirection(*kind);
  if (!direction.has_value()) {
    std::fprintf(
        stderr,
        "rapportctl: --direction inbound|outbound is needed for "
        "--kind %s\n",
        ShortEnumName(*pb::InteractionKind_descriptor(), *kind).c_str());
    return 2;
  }
  in->set_kind(*kind);
  in->set_direction(*direction);
  if (outcome.has_value()) in->set_outcome(*outcome);
  *in->mutable_occurred_at() = util::ToTimestamp(at);

  absl::StatusOr<ProfileClient> client =
      ProfileClient::Connect(config, options);
  if (!client.ok()) {
    std::fprintf(stderr, "rapportctl: %s\n",
                 Str(client.status().message()).c_str());
    return 2;
  }
  pb::RecordInteractionResponse response;
  const grpc::Status status = client->stub().RecordInteraction(
      client->NewContext().get(), request, &response);
  if (!status.ok()) return ReportRpcError(status);
  if (options.json) return PrintJson(response);
  std::printf(
      "%s interaction %s (profile version %lld)\n",
      response.duplicate() ? "already recorded, nothing changed:" : "recorded",
      response.interaction_id().c_str(),
      static_cast<long long>(response.profile_version()));
  if (quiet) return 0;
  // Show what the interaction changed: stage, interests, fatigue.
  pb::GetProfileRequest get;
  get.set_contact_id(in->contact_id());
  pb::Profile profile;
  const grpc::Status get_status =
      client->stub().GetProfile(client->NewContext().get(), get, &profile);
  if (!get_status.ok()) {
    std::fprintf(stderr,
                 "warning: the interaction is recorded, but the "
                 "profile could not be read: %s\n",
                 FormatRpcError(get_status).c_str());
    return 0;
  }
  std::printf("\n%s", FormatProfile(profile).c_str());
  return 0;
}

int ImportCsv(const config::Config& config, Args args) {
  const CallOptions options = TakeCallOptions(&args, config);
  const bool dry_run = args.Switch("dry-run");
  std::vector<std::string> files;
  if (!args.Finish(&files)) return 2;
  if (files.size() != 1) {
    std::fprintf(stderr,
                 "usage: rapportctl interaction import-csv FILE [--dry-run]\n"
                 "  columns: contact_id, kind, direction, days_ago or "
                 "occurred_at, topics [, id, outcome, talk_ratio, "
                 "duration_minutes]\n");
    return 2;
  }
  std::ifstream file;
  std::istream* in = &std::cin;
  if (files[0] != "-") {
    file.open(files[0], std::ios::binary);
    if (!file) {
      std::fprintf(stderr, "rapportctl: cannot open %s\n", files[0].c_str());
      return 1;
    }
    in = &file;
  }
  CsvReader reader(in);
  CsvRecord header;
  if (!reader.Next(&header) || !header.error.empty()) {
    std::fprintf(stderr, "rapportctl: %s: no header line%s%s\n",
                 files[0].c_str(), header.error.empty() ? "" : ": ",
                 header.error.c_str());
    return 1;
  }
  absl::StatusOr<InteractionCsvMapper> mapper =
      InteractionCsvMapper::FromHeader(header.fields);
  if (!mapper.ok()) {
    std::fprintf(stderr, "rapportctl: %s: line %d: %s\n", files[0].c_str(),
                 header.line, Str(mapper.status().message()).c_str());
    return 1;
  }
  std::optional<ProfileClient> client;
  if (!dry_run) {
    absl::StatusOr<ProfileClient> connected =
        ProfileClient::Connect(config, options);
    if (!connected.ok()) {
      std::fprintf(stderr, "rapportctl: %s\n",
                   Str(connected.status().message()).c_str());
      return 2;
    }
    client.emplace(*std::move(connected));
  }

  // Rows are reported on stdout, or on stderr when stdout carries JSON.
  FILE* report = options.json ? stderr : stdout;
  const absl::Time now = absl::Now();
  int row = 0;
  int recorded = 0;
  int duplicates = 0;
  int failed = 0;
  CsvRecord record;
  std::optional<grpc::Status> fatal;
  while (!fatal.has_value() && reader.Next(&record)) {
    if (IsBlankRecord(record)) continue;
    ++row;
    const std::string where =
        absl::StrCat("row ", row, " (line ", record.line, ")");
    if (!record.error.empty()) {
      std::fprintf(report, "%s: %s\n", where.c_str(), record.error.c_str());
      ++failed;
      continue;
    }
    absl::StatusOr<pb::Interaction> mapped = mapper->Map(record.fields, now);
    if (!mapped.ok()) {
      std::fprintf(report, "%s: %s\n", where.c_str(),
                   Str(mapped.status().message()).c_str());
      ++failed;
      continue;
    }
    if (dry_run) {
      ++recorded;
      continue;
    }
    pb::RecordInteractionRequest request;
    *request.mutable_interaction() = *std::move(mapped);
    pb::RecordInteractionResponse response;
    const grpc::Status status = client->stub().RecordInteraction(
        client->NewContext().get(), request, &response);
    if (status.ok()) {
      ++(response.duplicate() ? duplicates : recorded);
    } else if (IsFatal(status.error_code())) {
      fatal = status;
    } else {
      std::fprintf(report, "%s: %s\n", where.c_str(),
                   FormatRpcError(status).c_str());
      ++failed;
    }
  }
  if (reader.bad()) {
    std::fprintf(stderr, "rapportctl: %s: read error\n", files[0].c_str());
    return 1;
  }
  if (options.json) {
    std::printf(
        "{\n  \"recorded\": %d,\n  \"duplicates\": %d,\n  \"failed\": %d,\n"
        "  \"dry_run\": %s\n}\n",
        recorded, duplicates, failed, dry_run ? "true" : "false");
  } else {
    std::printf("%s%s: %d rows; %s %d, already recorded %d, failed %d\n",
                dry_run ? "dry run: " : "", files[0].c_str(), row,
                dry_run ? "would record" : "recorded", recorded, duplicates,
                failed);
  }
  if (fatal.has_value()) {
    std::fprintf(stderr, "stopped at row %d: ", row);
    return ReportRpcError(*fatal);
  }
  return failed > 0 ? 1 : 0;
}

}  // namespace

int RunInteraction(const config::Config& config, const std::string& verb,
                   Args args) {
  if (verb == "add") return Add(config, std::move(args));
  if (verb == "import-csv") return ImportCsv(config, std::move(args));
  std::fprintf(stderr,
               "rapportctl: interaction needs one of: add, import-csv (see "
               "--help)\n");
  return 2;
}

}  // namespace rapport::ctl
