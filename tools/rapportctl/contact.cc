// rapportctl contact upsert|get|list|delete.

#include <cstdio>
#include <optional>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "rapport/profile/v1/profile.grpc.pb.h"
#include "tools/rapportctl/client.h"
#include "tools/rapportctl/commands.h"
#include "tools/rapportctl/csv_import.h"
#include "tools/rapportctl/enums.h"
#include "tools/rapportctl/print.h"

namespace rapport::ctl {

namespace {

namespace pb = rapport::profile::v1;
using rapport::common::v1::Contact;

// A ListProfiles safety net: a server that keeps answering tokens is not
// followed forever.
constexpr int kMaxPages = 100000;

int Usage(const char* text) {
  std::fprintf(stderr, "usage: rapportctl %s\n", text);
  return 2;
}

absl::StatusOr<ProfileClient> ConnectOrReport(const config::Config& config,
                                              const CallOptions& options) {
  absl::StatusOr<ProfileClient> client =
      ProfileClient::Connect(config, options);
  if (!client.ok()) {
    std::fprintf(stderr, "rapportctl: %s\n",
                 Str(client.status().message()).c_str());
  }
  return client;
}

// Fills `contact` from the flags and lists the fields written in `mask`, so
// that `contact upsert --id X --title CRO` changes the title only.
void TakeContactFlags(Args* args, Contact* contact,
                      std::vector<std::string>* mask) {
  struct Scalar {
    const char* flag;
    const char* path;
    std::string* (Contact::*field)();
  };
  const Scalar scalars[] = {
      {"full-name", "full_name", &Contact::mutable_full_name},
      {"preferred-name", "preferred_name", &Contact::mutable_preferred_name},
      {"email", "email", &Contact::mutable_email},
      {"title", "title", &Contact::mutable_title},
      {"company", "company", &Contact::mutable_company},
      {"industry", "industry", &Contact::mutable_industry},
      {"linkedin-url", "linkedin_url", &Contact::mutable_linkedin_url},
      {"time-zone", "time_zone", &Contact::mutable_time_zone},
      {"locale", "locale", &Contact::mutable_locale},
      {"owner", "owner_rep_id", &Contact::mutable_owner_rep_id},
      {"do-not-contact-reason", "do_not_contact_reason",
       &Contact::mutable_do_not_contact_reason},
  };
  for (const Scalar& s : scalars) {
    if (std::optional<std::string> v = args->Take(s.flag); v.has_value()) {
      *(contact->*s.field)() = *std::move(v);
      mask->emplace_back(s.path);
    }
  }
  // Repeatable flags replace the whole list; "--priority=" alone clears it.
  if (std::vector<std::string> v = args->TakeAll("priority"); !v.empty()) {
    for (std::string& p : v) {
      if (!p.empty()) contact->add_priorities(std::move(p));
    }
    mask->emplace_back("priorities");
  }
  if (std::vector<std::string> v = args->TakeAll("challenge"); !v.empty()) {
    for (std::string& c : v) {
      if (!c.empty()) contact->add_challenges(std::move(c));
    }
    mask->emplace_back("challenges");
  }
  if (std::vector<std::string> v = args->TakeAll("trigger-event"); !v.empty()) {
    for (const std::string& t : v) {
      if (!t.empty()) *contact->add_trigger_events() = ParseTriggerEvent(t);
    }
    mask->emplace_back("trigger_events");
  }
  if (std::optional<bool> dnc = args->TakeSwitch("do-not-contact");
      dnc.has_value()) {
    contact->set_do_not_contact(*dnc);
    mask->emplace_back("do_not_contact");
  }
  for (const auto& [flag, path] : {std::pair{"field", "custom_fields"},
                                   std::pair{"external-id", "external_ids"}}) {
    std::vector<std::string> pairs = args->TakeAll(flag);
    if (pairs.empty()) continue;
    auto* map = std::string(path) == "custom_fields"
                    ? contact->mutable_custom_fields()
                    : contact->mutable_external_ids();
    for (const std::string& kv : pairs) {
      if (kv.empty()) continue;  // "--field=" alone clears the map
      std::pair<std::string, std::string> split =
          absl::StrSplit(kv, absl::MaxSplits('=', 1));
      if (split.first.empty() || !absl::StrContains(kv, '=')) {
        args->AddError(
            absl::StrCat("--", flag, " takes KEY=VALUE, not \"", kv, "\""));
        continue;
      }
      (*map)[split.first] = split.second;
    }
    mask->emplace_back(path);
  }
}

int Upsert(const config::Config& config, Args args) {
  const CallOptions options = TakeCallOptions(&args, config);
  const bool replace = args.Switch("replace");
  pb::UpsertContactRequest request;
  Contact* contact = request.mutable_contact();
  std::vector<std::string> mask;
  contact->set_id(args.Flag("id"));
  TakeContactFlags(&args, contact, &mask);
  std::vector<std::string> rest;
  if (!args.Finish(&rest)) return 2;
  if (contact->id().empty() && rest.size() == 1) {
    contact->set_id(rest[0]);
  } else if (!rest.empty()) {
    return Usage("contact upsert --id ID [fields]");
  }
  if (contact->id().empty()) {
    return Usage(
        "contact upsert --id ID [--full-name NAME] [fields] (see "
        "--help)");
  }
  if (mask.empty() && !replace) {
    std::fprintf(stderr,
                 "rapportctl: nothing to write: give at least one field "
                 "flag (see --help)\n");
    return 2;
  }
  if (!replace) {
    for (const std::string& path : mask) {
      request.mutable_update_mask()->add_paths(path);
    }
  }

  absl::StatusOr<ProfileClient> client = ConnectOrReport(config, options);
  if (!client.ok()) return 2;
  pb::UpsertContactResponse response;
  const grpc::Status status = client->stub().UpsertContact(
      client->NewContext().get(), request, &response);
  if (!status.ok()) return ReportRpcError(status);
  if (options.json) return PrintJson(response);
  std::printf("%s contact %s\n\n", response.created() ? "created" : "updated",
              response.profile().contact().id().c_str());
  std::fputs(FormatProfile(response.profile()).c_str(), stdout);
  return 0;
}

int Get(const config::Config& config, Args args) {
  const CallOptions options = TakeCallOptions(&args, config);
  std::vector<std::string> ids;
  if (!args.Finish(&ids)) return 2;
  if (ids.empty()) return Usage("contact get ID [ID...] [--json]");
  absl::StatusOr<ProfileClient> client = ConnectOrReport(config, options);
  if (!client.ok()) return 2;
  int exit_code = 0;
  for (size_t i = 0; i < ids.size(); ++i) {
    pb::GetProfileRequest request;
    request.set_contact_id(ids[i]);
    pb::Profile profile;
    const grpc::Status status = client->stub().GetProfile(
        client->NewContext().get(), request, &profile);
    if (!status.ok()) {
      exit_code = ReportRpcError(status);
      continue;
    }
    if (options.json) {
      if (PrintJson(profile) != 0) exit_code = 1;
      continue;
    }
    if (i > 0) std::fputc('\n', stdout);
    std::fputs(FormatProfile(profile).c_str(), stdout);
  }
  return exit_code;
}

int List(const config::Config& config, Args args) {
  const CallOptions options = TakeCallOptions(&args, config);
  pb::ListProfilesRequest request;
  pb::ProfileFilter* filter = request.mutable_filter();
  if (std::optional<std::string> stage = args.Take("stage");
      stage.has_value()) {
    absl::StatusOr<rapport::common::v1::BuyingStage> parsed =
        ParseEnumAs<rapport::common::v1::BuyingStage>(
            *rapport::common::v1::BuyingStage_descriptor(), *stage);
    if (parsed.ok()) {
      filter->set_stage(*parsed);
    } else {
      args.AddError(absl::StrCat("--stage: ", parsed.status().message()));
    }
  }
  filter->set_company(args.Flag("company"));
  filter->set_industry(args.Flag("industry"));
  filter->set_owner_rep_id(args.Flag("owner"));
  if (std::optional<bool> dnc = args.TakeBool("do-not-contact");
      dnc.has_value()) {
    filter->set_do_not_contact(*dnc);
  }
  if (std::optional<bool> fatigued = args.TakeBool("fatigued");
      fatigued.has_value()) {
    filter->set_fatigued(*fatigued);
  }
  request.set_page_size(args.TakeInt("page-size", 0, 500).value_or(0));
  request.set_page_token(args.Flag("page-token"));
  const bool all = args.Switch("all");
  const bool full = args.Switch("full");
  std::vector<std::string> rest;
  if (!args.Finish(&rest)) return 2;
  if (!rest.empty()) {
    return Usage(
        "contact list [--stage S] [--company C] [--industry I] "
        "[--do-not-contact true|false] [--page-size N] [--all] [--full]");
  }

  absl::StatusOr<ProfileClient> client = ConnectOrReport(config, options);
  if (!client.ok()) return 2;
  // With --json the pages are merged into one response, so the output is a
  // single JSON document whatever the number of pages.
  pb::ListProfilesResponse merged;
  int shown = 0;
  for (int page = 0; page < kMaxPages; ++page) {
    pb::ListProfilesResponse response;
    const grpc::Status status = client->stub().ListProfiles(
        client->NewContext().get(), request, &response);
    if (!status.ok()) return ReportRpcError(status);
    for (pb::Profile& profile : *response.mutable_profiles()) {
      if (options.json) {
        *merged.add_profiles() = std::move(profile);
      } else if (full) {
        if (shown > 0) std::fputc('\n', stdout);
        std::fputs(FormatProfile(profile).c_str(), stdout);
      } else {
        std::printf("%s\n", FormatProfileSummary(profile).c_str());
      }
      ++shown;
    }
    const std::string& next = response.next_page_token();
    if (!all || next.empty() || next == request.page_token()) {
      merged.set_next_page_token(next);
      break;
    }
    request.set_page_token(next);
  }
  if (options.json) return PrintJson(merged);
  if (shown == 0) std::printf("no matching contacts\n");
  if (!merged.next_page_token().empty()) {
    std::printf("more: --page-token %s (or --all)\n",
                merged.next_page_token().c_str());
  }
  return 0;
}

int Delete(const config::Config& config, Args args) {
  const CallOptions options = TakeCallOptions(&args, config);
  const bool allow_missing = args.Switch("allow-missing");
  std::vector<std::string> ids;
  if (!args.Finish(&ids)) return 2;
  if (ids.size() != 1) {
    return Usage("contact delete ID [--allow-missing] [--json]");
  }
  absl::StatusOr<ProfileClient> client = ConnectOrReport(config, options);
  if (!client.ok()) return 2;
  pb::DeleteContactRequest request;
  request.set_contact_id(ids[0]);
  request.set_allow_missing(allow_missing);
  pb::DeleteContactResponse response;
  const grpc::Status status = client->stub().DeleteContact(
      client->NewContext().get(), request, &response);
  if (!status.ok()) return ReportRpcError(status);
  if (options.json) return PrintJson(response);
  std::printf("erased contact %s (%d stored keys removed)\n", ids[0].c_str(),
              response.deleted_keys());
  return 0;
}

}  // namespace

int RunContact(const config::Config& config, const std::string& verb,
               Args args) {
  if (verb == "upsert") return Upsert(config, std::move(args));
  if (verb == "get") return Get(config, std::move(args));
  if (verb == "list") return List(config, std::move(args));
  if (verb == "delete") return Delete(config, std::move(args));
  std::fprintf(stderr,
               "rapportctl: contact needs one of: upsert, get, list, delete "
               "(see --help)\n");
  return 2;
}

}  // namespace rapport::ctl
