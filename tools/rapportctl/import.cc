// rapportctl import-csv: a CRM contact export streamed into ImportContacts.
//
// The file is read row by row and sent in ImportContactsRequest messages of
// --batch contacts over one client-streaming call (a second call only past
// the server's 100,000 contacts per call), so memory stays flat however
// large the export. Rows the CLI cannot read are reported here with their
// line and not sent; rows the server refuses come back by stream index and
// are reported with the CSV row and line they came from.

#include <algorithm>
#include <climits>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "rapport/profile/v1/profile.grpc.pb.h"
#include "tools/rapportctl/client.h"
#include "tools/rapportctl/commands.h"
#include "tools/rapportctl/csv_import.h"

namespace rapport::ctl {

namespace {

namespace pb = rapport::profile::v1;

// The whole stream shares one deadline; an import of 100,000 contacts must
// not be cut off by the 10 s default of single calls.
constexpr absl::Duration kImportTimeout = absl::Minutes(5);
// ImportContacts accepts at most this many contacts per call.
constexpr size_t kMaxContactsPerCall = 100000;

// One ImportContacts call and the CSV origin of every contact sent on it.
class ImportCall {
 public:
  explicit ImportCall(const ProfileClient& client)
      : ctx_(client.NewContext()),
        writer_(client.stub().ImportContacts(ctx_.get(), &response_)) {}

  // False once the stream is broken; Finish() then says why.
  bool Send(const Batch& batch) {
    for (const RowIndex::Source& s : batch.sources) index_.Add(s.row, s.line);
    return writer_->Write(batch.request);
  }
  grpc::Status Finish() {
    writer_->WritesDone();
    return writer_->Finish();
  }
  const pb::ImportContactsResponse& response() const { return response_; }
  const RowIndex& index() const { return index_; }

 private:
  std::unique_ptr<grpc::ClientContext> ctx_;
  pb::ImportContactsResponse response_;
  std::unique_ptr<grpc::ClientWriter<pb::ImportContactsRequest>> writer_;
  RowIndex index_;
};

// Everything an import has to say, in the order of the file.
class Importer {
 public:
  Importer(const ProfileClient* client, bool dry_run, bool json)
      : client_(client), dry_run_(dry_run), json_(json) {}

  // A row the CLI itself could not send.
  void Reject(const LocalReject& r) {
    lines_.emplace_back(
        r.row, absl::StrCat("row ", r.row, " (line ", r.line, "): ", r.reason));
    ++local_rejected_;
  }

  // Sends one batch, on a new call when the current one would pass the
  // per-call limit.
  void Send(const Batch& batch) {
    ++messages_;
    const size_t n = batch.sources.size();
    if (dry_run_) {
      if (json_) PrintJson(batch.request);
      sent_ += static_cast<int>(n);
      return;
    }
    if (call_ != nullptr && call_->index().size() + n > kMaxContactsPerCall) {
      FinishCall();
    }
    if (failure_.has_value()) return;
    if (call_ == nullptr) call_ = std::make_unique<ImportCall>(*client_);
    sent_ += static_cast<int>(n);
    if (!call_->Send(batch)) {
      FinishCall();  // the server ended the call: its status says why
      if (!failure_.has_value()) {
        failure_ = grpc::Status(grpc::StatusCode::UNKNOWN,
                                "the server closed the import stream early");
      }
    }
  }

  // Ends the current call and folds its answer into the report.
  void FinishCall() {
    if (call_ == nullptr) return;
    const grpc::Status status = call_->Finish();
    const pb::ImportContactsResponse& r = call_->response();
    merged_.set_accepted_count(merged_.accepted_count() + r.accepted_count());
    merged_.set_created_count(merged_.created_count() + r.created_count());
    merged_.set_rejected_count(merged_.rejected_count() + r.rejected_count());
    // Indexes in the merged answer count across calls.
    const int offset = sent_ - static_cast<int>(call_->index().size());
    for (const pb::RejectedContact& rejected : r.rejected()) {
      const std::optional<RowIndex::Source> source =
          call_->index().Find(rejected.index());
      lines_.emplace_back(source.has_value() ? source->row : INT_MAX,
                          FormatRejected(rejected, call_->index()));
      pb::RejectedContact* copy = merged_.add_rejected();
      *copy = rejected;
      copy->set_index(offset + rejected.index());
    }
    if (r.rejected_count() > r.rejected_size()) {
      lines_.emplace_back(
          INT_MAX,
          absl::StrCat("... and ", r.rejected_count() - r.rejected_size(),
                       " more rejected rows the server did not list"));
    }
    if (!status.ok()) failure_ = status;
    call_.reset();
  }

