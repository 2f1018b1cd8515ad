// rapportctl: the command-line client of the Rapport platform. This file
// only dispatches; each command lives in its own file (commands.h).
//
// Connection settings (TLS, API key, service addresses) come from the same
// RAPPORT_* variables and flags as the services: --tls-ca-file,
// --tls-cert-file, --api-key, --profile-addr, ...

#include <cstdio>
#include <string>
#include <vector>

#include "common/config/config.h"
#include "tools/rapportctl/commands.h"
#include "tools/rapportctl/flags.h"

namespace {

constexpr char kUsage[] = R"(usage: rapportctl COMMAND [flags]

commands:
  health [--target host:port] [--service NAME] [--timeout-ms N]
      grpc.health.v1 status of a server; exit 0 only when SERVING
  hash-key API_KEY [--tenant T] [--team TEAM] [--role ROLE] [--name LABEL]
      the keys-file entry (sha256 of the key) for RAPPORT_API_KEYS_FILE
  version
      the rapportctl version

  contact upsert --id ID [--full-name NAME] [--preferred-name NAME]
          [--email E] [--title T] [--company C] [--industry I]
          [--priority P]... [--challenge C]... [--trigger-event E]...
          [--do-not-contact[=false]] [--do-not-contact-reason R]
          [--linkedin-url U] [--time-zone TZ] [--locale L] [--owner REP]
          [--field KEY=VALUE]... [--external-id SYSTEM=ID]... [--replace]
      creates or updates a contact and prints its profile. Only the fields
      given are written (a repeated flag replaces the whole list; --priority=
      alone clears it); --replace writes every field, clearing the others.
      A trigger event may start with its date: "2024-03-02: opened a hub".
  contact get ID [ID...]
      the profile: how to address them, role, stage, priorities, interests,
      responsiveness, fatigue, knowledge gaps
  contact list [--stage S] [--company C] [--industry I] [--owner REP]
          [--do-not-contact true|false] [--fatigued true|false]
          [--page-size N] [--page-token T] [--all] [--full]
      one line per profile (--full: whole profiles); --all follows every page
  contact delete ID [--allow-missing]
      erases the contact and everything stored about them
  interaction add --contact ID --kind KIND [--direction inbound|outbound]
          [--at TIME] [--topic T]... [--talk-ratio X] [--outcome O]
          [--duration 30m] [--id ID] [--rep REP] [--quiet]
      records an interaction (at defaults to now; RFC 3339 or YYYY-MM-DD),
      then prints the updated profile (not with --quiet). KIND: email_sent,
      email_replied, call, meeting, linkedin_message, event, ...; sent
      emails are outbound and replies and events inbound unless told.
  interaction import-csv FILE [--dry-run]
      records the interactions of a CSV: contact_id, kind, direction,
      days_ago (or occurred_at), topics (';'-separated) [, id, outcome,
      talk_ratio, duration_minutes]; safe to repeat (stable ids)
  import-csv FILE [--batch N] [--dry-run]
      streams a Salesforce or HubSpot contact export (CSV, '-' for stdin)
      into ImportContacts, --batch contacts per message (default and max
      500), and reports rejected rows as "row N (line L): field: reason".
      Only the columns present are written; an opt-out column only ever
      sets do_not_contact. Exit 1 when any row was rejected.

