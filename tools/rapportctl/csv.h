#pragma once

// RFC 4180 CSV records from a stream, on libcsv (Debian libcsv-dev) in strict
// mode: quoted fields, "" escapes, commas and line breaks inside quotes, CRLF
// or LF line ends, and a leading UTF-8 byte order mark (Excel writes one).
// Every record knows the physical line it starts on, so errors can name the
// line a person sees in an editor even when earlier fields held line breaks.
//
// A malformed record (a quote inside an unquoted field, text after a closing
// quote, an unterminated quote at the end of input, a record over
// kMaxRecordBytes) is returned with `error` set and reading continues on the
// next line: one bad row never ends the file. Lines that hold nothing but
// spaces are skipped. Spaces and tabs around unquoted fields are dropped
// (libcsv's behaviour, and what CRM exports mean).

#include <deque>
#include <istream>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

struct csv_parser;

namespace rapport::ctl {

struct CsvRecord {
  std::vector<std::string> fields;
  int line = 0;       // 1-based physical line where the record starts
  int end_line = 0;   // 1-based physical line where it ends
  std::string error;  // non-empty: malformed; `fields` may be incomplete
};

class CsvReader {
 public:
  // A record longer than this is an error (most likely a quote that was
  // never closed, swallowing the lines after it).
  static constexpr size_t kMaxRecordBytes = 1 << 20;

  // Reads from `in`, which must outlive the reader.
  explicit CsvReader(std::istream* in);
  ~CsvReader();
  CsvReader(const CsvReader&) = delete;
  CsvReader& operator=(const CsvReader&) = delete;

  // The next record; false at the end of the input (or when the stream
  // fails: check bad() afterwards).
  bool Next(CsvRecord* record);

  // True when the stream reported a read error.
  bool bad() const { return in_->bad(); }

 private:
  static void OnField(void* data, size_t len, void* self);
  static void OnRecord(int terminator, void* self);

  // Feeds one physical line (with its '\n' unless it is the last line).
  void Feed(absl::string_view chunk);
  void Fail(std::string message);
  void ResetParser();

  std::istream* in_;
  std::unique_ptr<csv_parser> parser_;
  int line_ = 0;            // physical lines fed so far
  bool in_record_ = false;  // a record has started and not yet ended
  bool eof_ = false;
  size_t record_bytes_ = 0;
  CsvRecord current_;
  std::deque<CsvRecord> ready_;
};

// True when every field is empty or spaces (",,,," rows that spreadsheets
// leave behind): such rows are skipped, not reported.
bool IsBlankRecord(const CsvRecord& record);

// Parses a whole document (tests, small inputs).
std::vector<CsvRecord> ParseCsv(absl::string_view text);

}  // namespace rapport::ctl
