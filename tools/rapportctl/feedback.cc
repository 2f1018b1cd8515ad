// rapportctl feedback submit|list|dead-letters|replay-dead-letters, and
// rapportctl digest.

#include <cstdio>
#include <cstdlib>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_replace.h"
#include "common/auth/auth.h"
#include "common/log/log.h"
#include "common/redis/pool.h"
#include "common/server/server.h"
#include "common/util/util.h"
#include "rapport/feedback/v1/feedback.grpc.pb.h"
#include "services/feedback/digest.h"
#include "services/feedback/store.h"
#include "tools/rapportctl/client.h"
#include "tools/rapportctl/commands.h"
#include "tools/rapportctl/csv_import.h"
#include "tools/rapportctl/enums.h"
#include "tools/rapportctl/print.h"

namespace rapport::ctl {

namespace {

namespace fb = rapport::feedback::v1;
namespace common = rapport::common::v1;

// Default address of feedback-service: RAPPORT_FEEDBACK_ADDR, else the
// service's default port.
constexpr char kDefaultFeedbackAddr[] = "127.0.0.1:50053";
// ListFeedback pages followed by --all and by the digest's review scan.
constexpr int kMaxPages = 10000;
constexpr int kMaxReviewPages = 40;

std::string FeedbackAddr() {
  const char* env = std::getenv("RAPPORT_FEEDBACK_ADDR");
  return env != nullptr && env[0] != '\0' ? env : kDefaultFeedbackAddr;
}

int Usage(const char* text) {
  std::fprintf(stderr, "usage: rapportctl %s\n", text);
  return 2;
}

// --target (default RAPPORT_FEEDBACK_ADDR), --timeout-ms, --json.
CallOptions TakeFeedbackCallOptions(Args* args, const config::Config& config) {
  const std::optional<std::string> target = args->Take("target");
  CallOptions options = TakeCallOptions(args, config);
  options.target = target.value_or(FeedbackAddr());
  return options;
}

class FeedbackClient {
 public:
  static absl::StatusOr<FeedbackClient> Connect(const config::Config& config,
                                                const CallOptions& options) {
    absl::StatusOr<std::shared_ptr<grpc::Channel>> channel =
        server::MakeChannel(config, options.target);
    if (!channel.ok()) return channel.status();
    return FeedbackClient(config.api_key, options,
                          fb::FeedbackService::NewStub(*channel));
  }

  std::unique_ptr<grpc::ClientContext> NewContext() const {
    auto ctx = std::make_unique<grpc::ClientContext>();
    ctx->set_deadline(absl::ToChronoTime(absl::Now() + options_.timeout));
    auth::AttachApiKey(ctx.get(), api_key_);
    return ctx;
  }
  fb::FeedbackService::Stub& stub() const { return *stub_; }

 private:
  FeedbackClient(std::string api_key, CallOptions options,
                 std::unique_ptr<fb::FeedbackService::Stub> stub)
      : api_key_(std::move(api_key)),
        options_(std::move(options)),
        stub_(std::move(stub)) {}