  feedback submit --team TEAM --author ID (--message-id ID | --template-id ID
          | --campaign-id ID | --contact-id ID | --about-team TEAM)
          (--outcome O [--occurred-at TIME] | --rating 1-5 [--comment TEXT]
          [--tag T]... | --insight KIND --text TEXT | --note-to TEAM --text
          TEXT) [--key IDEMPOTENCY_KEY] [--validate-only]
      submits feedback and shows the respect check's warnings, if any
  feedback list [--team TEAM] [--author ID] [--kind KIND] [--message-id ID
          ...] [--to-team TEAM] [--since 7d|TIME] [--until TIME]
          [--flagged true|false] [--page-size N] [--all] [--full]
      one line per item, newest first
  feedback dead-letters [--tenant T] [--limit N]
      items the forwarder gave up on, with the last error (reads Redis:
      --redis-url / RAPPORT_REDIS_URL)
  feedback replay-dead-letters [--tenant T] (--id FEEDBACK_ID ... | --all)
      puts dead letters back for delivery once the peer is fixed (peers
      ignore items they already applied; reads and writes Redis)
  digest [--team TEAM] [--days N]
      a team's feedback digest over the last N days (default 7, at most
      92): outcome rates, templates, rule lifts, reviews, notes, respect
  score --contact ID [--subject S] [--body-file F | --body TEXT]
        [--channel email|linkedin|call_opener] [--sender-company C]
        [--product P]...
      score a draft for one recipient (body from stdin when not given);
      each finding is shown under the words it is about, with why and
      what to write instead (--target defaults to RAPPORT_SCORING_ADDR)

common flags of the contact, interaction and import commands:
  --target host:port   profile-service (default RAPPORT_PROFILE_ADDR,
                       127.0.0.1:50051); for feedback and digest,
                       feedback-service (default RAPPORT_FEEDBACK_ADDR,
                       127.0.0.1:50053)
  --timeout-ms N       deadline of each call (default 10000; import-csv:
                       of the whole stream, default 300000)
  --json               print the API's answer as JSON (proto field names)
enum values (KIND, --stage, --outcome) are case-insensitive and may be
shortened to any unique ending: email_sent, EMAIL-SENT, problem_aware.

errors: RPC failures print "CODE: message" on one line to stderr and exit
1; usage errors exit 2.

connection flags (also from the environment, see the README):
  --api-key, --tls-ca-file, --tls-cert-file, --tls-key-file, --tls-server-name
)";

}  // namespace

int main(int argc, char** argv) {
  std::vector<std::string> rest;
  const rapport::config::Config config = rapport::config::LoadOrDie(
      rapport::config::Service::kClient, argc, argv, &rest);
  if (rest.empty() || rest[0] == "--help" || rest[0] == "-h" ||
      rest[0] == "help") {
    std::fputs(kUsage, rest.empty() ? stderr : stdout);
    return rest.empty() ? 2 : 0;
  }
  for (const std::string& arg : rest) {
    if (arg == "--help" || arg == "-h") {
      std::fputs(kUsage, stdout);
      return 0;
    }
  }
  const std::string& command = rest[0];
  // Commands with a verb ("contact get") hand the flags after the verb on.
  const bool has_verb =
      command == "contact" || command == "interaction" || command == "feedback";
  const std::string verb = has_verb && rest.size() > 1 ? rest[1] : "";
  rapport::ctl::Args args(std::vector<std::string>(
      rest.begin() + (has_verb && rest.size() > 1 ? 2 : 1), rest.end()));

  if (command == "health") {
    return rapport::ctl::RunHealth(config, std::move(args));
  }
  if (command == "hash-key") return rapport::ctl::RunHashKey(std::move(args));
  if (command == "version") {
    std::printf("rapportctl %s\n", RAPPORT_VERSION);
    return 0;
  }
  if (command == "contact") {
    return rapport::ctl::RunContact(config, verb, std::move(args));
  }
  if (command == "interaction") {
    return rapport::ctl::RunInteraction(config, verb, std::move(args));
  }
  if (command == "import-csv") {
    return rapport::ctl::RunImportCsv(config, std::move(args));
  }
  if (command == "feedback") {
    return rapport::ctl::RunFeedback(config, verb, std::move(args));
  }
  if (command == "digest") {
    return rapport::ctl::RunDigest(config, std::move(args));
  }
  if (command == "score")
    return rapport::ctl::RunScore(config, std::move(args));
  std::fprintf(stderr, "rapportctl: unknown command \"%s\"\n\n%s",
               command.c_str(), kUsage);
  return 2;
}
