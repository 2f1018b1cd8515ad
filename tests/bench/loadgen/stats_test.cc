#include "bench/loadgen/stats.h"

#include <numeric>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace rapport::loadgen {
namespace {

using ::testing::ElementsAre;
using ::testing::Pair;

std::vector<int64_t> OneTo(int64_t n) {
  std::vector<int64_t> v(static_cast<size_t>(n));
  std::iota(v.begin(), v.end(), 1);
  return v;
}

TEST(NearestRankTest, PicksTheSmallestSampleCoveringTheQuantile) {
  const std::vector<int64_t> v = OneTo(100);
  EXPECT_EQ(NearestRank(v, 0.50), 50);
  EXPECT_EQ(NearestRank(v, 0.90), 90);
  EXPECT_EQ(NearestRank(v, 0.99), 99);
  EXPECT_EQ(NearestRank(v, 0.999), 100);
  EXPECT_EQ(NearestRank(v, 1.0), 100);
  EXPECT_EQ(NearestRank(v, 0.001), 1);
}

TEST(NearestRankTest, IsExactAtTheThousandthRank) {
  const std::vector<int64_t> v = OneTo(1000);
  EXPECT_EQ(NearestRank(v, 0.999), 999);
  EXPECT_EQ(NearestRank(v, 0.99), 990);
}

TEST(NearestRankTest, HandlesEmptyAndSingleInputs) {
  EXPECT_EQ(NearestRank({}, 0.5), 0);
  const std::vector<int64_t> one = {7};
  EXPECT_EQ(NearestRank(one, 0.5), 7);
  EXPECT_EQ(NearestRank(one, 0.999), 7);
}

TEST(SummarizeTest, SortsAndReportsOrderStatistics) {
  std::vector<int64_t> v = {900, 100, 500, 300, 700};
  const LatencySummary s = Summarize(v);
  EXPECT_THAT(v, ElementsAre(100, 300, 500, 700, 900));
  EXPECT_EQ(s.count, 5);
  EXPECT_EQ(s.min_ns, 100);
  EXPECT_EQ(s.max_ns, 900);
  EXPECT_DOUBLE_EQ(s.mean_ns, 500);
  EXPECT_EQ(s.p50_ns, 500);
  EXPECT_EQ(s.p90_ns, 900);
  EXPECT_EQ(s.p999_ns, 900);
}

TEST(SummarizeTest, EmptyInputIsAllZero) {
  std::vector<int64_t> v;
  const LatencySummary s = Summarize(v);
  EXPECT_EQ(s.count, 0);
  EXPECT_EQ(s.max_ns, 0);
  EXPECT_EQ(s.p50_ns, 0);
}

TEST(MergeTest, CombinesSlotsAndCountsErrorsByCodeName) {
  std::vector<WorkerStats> workers(3);
  for (int64_t v : OneTo(50)) workers[0].RecordOk(v);
  for (int64_t v = 51; v <= 100; ++v) workers[1].RecordOk(v);
  workers[1].RecordError(14);  // UNAVAILABLE
  workers[2].RecordError(4);   // DEADLINE_EXCEEDED
  workers[2].RecordError(14);
  workers[2].RecordError(99);  // not a gRPC code

  const RunSummary s = Merge(workers, 2.0);
  EXPECT_EQ(s.ok, 100);
  EXPECT_EQ(s.errors, 4);
  EXPECT_EQ(s.calls, 104);
  EXPECT_DOUBLE_EQ(s.qps, 52.0);
  EXPECT_EQ(s.latency.p50_ns, 50);
  EXPECT_EQ(s.latency.p99_ns, 99);
  EXPECT_EQ(s.latency.max_ns, 100);
  EXPECT_THAT(s.errors_by_code,
              ElementsAre(Pair("DEADLINE_EXCEEDED", 1), Pair("UNAVAILABLE", 2),
                          Pair("OTHER", 1)));
}

TEST(MergeTest, ItemAndProtocolErrorsCountAsErrorsUnderTheirOwnNames) {
  std::vector<WorkerStats> workers(2);
  workers[0].RecordOk(10);
  workers[0].RecordItemError(3);  // INVALID_ARGUMENT
  workers[1].RecordItemError(3);
  workers[1].RecordItemError(0);  // an item error without a code
  workers[1].RecordError(14);
  workers[1].protocol_errors = 2;
  workers[0].streams = 1;
  workers[1].streams = 2;

  const RunSummary s = Merge(workers, 1.0);
  EXPECT_EQ(s.ok, 1);
  EXPECT_EQ(s.item_errors, 3);
  EXPECT_EQ(s.errors, 6);  // 3 item + 1 stream + 2 protocol
  EXPECT_EQ(s.calls, 7);
  EXPECT_EQ(s.streams, 3);
  EXPECT_EQ(s.latency.count, 1);  // failed items have no latency sample
  EXPECT_THAT(
      s.errors_by_code,
      ElementsAre(Pair("UNAVAILABLE", 1), Pair("ITEM_INVALID_ARGUMENT", 2),
                  Pair("ITEM_OTHER", 1), Pair("PROTOCOL", 2)));
}

TEST(MergeTest, ZeroLengthWindowHasZeroQps) {
  std::vector<WorkerStats> workers(1);
  workers[0].RecordOk(1);
  EXPECT_EQ(Merge(workers, 0).qps, 0);
}

TEST(StatusCodeNameTest, SpellsGrpcCodes) {
  EXPECT_EQ(StatusCodeName(0), "OK");
  EXPECT_EQ(StatusCodeName(14), "UNAVAILABLE");
  EXPECT_EQ(StatusCodeName(16), "UNAUTHENTICATED");
  EXPECT_EQ(StatusCodeName(17), "CODE_17");
}

}  // namespace
}  // namespace rapport::loadgen