  bool failed() const { return failure_.has_value(); }
  const std::optional<grpc::Status>& failure() const { return failure_; }
  const pb::ImportContactsResponse& merged() const { return merged_; }
  int local_rejected() const { return local_rejected_; }
  int sent() const { return sent_; }
  int messages() const { return messages_; }

  // The row reports, in file order (server reports without a known row
  // last).
  void PrintLines(FILE* out) {
    std::stable_sort(
        lines_.begin(), lines_.end(),
        [](const auto& a, const auto& b) { return a.first < b.first; });
    for (const auto& [row, text] : lines_) {
      std::fprintf(out, "%s\n", text.c_str());
    }
  }

 private:
  const ProfileClient* client_;
  bool dry_run_;
  bool json_;
  std::unique_ptr<ImportCall> call_;
  std::optional<grpc::Status> failure_;
  pb::ImportContactsResponse merged_;
  std::vector<std::pair<int, std::string>> lines_;  // (row, text)
  int local_rejected_ = 0;
  int sent_ = 0;
  int messages_ = 0;
};

}  // namespace

int RunImportCsv(const config::Config& config, Args args) {
  const CallOptions options = TakeCallOptions(&args, config, kImportTimeout);
  const int batch_size =
      args.TakeInt("batch", 1, BatchBuilder::kMaxBatch).value_or(500);
  const bool dry_run = args.Switch("dry-run");
  std::vector<std::string> files;
  if (!args.Finish(&files)) return 2;
  if (files.size() != 1) {
    std::fprintf(stderr,
                 "usage: rapportctl import-csv FILE [--batch N] [--dry-run] "
                 "[--json]\n");
    return 2;
  }
  const std::string& path = files[0];
  std::ifstream file;
  std::istream* in = &std::cin;
  if (path != "-") {
    file.open(path, std::ios::binary);
    if (!file) {
      std::fprintf(stderr, "rapportctl: cannot open %s\n", path.c_str());
      return 1;
    }
    in = &file;
  }

  absl::StatusOr<std::unique_ptr<ContactCsvSource>> source =
      ContactCsvSource::Open(in, batch_size);
  if (!source.ok()) {
    std::fprintf(stderr, "rapportctl: %s: %s\n", path.c_str(),
                 Str(source.status().message()).c_str());
    return 1;
  }
  for (const std::string& warning : (*source)->warnings()) {
    std::fprintf(stderr, "warning: %s: %s\n", path.c_str(), warning.c_str());
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

  Importer importer(client.has_value() ? &*client : nullptr, dry_run,
                    options.json);
  while (!importer.failed()) {
    std::optional<Batch> batch = (*source)->Next();
    if (!batch.has_value()) break;
    importer.Send(*batch);
  }
  importer.FinishCall();
  if ((*source)->read_error()) {
    std::fprintf(stderr, "rapportctl: %s: read error\n", path.c_str());
    return 1;
  }
  for (const LocalReject& r : (*source)->rejected()) importer.Reject(r);
  const int rows = (*source)->rows();
  const int truncated = (*source)->truncated_values();

  // Row reports go to stdout, or to stderr when stdout carries JSON.
  importer.PrintLines(options.json ? stderr : stdout);
  if (truncated > 0) {
    std::fprintf(stderr,
                 "warning: %d custom field values were longer than %zu "
                 "bytes and were cut\n",
                 truncated, ContactCsvMapper::kMaxCustomValueBytes);
  }
  const int local = importer.local_rejected();
  if (dry_run) {
    if (!options.json) {
      std::printf(
          "dry run: %s: %d rows; would send %d contacts in %d messages; "
          "%d rows rejected here\n",
          path.c_str(), rows, importer.sent(), importer.messages(), local);
    }
    return local > 0 ? 1 : 0;
  }
  const pb::ImportContactsResponse& m = importer.merged();
  if (options.json) {
    PrintJson(m);
  } else {
    std::printf(
        "%s: %d rows; accepted %d (%d created, %d updated); rejected %d "
        "(%d by the server, %d here)\n",
        path.c_str(), rows, m.accepted_count(), m.created_count(),
        m.accepted_count() - m.created_count(), m.rejected_count() + local,
        m.rejected_count(), local);
  }
  if (importer.failure().has_value()) {
    std::fprintf(stderr,
                 "import stopped after sending %d contacts: ", importer.sent());
    return ReportRpcError(*importer.failure());
  }
  return m.rejected_count() + local > 0 ? 1 : 0;
}

}  // namespace rapport::ctl
