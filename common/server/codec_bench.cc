// How ParseRequest reads a request's bytes: in place from the one slice a
// small message arrives in (what ParseRequest does), through gRPC's
// ProtoBufferReader (a ZeroCopyInputStream over the ByteBuffer, what gRPC's
// generated methods do), or copied into one contiguous slice first.
//
//   build/bench/codec_bench --benchmark_repetitions=5
//       --benchmark_report_aggregates_only=true

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
