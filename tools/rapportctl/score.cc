// rapportctl score: scores a draft for one recipient and shows each finding
// under the words it is about.
//
//   rapportctl score --contact ID [--subject S] [--body-file F | --body T]
//                    [--channel email|linkedin|call_opener] [--sender-company
//                    C]
//                    [--product P]... [--json]
//   (the body is read from stdin when neither --body nor --body-file is given)

#include <google/protobuf/util/json_util.h>
#include <unistd.h>

#include <cstdio>
#include <fstream>
#include <iostream>
#include <iterator>
#include <sstream>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/time/time.h"
#include "common/auth/auth.h"
#include "common/server/server.h"
#include "rapport/scoring/v1/scoring.grpc.pb.h"
#include "tools/rapportctl/client.h"
#include "tools/rapportctl/commands.h"
#include "tools/rapportctl/enums.h"

namespace rapport::ctl {
namespace {

namespace sv1 = rapport::scoring::v1;

constexpr char kUsage[] =
    "score --contact ID [--subject S] [--body-file F | --body TEXT] "
    "[--channel email|linkedin|call_opener] [--sender-company C] "
    "[--product P]... [--json]  (body from stdin when not given)";

std::string Severity(sv1::Severity s) {
  switch (s) {
    case sv1::SEVERITY_CRITICAL:
      return "CRITICAL";
    case sv1::SEVERITY_MAJOR:
      return "major";
    case sv1::SEVERITY_MINOR:
      return "minor";
    default:
      return "info";
  }
}

// The line of `text` holding byte `start`, and the column of start/end in
// it, so the finding can be underlined with carets.
void Underline(const std::string& text, uint32_t start, uint32_t end,
               bool color) {
  if (start > text.size()) return;
  end = std::min<uint32_t>(end, static_cast<uint32_t>(text.size()));
  size_t line_start = text.rfind('\n', start == 0 ? 0 : start - 1);
  line_start =
      (line_start == std::string::npos || start == 0) ? 0 : line_start + 1;
  size_t line_end = text.find('\n', start);
  if (line_end == std::string::npos) line_end = text.size();
  std::string line = text.substr(line_start, line_end - line_start);
  if (!line.empty() && line.back() == '\r') line.pop_back();
  size_t from = start - line_start;
  size_t to = std::min<size_t>(end, line_end) - line_start;
  // Long lines are shown as a window around the span, cut on character
  // boundaries.
  constexpr size_t kContext = 30;
  auto boundary = [&line](size_t i) {
    while (i > 0 && i < line.size() &&
           (static_cast<unsigned char>(line[i]) & 0xC0) == 0x80) {
      --i;
    }
    return i;
  };
  const size_t win_from = from > kContext ? boundary(from - kContext) : 0;
  const size_t win_to =
      to + kContext < line.size() ? boundary(to + kContext) : line.size();
  const std::string prefix = win_from > 0 ? "..." : "";
  line = prefix + line.substr(win_from, win_to - win_from) +
         (win_to < line.size() ? "..." : "");
  from = from - win_from + prefix.size();
  to = std::min(to - win_from + prefix.size(), line.size());
  // Columns count UTF-8 characters, not bytes.
  auto width = [&](size_t a, size_t b) {
    size_t n = 0;
    for (size_t i = a; i < b && i < line.size(); ++i) {
      if ((static_cast<unsigned char>(line[i]) & 0xC0) != 0x80) ++n;
    }
    return n;
  };
  std::printf("      | %s\n", line.c_str());
  std::printf("      | %s%s%s%s\n", std::string(width(0, from), ' ').c_str(),
              color ? "\033[31m" : "",
              std::string(std::max<size_t>(1, width(from, to)), '^').c_str(),
              color ? "\033[0m" : "");
}

void PrintReport(const sv1::ScoreReport& r, const sv1::Draft& draft) {
  const bool color = isatty(STDOUT_FILENO) != 0;
  std::printf(
      "score %.0f/100   reply probability %.1f%%   %d words   "
      "reading grade %.1f\n",
      r.score(), r.reply_probability() * 100, r.word_count(),
      r.reading_grade());
  std::printf("message %s   profile v%lld   model v%lld   rules %s%s\n",
              r.message_id().c_str(),
              static_cast<long long>(r.profile_version()),
              static_cast<long long>(r.model_version()),
              r.rules_version().c_str(), r.cached() ? "   (cached)" : "");
  for (int d : r.degradations()) {
    std::printf(
        "note: %s\n",
        sv1::Degradation_Name(static_cast<sv1::Degradation>(d)).c_str());
  }
  if (r.dimensions_size() > 0) {
    std::printf("\n");
    for (const sv1::DimensionScore& d : r.dimensions()) {
      std::string name = sv1::Dimension_Name(d.dimension());
      if (absl::StartsWith(name, "DIMENSION_")) name = name.substr(10);
      std::printf("  %-13s %5.0f  %s\n", name.c_str(), d.score(),
                  d.summary().c_str());
    }
  }
  if (r.findings_size() == 0) {
    std::printf("\nno findings: this draft is about them.\n");
    return;
  }
  std::printf("\n");
  for (const sv1::Finding& f : r.findings()) {
    std::printf("  [%s] %s  (-%.1f)\n", Severity(f.severity()).c_str(),
                f.rule_id().c_str(), f.impact());
    if (f.field() == sv1::MESSAGE_FIELD_BODY) {
      Underline(draft.body(), f.start(), f.end(), color);
    } else if (f.field() == sv1::MESSAGE_FIELD_SUBJECT) {
      Underline(draft.subject(), f.start(), f.end(), color);
    }
    std::printf("      why:  %s\n", f.explanation().c_str());
    std::printf("      try:  %s\n\n", f.suggestion().c_str());
  }
}

}  // namespace

int RunScore(const config::Config& config, Args args) {
  std::optional<std::string> target = args.Take("target");
  CallOptions options = TakeCallOptions(&args, config);
  options.target = target.value_or(config.scoring_addr);
  const std::string contact = args.Flag("contact");
  const std::string subject = args.Flag("subject");
  const std::optional<std::string> body_file = args.Take("body-file");
  const std::optional<std::string> body_text = args.Take("body");
  const std::string channel = args.Flag("channel", "email");
  const std::string sender_company = args.Flag("sender-company");
  const std::vector<std::string> products = args.TakeAll("product");
  std::vector<std::string> positional;
  if (!args.Finish(&positional) || !positional.empty() || contact.empty()) {
    std::fprintf(stderr, "usage: rapportctl %s\n", kUsage);
    return 2;
  }

  sv1::ScoreMessageRequest request;
  request.set_contact_id(contact);
  sv1::Draft* draft = request.mutable_message();
  draft->set_subject(subject);
  if (body_text.has_value()) {
    draft->set_body(*body_text);
  } else if (body_file.has_value() && *body_file != "-") {
    std::ifstream in(*body_file, std::ios::binary);
    if (!in) {
      std::fprintf(stderr, "rapportctl: --body-file: cannot read %s\n",
                   body_file->c_str());
      return 2;
    }
    draft->set_body(std::string(std::istreambuf_iterator<char>(in), {}));
  } else {
    draft->set_body(std::string(std::istreambuf_iterator<char>(std::cin), {}));
  }
  auto channel_value = ParseEnum(*common::v1::Channel_descriptor(), channel);
  if (!channel_value.ok()) {
    std::fprintf(stderr, "rapportctl: --channel: %s\n",
                 std::string(channel_value.status().message()).c_str());
    return 2;
  }
  draft->set_channel(static_cast<common::v1::Channel>(*channel_value));
  request.mutable_sender()->set_company_name(sender_company);
  for (const std::string& p : products) {
    request.mutable_sender()->add_product_names(p);
  }

  auto channel_ptr = server::MakeChannel(config, options.target);
  if (!channel_ptr.ok()) {
    std::fprintf(stderr, "rapportctl: %s\n",
                 std::string(channel_ptr.status().message()).c_str());
    return 2;
  }
  auto stub = sv1::ScoringService::NewStub(*channel_ptr);
  grpc::ClientContext ctx;
  ctx.set_deadline(absl::ToChronoTime(absl::Now() + options.timeout));
  auth::AttachApiKey(&ctx, config.api_key);
  sv1::ScoreReport report;
  const grpc::Status status = stub->ScoreMessage(&ctx, request, &report);
  if (!status.ok()) return ReportRpcError(status);
  if (options.json) {
    std::string json;
    google::protobuf::util::JsonPrintOptions print;
    print.preserve_proto_field_names = true;
    print.add_whitespace = true;
    (void)google::protobuf::util::MessageToJsonString(report, &json, print);
    std::printf("%s\n", json.c_str());
    return 0;
  }
  PrintReport(report, *draft);
  return 0;
}

}  // namespace rapport::ctl
