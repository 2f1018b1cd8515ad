#pragma once

// The loadgen's own flags. TLS, the API key and logging come from the
// project configuration (common/config, RAPPORT_* variables and their flags);
// these are what config::LoadOrDie leaves in `rest`.

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"

namespace rapport::loadgen {

struct Options {
  std::string target = "127.0.0.1:50050";
  std::string method = "rapport.bench.v1.EchoService/Echo";
  std::optional<std::string> request_json;   // --request
  std::optional<std::string> request_file;   // --request-file ("-": stdin)
  std::optional<int64_t> payload_bytes;      // --payload-bytes
  std::optional<std::string> request_lines;  // --request-lines (JSON Lines)
  std::vector<std::string> vary;             // --vary, repeatable
  uint64_t variants = 0;                     // --variants; 0: unbounded
  int concurrency = 16;       // calls in flight (streams, for a stream method)
  std::optional<int> window;  // --window (streams)
  std::optional<std::string> item_error_field;  // --item-error-field
  int channels = 4;                             // distinct connections
  absl::Duration duration = absl::Seconds(10);
  absl::Duration warmup = absl::Seconds(1);
  absl::Duration deadline = absl::ZeroDuration();  // zero: none
  bool json = false;
  bool list_methods = false;
  bool help = false;
};

// Parses "--flag=value" and "--flag value". Errors are one line naming the
// flag. Values are range-checked; --request, --request-file,
// --request-lines and --payload-bytes are mutually exclusive; --variants
// needs --vary. Whether --window and --item-error-field fit the method is
// checked once the method is known.
absl::StatusOr<Options> ParseOptions(const std::vector<std::string>& args);

// The loadgen's flags, for --help (the project settings follow them).
std::string Usage();

}  // namespace rapport::loadgen
