#pragma once

// Human and machine renderings of a run. The JSON object is the contract of
// scripts and tests: keys are stable, latencies are in microseconds.
//
//   {"method":"/rapport.bench.v1.EchoService/Echo","target":"127.0.0.1:50050",
//    "concurrency":16,"channels":4,"warmup_s":1,"duration_s":10,
//    "request_bytes":1027,"calls":320000,"ok":320000,"errors":0,"qps":32000.0,
//    "latency_us":{"min":..,"mean":..,"p50":..,"p90":..,"p99":..,"p999":..,
//                  "max":..},
//    "errors_by_code":{"UNAVAILABLE":3}}
//
// Keys appear only when their feature is used, so a plain unary run prints
// exactly the object above. A bidirectional stream adds
//   "mode":"bidi","window":1,"item_error_field":"error","streams":16,
//   "streams_failed":0,"item_errors":0
// (calls and qps then count stream messages); --vary adds
//   "vary":["message.body"],"variants":0
// and --request-lines "request_lines":N (request_bytes is then their mean).

#include <cstdint>
#include <string>
#include <vector>

#include "bench/loadgen/stats.h"

namespace rapport::loadgen {

struct RunInfo {
  std::string method;  // "/pkg.Service/Method"
  std::string target;
  int concurrency = 0;
  int channels = 0;
  double warmup_s = 0;
  double duration_s = 0;
  int64_t request_bytes = 0;
  bool bidi_streaming = false;
  int window = 0;                // streams
  std::string item_error_field;  // streams; empty: not checked
  std::vector<std::string> vary;
  uint64_t variants = 0;      // with vary; 0: unbounded
  int64_t request_lines = 0;  // 0: no --request-lines
};

std::string FormatText(const RunInfo& info, const RunSummary& summary);
std::string FormatJson(const RunInfo& info, const RunSummary& summary);

}  // namespace rapport::loadgen
