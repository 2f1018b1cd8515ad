#include "tools/rapportctl/csv.h"

#include <csv.h>

#include <sstream>
#include <utility>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"

namespace rapport::ctl {

namespace {

// Strict: malformed quoting is an error instead of a guess; STRICT_FINI: a
// quote still open at the end of the input is one too.
constexpr unsigned char kOptions = CSV_STRICT | CSV_STRICT_FINI;

constexpr absl::string_view kUtf8Bom = "\xEF\xBB\xBF";

bool IsBlank(absl::string_view chunk) {
  for (const char c : chunk) {
    if (c != ' ' && c != '\t' && c != '\r' && c != '\n') return false;
  }
  return true;
}

}  // namespace

CsvReader::CsvReader(std::istream* in)
    : in_(in), parser_(std::make_unique<csv_parser>()) {
  csv_init(parser_.get(), kOptions);
}

CsvReader::~CsvReader() { csv_free(parser_.get()); }

void CsvReader::ResetParser() {
  csv_free(parser_.get());
  csv_init(parser_.get(), kOptions);
}

void CsvReader::OnField(void* data, size_t len, void* self) {
  auto* reader = static_cast<CsvReader*>(self);
  if (!reader->in_record_) {
    // A record that starts after another ended on the same line (records
    // separated by a bare CR).
    reader->in_record_ = true;
    reader->current_.line = reader->line_;
  }
  reader->current_.fields.emplace_back(static_cast<const char*>(data), len);
}

void CsvReader::OnRecord(int /*terminator*/, void* self) {
  auto* reader = static_cast<CsvReader*>(self);
  reader->current_.end_line = reader->line_;
  if (reader->current_.line == 0) reader->current_.line = reader->line_;
  reader->ready_.push_back(std::exchange(reader->current_, CsvRecord{}));
  reader->in_record_ = false;
  reader->record_bytes_ = 0;
}

void CsvReader::Fail(std::string message) {
  current_.error = std::move(message);
  current_.end_line = line_;
  if (current_.line == 0) current_.line = line_;
  ready_.push_back(std::exchange(current_, CsvRecord{}));
  in_record_ = false;
  record_bytes_ = 0;
  ResetParser();
}

void CsvReader::Feed(absl::string_view chunk) {
  if (!in_record_ && !IsBlank(chunk)) {
    in_record_ = true;
    current_.line = line_;
    record_bytes_ = 0;
  }
  if (in_record_) {
    record_bytes_ += chunk.size();
    if (record_bytes_ > kMaxRecordBytes) {
      Fail(absl::StrCat("record longer than ", kMaxRecordBytes >> 20,
                        " MiB: is a quote left open?"));
      return;
    }
  }
  const size_t parsed =
      csv_parse(parser_.get(), chunk.data(), chunk.size(), &CsvReader::OnField,
                &CsvReader::OnRecord, this);
  if (parsed < chunk.size()) {
    const int error = csv_error(parser_.get());
    Fail(error == CSV_EPARSE
             ? std::string("malformed quoting: a quote inside an unquoted "
                           "field, or text after a closing quote (write a "
                           "quote inside a quoted field as \"\")")
             : std::string(csv_strerror(error)));
  }
}

bool CsvReader::Next(CsvRecord* record) {
  while (ready_.empty() && !eof_) {
    std::string line;
    if (!std::getline(*in_, line)) {
      eof_ = true;
      if (in_record_) {
        if (csv_fini(parser_.get(), &CsvReader::OnField, &CsvReader::OnRecord,
                     this) != 0) {
          Fail("unterminated quoted field at the end of the input");
        } else if (in_record_) {
          // csv_fini ended the last field but not the record.
          OnRecord(-1, this);
        }
      }
      break;
    }
    // getline drops the '\n'; the parser needs it to end the record. The
    // last line of a file without a final newline has none to give back.
    if (!in_->eof()) line.push_back('\n');
    if (line_ == 0 && absl::StartsWith(line, kUtf8Bom)) {
      line.erase(0, kUtf8Bom.size());
    }
    ++line_;
    Feed(line);
  }
  if (ready_.empty()) return false;
  *record = std::move(ready_.front());
  ready_.pop_front();
  return true;
}

bool IsBlankRecord(const CsvRecord& record) {
  if (!record.error.empty()) return false;
  for (const std::string& field : record.fields) {
    if (!IsBlank(field)) return false;
  }
  return true;
}

std::vector<CsvRecord> ParseCsv(absl::string_view text) {
  std::istringstream in{std::string(text.data(), text.size())};
  CsvReader reader(&in);
  std::vector<CsvRecord> records;
  CsvRecord record;
  while (reader.Next(&record)) records.push_back(std::move(record));
  return records;
}

}  // namespace rapport::ctl
