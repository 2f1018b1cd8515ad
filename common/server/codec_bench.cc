// How ParseRequest reads a request's bytes: in place from the one slice a
// small message arrives in, through gRPC's ProtoBufferReader (a
// ZeroCopyInputStream over the ByteBuffer, what gRPC's generated methods
// do), or copied into one contiguous slice first. Argument: slices.
//
//   build/bench/codec_bench --benchmark_repetitions=5
//       --benchmark_report_aggregates_only=true
//
// Measured on the shared 2-vCPU machine (CPU time, medians of 5): a 1 KB
// ScoreMessageRequest in one slice 316 ns in place vs 317 ns through the
// reader vs 392 ns copied; in two slices 335 ns through the reader vs
// 405 ns copied; a 13-byte GetProfileRequest 45 ns in place vs 54 ns
// through the reader. Hence ParseRequest: one slice in place, otherwise the
// reader.

#include <benchmark/benchmark.h>
#include <grpcpp/support/byte_buffer.h>
#include <grpcpp/support/proto_buffer_reader.h>
#include <grpcpp/support/slice.h>

#include <memory>
#include <string>
#include <vector>

#include "common/server/codec.h"
#include "rapport/profile/v1/profile.pb.h"
#include "rapport/scoring/v1/scoring.pb.h"

namespace rapport::server {
namespace {

// A ~1 KB ScoreMessageRequest, the size the services are measured at.
std::string ScoreRequestBytes() {
  scoring::v1::ScoreMessageRequest request;
  request.set_contact_id("bench-mitch");
  request.mutable_message()->set_subject("Onboarding time for your new reps");
  std::string body;
  while (body.size() < 900) {
    body +=
        "Mitch, you said cutting onboarding time for new reps matters most "
        "this quarter. ";
  }
  request.mutable_message()->set_body(body);
  request.mutable_sender()->set_rep_id("rep-17");
  request.mutable_sender()->set_company_name("Rapport");
  return request.SerializeAsString();
}

std::string GetProfileBytes() {
  profile::v1::GetProfileRequest request;
  request.set_contact_id("bench-mitch");
  return request.SerializeAsString();
}

// `parts` slices, as a message split across transport reads arrives.
grpc::ByteBuffer Buffer(const std::string& bytes, int parts) {
  std::vector<grpc::Slice> slices;
  const size_t step = bytes.size() / parts;
  for (int i = 0; i < parts; ++i) {
    const size_t begin = i * step;
    const size_t end = i + 1 == parts ? bytes.size() : begin + step;
    slices.emplace_back(bytes.data() + begin, end - begin);
  }
  return grpc::ByteBuffer(slices.data(), slices.size());
}

void BM_ParseRequest(benchmark::State& state, const std::string& bytes,
                     const google::protobuf::Message* prototype) {
  const grpc::ByteBuffer in = Buffer(bytes, static_cast<int>(state.range(0)));
  std::unique_ptr<google::protobuf::Message> out(prototype->New());
  for (auto _ : state) {
    benchmark::DoNotOptimize(ParseRequest(in, out.get()));
  }
}

void BM_ProtoBufferReader(benchmark::State& state, const std::string& bytes,
                          const google::protobuf::Message* prototype) {
  grpc::ByteBuffer in = Buffer(bytes, static_cast<int>(state.range(0)));
  std::unique_ptr<google::protobuf::Message> out(prototype->New());
  for (auto _ : state) {
    grpc::ProtoBufferReader reader(&in);
    benchmark::DoNotOptimize(out->ParseFromZeroCopyStream(&reader));
  }
}

void BM_CopyToOneSlice(benchmark::State& state, const std::string& bytes,
                       const google::protobuf::Message* prototype) {
  const grpc::ByteBuffer in = Buffer(bytes, static_cast<int>(state.range(0)));
  std::unique_ptr<google::protobuf::Message> out(prototype->New());
  for (auto _ : state) {
    grpc::Slice slice;
    benchmark::DoNotOptimize(in.DumpToSingleSlice(&slice));
    benchmark::DoNotOptimize(
        out->ParseFromArray(slice.begin(), static_cast<int>(slice.size())));
  }
}

const auto* const kScore =
    &scoring::v1::ScoreMessageRequest::default_instance();
const auto* const kGet = &profile::v1::GetProfileRequest::default_instance();

BENCHMARK_CAPTURE(BM_ParseRequest, score_1kb, ScoreRequestBytes(), kScore)
    ->Arg(1)
    ->Arg(2);
BENCHMARK_CAPTURE(BM_ProtoBufferReader, score_1kb, ScoreRequestBytes(), kScore)
    ->Arg(1)
    ->Arg(2);
BENCHMARK_CAPTURE(BM_CopyToOneSlice, score_1kb, ScoreRequestBytes(), kScore)
    ->Arg(1)
    ->Arg(2);
BENCHMARK_CAPTURE(BM_ParseRequest, get_profile, GetProfileBytes(), kGet)
    ->Arg(1);
BENCHMARK_CAPTURE(BM_ProtoBufferReader, get_profile, GetProfileBytes(), kGet)
    ->Arg(1);
BENCHMARK_CAPTURE(BM_CopyToOneSlice, get_profile, GetProfileBytes(), kGet)
    ->Arg(1);

}  // namespace
}  // namespace rapport::server