  std::string api_key_;
  CallOptions options_;
  std::unique_ptr<fb::FeedbackService::Stub> stub_;
};

absl::StatusOr<FeedbackClient> ConnectOrReport(const config::Config& config,
                                               const CallOptions& options) {
  absl::StatusOr<FeedbackClient> client =
      FeedbackClient::Connect(config, options);
  if (!client.ok()) {
    std::fprintf(stderr, "rapportctl: %s\n",
                 Str(client.status().message()).c_str());
  }
  return client;
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

std::optional<absl::Time> TakeTime(Args* args, const char* flag) {
  std::optional<std::string> text = args->Take(flag);
  if (!text.has_value()) return std::nullopt;
  // "7d", "36h": that long ago.
  absl::Duration ago;
  if (absl::EndsWith(*text, "d")) {
    int days = 0;
    if (absl::SimpleAtoi(absl::string_view(*text).substr(0, text->size() - 1),
                         &days) &&
        days >= 0) {
      return absl::Now() - absl::Hours(24 * days);
    }
  } else if (absl::ParseDuration(*text, &ago) && ago >= absl::ZeroDuration()) {
    return absl::Now() - ago;
  }
  absl::StatusOr<absl::Time> t = ParseTime(*text);
  if (!t.ok()) {
    args->AddError(absl::StrCat("--", flag,
                                ": a time (RFC 3339 or YYYY-MM-DD) or an age "
                                "like 7d or 36h, not \"",
                                *text, "\""));
    return std::nullopt;
  }
  return *t;
}

std::string Team(common::Team team) {
  return ShortEnumName(*common::Team_descriptor(), team);
}

std::string SubjectText(const fb::FeedbackSubject& s) {
  switch (s.target_case()) {
    case fb::FeedbackSubject::kMessageId:
      return absl::StrCat("message ", s.message_id());
    case fb::FeedbackSubject::kTemplateId:
      return absl::StrCat("template ", s.template_id());
    case fb::FeedbackSubject::kCampaignId:
      return absl::StrCat("campaign ", s.campaign_id());
    case fb::FeedbackSubject::kContactId:
      return absl::StrCat("contact ", s.contact_id());
    case fb::FeedbackSubject::kTeam:
      return absl::StrCat("team ", Team(s.team()));
    case fb::FeedbackSubject::TARGET_NOT_SET:
      break;
  }
  return "(no subject)";
}

// Text on one line, cut to `max` bytes.
std::string OneLine(absl::string_view text, size_t max = 100) {
  std::string line = absl::StrReplaceAll(text, {{"\r", " "}, {"\n", " "}});
  if (line.size() > max) {
    size_t cut = max;
    // Do not split a UTF-8 sequence.
    while (cut > 0 && (static_cast<unsigned char>(line[cut]) & 0xC0) == 0x80) {
      --cut;
    }
    line = absl::StrCat(line.substr(0, cut), "...");
  }
  return line;
}

std::string WhatText(const fb::Feedback& f) {
  switch (f.kind_case()) {
    case fb::Feedback::kOutcome:
      return absl::StrCat(
          "outcome ",
          ShortEnumName(*common::Outcome_descriptor(), f.outcome().outcome()));
    case fb::Feedback::kReview: {
      std::string s = absl::StrCat("review ", f.review().rating(), "/5");
      if (!f.review().comment().empty()) {
        absl::StrAppend(&s, " \"", OneLine(f.review().comment(), 80), "\"");
      }
      if (f.review().tags_size() > 0) {
        absl::StrAppend(&s, " [", absl::StrJoin(f.review().tags(), ", "), "]");
      }
      return s;
    }
    case fb::Feedback::kInsight:
      return absl::StrCat(
          "insight ",
          ShortEnumName(*common::InsightKind_descriptor(), f.insight().kind()),
          " \"", OneLine(f.insight().text(), 80), "\"");
    case fb::Feedback::kNote:
      return absl::StrCat("note to ", Team(f.note().to_team()), " \"",
                          OneLine(f.note().text(), 80), "\"");
    case fb::Feedback::KIND_NOT_SET:
      break;
  }
  return "(empty)";
}

std::string FormatItem(const fb::Feedback& f) {
  std::string line =
      absl::StrCat(f.id(), "  ", HumanTime(FromProto(f.created_at())), "  ",
                   Team(f.author().team()), "/", f.author().id(), "  ",
                   SubjectText(f.subject()), "  ", WhatText(f));
  if (f.flagged()) {
    std::vector<std::string> words;
    for (const fb::RespectWarning& w : f.warnings()) {
      words.push_back(w.excerpt());
    }
    absl::StrAppend(&line, "  [flagged: ", absl::StrJoin(words, ", "), "]");
  }
  return line;
}

void PrintWarnings(
    const google::protobuf::RepeatedPtrField<fb::RespectWarning>& warnings) {
  for (const fb::RespectWarning& w : warnings) {
    std::printf(
        "  %s [%u, %u) \"%s\" (%s)\n    why: %s\n    try: %s\n",
        w.field().c_str(), w.start(), w.end(), w.excerpt().c_str(),
        ShortEnumName(*fb::RespectCategory_descriptor(), w.category()).c_str(),
        w.explanation().c_str(), w.suggestion().c_str());
  }
}

constexpr char kSubmitUsage[] =
    "feedback submit --team TEAM --author ID\n"
    "          (--message-id ID | --template-id ID | --campaign-id ID |\n"
    "           --contact-id ID | --about-team TEAM)\n"
    "          (--outcome O [--occurred-at TIME] |\n"
    "           --rating 1-5 [--comment TEXT] [--tag T]... |\n"
    "           --insight KIND --text TEXT |\n"
    "           --note-to TEAM --text TEXT)\n"
    "          [--key IDEMPOTENCY_KEY] [--validate-only]";

int Submit(const config::Config& config, Args args) {
  const CallOptions options = TakeFeedbackCallOptions(&args, config);
  fb::SubmitFeedbackRequest request;
  fb::Feedback* f = request.mutable_feedback();
  if (auto team =
          TakeEnum<common::Team>(&args, "team", *common::Team_descriptor())) {
    f->mutable_author()->set_team(*team);
  }
  f->mutable_author()->set_id(args.Flag("author"));
  int subjects = 0;
  if (auto v = args.Take("message-id")) {
    f->mutable_subject()->set_message_id(*v);
    ++subjects;
  }
  if (auto v = args.Take("template-id")) {
    f->mutable_subject()->set_template_id(*v);
    ++subjects;
  }
  if (auto v = args.Take("campaign-id")) {
    f->mutable_subject()->set_campaign_id(*v);
    ++subjects;
  }
  if (auto v = args.Take("contact-id")) {
    f->mutable_subject()->set_contact_id(*v);
    ++subjects;
  }
  if (auto v = TakeEnum<common::Team>(&args, "about-team",
                                      *common::Team_descriptor())) {
    f->mutable_subject()->set_team(*v);
    ++subjects;
  }
  if (subjects > 1) {
    args.AddError(
        "give one subject: --message-id, --template-id, --campaign-id, "
        "--contact-id or --about-team");
  }
  int kinds = 0;
  const std::optional<std::string> text = args.Take("text");
  if (auto o = TakeEnum<common::Outcome>(&args, "outcome",
                                         *common::Outcome_descriptor())) {
    f->mutable_outcome()->set_outcome(*o);
    if (auto at = TakeTime(&args, "occurred-at")) {
      *f->mutable_outcome()->mutable_occurred_at() = util::ToTimestamp(*at);
    }
    ++kinds;
  }
  if (auto rating = args.TakeInt("rating", -1000, 1000)) {
    fb::Review* r = f->mutable_review();
    r->set_rating(*rating);
    r->set_comment(args.Flag("comment"));
    for (std::string& tag : args.TakeAll("tag")) r->add_tags(std::move(tag));
    ++kinds;
  }
  if (auto kind = TakeEnum<common::InsightKind>(
          &args, "insight", *common::InsightKind_descriptor())) {
    f->mutable_insight()->set_kind(*kind);
    f->mutable_insight()->set_text(text.value_or(""));
    ++kinds;
  }
  if (auto to = TakeEnum<common::Team>(&args, "note-to",
                                       *common::Team_descriptor())) {
    f->mutable_note()->set_to_team(*to);
    f->mutable_note()->set_text(text.value_or(""));
    ++kinds;
  }
  if (kinds > 1) {
    args.AddError("give one kind: --outcome, --rating, --insight or --note-to");
  }
  f->set_idempotency_key(args.Flag("key"));
  request.set_validate_only(args.Switch("validate-only"));
  std::vector<std::string> rest;
  if (!args.Finish(&rest)) return 2;
  if (!rest.empty() || kinds == 0) return Usage(kSubmitUsage);

  absl::StatusOr<FeedbackClient> client = ConnectOrReport(config, options);
  if (!client.ok()) return 2;
  fb::SubmitFeedbackResponse response;
  const grpc::Status status = client->stub().SubmitFeedback(
      client->NewContext().get(), request, &response);
  if (!status.ok()) return ReportRpcError(status);
  if (options.json) return PrintJson(response);
  if (request.validate_only()) {
    std::printf("valid; nothing stored\n");
  } else if (response.duplicate()) {
    std::printf(
        "already submitted with this key: feedback %s (nothing new "
        "stored)\n",
        response.feedback_id().c_str());
  } else {
    std::printf("stored feedback %s\n", response.feedback_id().c_str());
  }
  if (response.flagged()) {
    std::printf(
        "\nThe respect check flagged some wording (the item is %s as "
        "written):\n",
        request.validate_only() ? "valid" : "stored");
    PrintWarnings(response.warnings());
  }
  return 0;
}

constexpr char kListUsage[] =
    "feedback list [--team TEAM] [--author ID] [--kind KIND]\n"
    "          [--message-id ID | --template-id ID | --campaign-id ID |\n"
    "           --contact-id ID | --about-team TEAM] [--to-team TEAM]\n"
    "          [--since 7d|TIME] [--until TIME] [--flagged true|false]\n"
    "          [--page-size N] [--page-token T] [--all] [--full]";

int List(const config::Config& config, Args args) {
  const CallOptions options = TakeFeedbackCallOptions(&args, config);
  fb::ListFeedbackRequest request;
  fb::FeedbackFilter* filter = request.mutable_filter();
  if (auto t =
          TakeEnum<common::Team>(&args, "team", *common::Team_descriptor())) {
    filter->set_author_team(*t);
  }
  filter->set_author_id(args.Flag("author"));
  if (auto k = TakeEnum<fb::FeedbackKind>(&args, "kind",
                                          *fb::FeedbackKind_descriptor())) {
    filter->set_kind(*k);
  }
  if (auto v = args.Take("message-id")) {
    filter->mutable_subject()->set_message_id(*v);
  }
  if (auto v = args.Take("template-id")) {
    filter->mutable_subject()->set_template_id(*v);
  }
  if (auto v = args.Take("campaign-id")) {
    filter->mutable_subject()->set_campaign_id(*v);
  }
  if (auto v = args.Take("contact-id")) {
    filter->mutable_subject()->set_contact_id(*v);
  }
  if (auto v = TakeEnum<common::Team>(&args, "about-team",
                                      *common::Team_descriptor())) {
    filter->mutable_subject()->set_team(*v);
  }
  if (auto t = TakeEnum<common::Team>(&args, "to-team",
                                      *common::Team_descriptor())) {
    filter->set_to_team(*t);
  }
  if (auto t = TakeTime(&args, "since")) {
    *filter->mutable_start_time() = util::ToTimestamp(*t);
  }
  if (auto t = TakeTime(&args, "until")) {
    *filter->mutable_end_time() = util::ToTimestamp(*t);
  }
  if (auto b = args.TakeBool("flagged")) filter->set_flagged(*b);
  if (auto n = args.TakeInt("page-size", 0, 500)) request.set_page_size(*n);
  request.set_page_token(args.Flag("page-token"));
  const bool all = args.Switch("all");
  const bool full = args.Switch("full");
  std::vector<std::string> rest;
  if (!args.Finish(&rest)) return 2;
  if (!rest.empty()) return Usage(kListUsage);

  absl::StatusOr<FeedbackClient> client = ConnectOrReport(config, options);
  if (!client.ok()) return 2;
  for (int page = 0; page < kMaxPages; ++page) {
    fb::ListFeedbackResponse response;
    const grpc::Status status = client->stub().ListFeedback(
        client->NewContext().get(), request, &response);
    if (!status.ok()) return ReportRpcError(status);
    if (options.json) {
      if (const int rc = PrintJson(response); rc != 0) return rc;
    } else {
      for (const fb::Feedback& f : response.items()) {
        if (full) {
          absl::StatusOr<std::string> json = ToJson(f);
          std::printf("%s\n", json.ok() ? json->c_str() : "(unprintable)");
        } else {
          std::printf("%s\n", FormatItem(f).c_str());
        }
      }
    }
    if (response.next_page_token().empty()) return 0;
    if (!all) {
      if (!options.json) {
        std::printf("more: --page-token %s (or --all)\n",
                    response.next_page_token().c_str());
      }
      return 0;
    }
    request.set_page_token(response.next_page_token());
  }
  return 0;
}

// The store of the tenant's dead letters, through a one-connection pool on
// RAPPORT_REDIS_URL / --redis-url.
std::unique_ptr<redis::Pool> OperatorPool(const config::Config& config,
                                          absl::Duration timeout) {
  redis::PoolOptions po;
  po.endpoint = config.redis;
  po.size = 1;
  po.command_timeout = timeout;
  po.connect_timeout = timeout;
  return redis::Pool::Create(po);
}

int PrintStoreError(const absl::Status& status) {
  std::fprintf(stderr, "%s: %s\n",
               Str(absl::StatusCodeToString(status.code())).c_str(),
               Str(status.message()).c_str());
  return 1;
}

constexpr char kDeadLettersUsage[] =
    "feedback dead-letters [--tenant T] [--limit N] [--json]\n"
    "      reads Redis directly (RAPPORT_REDIS_URL / --redis-url): an "
    "operator command";

int DeadLetters(const config::Config& config, Args args) {
  const std::string tenant = args.Flag("tenant", auth::kDevTenant);
  const int limit = args.TakeInt("limit", 1, 10000).value_or(100);
  const bool json = args.Switch("json");
  const absl::Duration timeout = args.TakeTimeout(absl::Seconds(5));
  std::vector<std::string> rest;
  if (!args.Finish(&rest)) return 2;
  if (!rest.empty()) return Usage(kDeadLettersUsage);

  redis::PoolOptions po;
  po.endpoint = config.redis;
  po.size = 1;
  po.command_timeout = timeout;
  po.connect_timeout = timeout;
  std::unique_ptr<redis::Pool> pool = redis::Pool::Create(po);
  feedback::FeedbackStore store(*pool);
  absl::StatusOr<std::vector<feedback::DeadLetterRecord>> dead =
      store.DeadLetters(tenant, limit);
  if (!dead.ok()) {
    std::fprintf(stderr, "%s: %s\n",
                 Str(absl::StatusCodeToString(dead.status().code())).c_str(),
                 Str(dead.status().message()).c_str());
    return 1;
  }
  if (json) {
    std::printf("[");
    for (size_t i = 0; i < dead->size(); ++i) {
      const feedback::DeadLetterRecord& d = (*dead)[i];
      absl::StatusOr<std::string> item = ToJson(d.feedback);
      std::string error;
      log::AppendJsonString(error, d.error);
      std::string failed_at;
      log::AppendJsonString(failed_at, d.failed_at);
      std::printf(
          "%s{\"feedback\": %s, \"error\": %s, \"attempts\": %d, "
          "\"failed_at\": %s}",
          i == 0 ? "\n" : ",\n", item.ok() ? item->c_str() : "null",
          error.c_str(), d.attempts, failed_at.c_str());
    }
    std::printf("\n]\n");
    return 0;
  }
  if (dead->empty()) {
    std::printf("no dead letters for tenant %s\n", tenant.c_str());
    return 0;
  }
  std::printf("%zu dead letter(s) for tenant %s, newest first:\n", dead->size(),
              tenant.c_str());
  for (const feedback::DeadLetterRecord& d : *dead) {
    std::printf("%s\n  failed %s after %d attempt(s): %s\n",
                FormatItem(d.feedback).c_str(), d.failed_at.c_str(), d.attempts,
                OneLine(d.error, 300).c_str());
  }
  return 0;
}

constexpr char kReplayUsage[] =
    "feedback replay-dead-letters [--tenant T] (--id FEEDBACK_ID ... | "
    "--all) [--json]\n"
    "      puts dead letters back for delivery (reads and writes Redis "
    "directly, like dead-letters): an operator command, safe to repeat";

// Peers deduplicate by feedback id, so a replay of an item a peer already
// applied is answered as a duplicate: replaying is harmless, and the way to
// deliver what failed during a long peer outage once the peer is back.
int ReplayDeadLetters(const config::Config& config, Args args) {
  const std::string tenant = args.Flag("tenant", auth::kDevTenant);
  const std::vector<std::string> ids = args.TakeAll("id");
  const bool all = args.Switch("all");
  const bool json = args.Switch("json");
  const absl::Duration timeout = args.TakeTimeout(absl::Seconds(10));
  if (all == !ids.empty()) {
    args.AddError("give --id FEEDBACK_ID (repeatable) or --all");
  }
  std::vector<std::string> rest;
  if (!args.Finish(&rest)) return Usage(kReplayUsage);
  if (!rest.empty()) return Usage(kReplayUsage);

  std::unique_ptr<redis::Pool> pool = OperatorPool(config, timeout);
  feedback::FeedbackStore store(*pool);
  // The dead letters to replay, found by paging through the stream (a
  // snapshot: letters added meanwhile wait for the next replay).
  const std::set<std::string> wanted(ids.begin(), ids.end());
  std::set<std::string> found;
  std::vector<std::string> entries;
  std::string before;
  constexpr int kPage = 500;
  while (true) {
    absl::StatusOr<std::vector<feedback::DeadLetterRecord>> page =
        store.DeadLetters(tenant, kPage, before);
    if (!page.ok()) return PrintStoreError(page.status());
    for (const feedback::DeadLetterRecord& d : *page) {
      if (all || wanted.contains(d.feedback.id())) {
        entries.push_back(d.entry_id);
        found.insert(d.feedback.id());
      }
    }
    if (static_cast<int>(page->size()) < kPage) break;
    before = page->back().entry_id;
  }
  absl::StatusOr<feedback::FeedbackStore::ReplayResult> replay =
      store.ReplayDeadLetters(tenant, entries);
  if (!replay.ok()) return PrintStoreError(replay.status());
  std::vector<std::string> unknown;
  for (const std::string& id : ids) {
    if (!found.contains(id)) unknown.push_back(id);
  }
  const bool complete = replay->missing.empty() && unknown.empty();
  if (json) {
    auto list = [](const std::vector<std::string>& v) {
      std::string out = "[";
      for (size_t i = 0; i < v.size(); ++i) {
        if (i > 0) out += ", ";
        log::AppendJsonString(out, v[i]);
      }
      return out + "]";
    };
    std::printf(
        "{\"replayed\": %s, \"missing_from_stream\": %s, "
        "\"not_dead_letters\": %s}\n",
        list(replay->replayed).c_str(), list(replay->missing).c_str(),
        list(unknown).c_str());
    return complete ? 0 : 1;
  }
  std::printf(
      "replayed %zu dead letter(s) for tenant %s; a forwarder delivers them "
      "within seconds (watch rapport_feedback_forwarded_total)\n",
      replay->replayed.size(), tenant.c_str());
  for (const std::string& id : replay->replayed) {
    std::printf("  %s\n", id.c_str());
  }
  for (const std::string& id : replay->missing) {
    std::printf(
        "not replayed %s: its entry is no longer in the feedback stream "
        "(trimmed or deleted); the dead letter stays\n",
        id.c_str());
  }
  for (const std::string& id : unknown) {
    std::printf("not a dead letter of tenant %s: %s\n", tenant.c_str(),
                id.c_str());
  }
  return complete ? 0 : 1;
}

std::string Percent(double rate) {
  return absl::StrFormat("%.1f%%", rate * 100);
}

void PrintOutcomeStats(const char* indent, const fb::OutcomeStats& s) {
  std::printf(
      "%sreply %s  meeting %s  unsubscribe %s  bounce %s\n", indent,
      Percent(s.reply_rate()).c_str(), Percent(s.meeting_rate()).c_str(),
      Percent(s.unsubscribe_rate()).c_str(), Percent(s.bounce_rate()).c_str());
  std::vector<std::string> parts;
  for (const fb::OutcomeCount& c : s.by_outcome()) {
    parts.push_back(
        absl::StrCat(ShortEnumName(*common::Outcome_descriptor(), c.outcome()),
                     " ", c.count()));
  }
  if (!parts.empty()) {
    std::printf("%s%s\n", indent, absl::StrJoin(parts, ", ").c_str());
  }
}

void PrintGroups(
    const char* title,
    const google::protobuf::RepeatedPtrField<fb::GroupOutcomeStats>& groups,
    int limit) {
  if (groups.empty()) return;
  std::printf("\n%s\n", title);
  int shown = 0;
  for (const fb::GroupOutcomeStats& g : groups) {
    if (shown++ == limit) {
      std::printf("  ... %d more (--json for all)\n", groups.size() - limit);
      break;
    }
    std::printf("  %-28s %4lld outcomes  reply %6s  meeting %6s  unsub %6s\n",
                g.id().c_str(), static_cast<long long>(g.stats().total()),
                Percent(g.stats().reply_rate()).c_str(),
                Percent(g.stats().meeting_rate()).c_str(),
                Percent(g.stats().unsubscribe_rate()).c_str());
  }
}

constexpr char kDigestUsage[] =
    "digest [--team TEAM] [--days N (default 7, at most 92)] [--json]";

int Digest(const config::Config& config, Args args) {
  const CallOptions options = TakeFeedbackCallOptions(&args, config);
  fb::GetDigestRequest request;
  if (auto t =
          TakeEnum<common::Team>(&args, "team", *common::Team_descriptor())) {
    request.set_team(*t);
  }
  const int days = args.TakeInt("days", 1, 92).value_or(7);
  std::vector<std::string> rest;
  if (!args.Finish(&rest)) return 2;
  if (!rest.empty()) return Usage(kDigestUsage);
  const absl::Time end = absl::Now();
  const absl::Time start = end - absl::Hours(24 * days);
  *request.mutable_start_time() = util::ToTimestamp(start);
  *request.mutable_end_time() = util::ToTimestamp(end);

  absl::StatusOr<FeedbackClient> client = ConnectOrReport(config, options);
  if (!client.ok()) return 2;
  fb::Digest d;
  const grpc::Status status =
      client->stub().GetDigest(client->NewContext().get(), request, &d);
  if (!status.ok()) return ReportRpcError(status);
  if (options.json) return PrintJson(d);

  const std::string team = request.team() == common::TEAM_UNSPECIFIED
                               ? "the whole tenant"
                               : Team(request.team());
  std::printf("Feedback digest for %s, %s to %s (%d days)\n", team.c_str(),
              HumanTime(FromProto(d.start_time())).c_str(),
              HumanTime(FromProto(d.end_time())).c_str(), days);

  std::printf("\nFeedback by team and kind (all teams)\n");
  if (d.counts().empty()) std::printf("  none in this period\n");
  std::map<std::string, std::vector<std::string>> by_team;
  for (const fb::KindCount& c : d.counts()) {
    by_team[Team(c.team())].push_back(
        absl::StrCat(ShortEnumName(*fb::FeedbackKind_descriptor(), c.kind()),
                     " ", c.count()));
  }
  for (const auto& [t, parts] : by_team) {
    std::printf("  %-18s %s\n", t.c_str(), absl::StrJoin(parts, ", ").c_str());
  }

  const fb::OutcomeStats& o = d.outcomes();
  std::printf("\nOutcomes reported by %s: %lld\n", team.c_str(),
              static_cast<long long>(o.total()));
  if (o.total() > 0) PrintOutcomeStats("  ", o);
  PrintGroups("Templates by reply rate", d.templates(), 10);
  PrintGroups("Best templates (at least 10 delivered)", d.best_templates(), 3);
  PrintGroups("Worst templates (at least 10 delivered)", d.worst_templates(),
              3);
  PrintGroups("Campaigns by reply rate", d.campaigns(), 10);

  std::printf(
      "\nScoring findings and replies (lift below 1: fewer replies when the "
      "rule fires;\nrules with at least 5 messages each way; a correlation in "
      "your own data)\n");
  if (d.rule_lifts().empty()) {
    std::printf("  not enough outcomes with scored messages yet\n");
  }
  for (const fb::RuleLift& l : d.rule_lifts()) {
    std::printf("  %-36s lift %.2f  fired %lld (%s replied) vs not %lld (%s)\n",
                l.rule_id().c_str(), l.lift(),
                static_cast<long long>(l.fired_count()),
                Percent(l.fired_reply_rate()).c_str(),
                static_cast<long long>(l.not_fired_count()),
                Percent(l.not_fired_reply_rate()).c_str());
  }

  const fb::ReviewStats& r = d.reviews();
  std::printf("\nReviews by %s: %lld", team.c_str(),
              static_cast<long long>(r.count()));
  if (r.count() > 0) std::printf(", mean rating %.2f/5", r.mean_rating());
  std::printf("\n");
  if (!r.top_tags().empty()) {
    std::vector<std::string> tags;
    for (const fb::TagCount& t : r.top_tags()) {
      tags.push_back(absl::StrCat(t.tag(), " (", t.count(), ")"));
    }
    std::printf("  tags: %s\n", absl::StrJoin(tags, ", ").c_str());
  }
  // Review ratings per template: computed here from the reviews themselves
  // (the Digest message has no field for them).
  if (r.count() > 0) {
    fb::ListFeedbackRequest list;
    list.set_page_size(500);
    fb::FeedbackFilter* filter = list.mutable_filter();
    filter->set_kind(fb::FEEDBACK_KIND_REVIEW);
    filter->set_author_team(request.team());
    *filter->mutable_start_time() = d.start_time();
    *filter->mutable_end_time() = d.end_time();
    std::vector<fb::Feedback> reviews;
    for (int page = 0; page < kMaxReviewPages; ++page) {
      fb::ListFeedbackResponse response;
      if (!client->stub()
               .ListFeedback(client->NewContext().get(), list, &response)
               .ok()) {
        break;
      }
      for (fb::Feedback& f : *response.mutable_items()) {
        reviews.push_back(std::move(f));
      }
      if (response.next_page_token().empty()) break;
      list.set_page_token(response.next_page_token());
    }
    const feedback::TemplateRatings ratings =
        feedback::RateTemplates(reviews, request.team());
    auto print = [](const char* title,
                    const std::vector<feedback::TemplateRating>& list) {
      if (list.empty()) return;
      std::printf("  %s\n", title);
      for (const feedback::TemplateRating& t : list) {
        std::printf("    %-28s %.2f/5 (%lld review%s)\n", t.template_id.c_str(),
                    t.mean_rating, static_cast<long long>(t.count),
                    t.count == 1 ? "" : "s");
      }
    };
    print("highest-rated templates:", ratings.highest);
    print("lowest-rated templates:", ratings.lowest);
  }

  std::printf("\nNotes to %s from other teams (newest first)\n", team.c_str());
  if (d.notes().empty()) std::printf("  none\n");
  for (const fb::Feedback& n : d.notes()) {
    std::printf("  %s  from %s/%s: \"%s\"%s\n",
                HumanTime(FromProto(n.created_at())).c_str(),
                Team(n.author().team()).c_str(), n.author().id().c_str(),
                OneLine(n.note().text(), 160).c_str(),
                n.flagged() ? "  [flagged by the respect check]" : "");
  }

  const fb::RespectStats& s = d.respect();
  std::printf(
      "\nRespect check: %lld of %lld items with text by %s flagged; %lld "
      "flagged notes received\n",
      static_cast<long long>(s.flagged_authored()),
      static_cast<long long>(s.checked_authored()), team.c_str(),
      static_cast<long long>(s.flagged_received()));
  return 0;
}

}  // namespace

int RunFeedback(const config::Config& config, const std::string& verb,
                Args args) {
  if (verb == "submit") return Submit(config, std::move(args));
  if (verb == "list") return List(config, std::move(args));
  if (verb == "dead-letters") return DeadLetters(config, std::move(args));
  if (verb == "replay-dead-letters") {
    return ReplayDeadLetters(config, std::move(args));
  }
  std::fprintf(stderr,
               "usage: rapportctl feedback "
               "submit|list|dead-letters|replay-dead-letters ...\n"
               "  %s\n  %s\n  %s\n  %s\n",
               kSubmitUsage, kListUsage, kDeadLettersUsage, kReplayUsage);
  return 2;
}

int RunDigest(const config::Config& config, Args args) {
  return Digest(config, std::move(args));
}

}  // namespace rapport::ctl
