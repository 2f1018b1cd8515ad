#include "common/metrics/metrics.h"

#include <prometheus/text_serializer.h>

#include <string>

#include "common/metrics/grpc_interceptor.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "rapport/bench/v1/echo.pb.h"

namespace rapport::metrics {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

std::string Exposition(prometheus::Registry& registry) {
  return prometheus::TextSerializer().Serialize(registry.Collect());
}

TEST(GrpcMetricsTest, KnownMethodsGetOneSeriesPerStatusCode) {
  // Make sure the echo descriptors are linked into this binary.
  rapport::bench::v1::EchoRequest unused;
  (void)unused;
  auto m = Metrics::ForTesting("test");
  GrpcMetricsInterceptorFactory factory(m->registry());
  MethodMetrics* echo = factory.ForMethod("/rapport.bench.v1.EchoService/Echo");
  ASSERT_NE(echo, nullptr);
  EXPECT_EQ(factory.ForMethod("/rapport.bench.v1.EchoService/Echo"), echo);
  echo->handled[0]->Increment();
  echo->handled[16]->Increment();
  echo->seconds->Observe(0.002);

  const std::string text = Exposition(m->registry());
  EXPECT_THAT(text, HasSubstr("grpc_server_handled_total{grpc_code=\"OK\","
                              "grpc_method=\"Echo\",grpc_service=\"rapport."
                              "bench.v1.EchoService\"} 1"));
  EXPECT_THAT(text, HasSubstr("grpc_code=\"UNAUTHENTICATED\""));
  EXPECT_THAT(text, HasSubstr("grpc_server_handling_seconds_count{"
                              "grpc_method=\"Echo\",grpc_service=\"rapport."
                              "bench.v1.EchoService\"} 1"));
}

TEST(GrpcMetricsTest, HealthMethodsAreKnown) {
  auto m = Metrics::ForTesting("test");
  GrpcMetricsInterceptorFactory factory(m->registry());
  EXPECT_NE(factory.ForMethod("/grpc.health.v1.Health/Check"), nullptr);
  EXPECT_NE(factory.ForMethod("/grpc.health.v1.Health/Watch"), nullptr);
}

TEST(GrpcMetricsTest, UnknownMethodsNeverBecomeLabels) {
  auto m = Metrics::ForTesting("test");
  GrpcMetricsInterceptorFactory factory(m->registry());
  for (const char* method :
       {"/evil.Service/Method", "/rapport.bench.v1.EchoService/Nope",
        "no-slash", "/", "//", "/grpc.health.v1.Health/Drop"}) {
    EXPECT_EQ(factory.ForMethod(method), nullptr) << method;
  }
  EXPECT_EQ(factory.ForMethod(nullptr), nullptr);
  EXPECT_THAT(Exposition(m->registry()), Not(HasSubstr("evil")));
}

TEST(RedisMetricsTest, CommandsAreCaseFoldedAndUnknownOnesPooled) {
  auto m = Metrics::ForTesting("test");
  m->redis().OnCommand("get", absl::Microseconds(300), false);
  m->redis().OnCommand("GET", absl::Microseconds(300), true);
  m->redis().OnCommand("user:42:secret", absl::Microseconds(10), true);
  const std::string text = Exposition(m->registry());
  EXPECT_THAT(
      text,
      HasSubstr("redis_command_duration_seconds_count{command=\"GET\"} 2"));
  EXPECT_THAT(text, HasSubstr("redis_command_errors_total{command=\"GET\"} 1"));
  EXPECT_THAT(text,
              HasSubstr("redis_command_errors_total{command=\"OTHER\"} 1"));
  EXPECT_THAT(text, Not(HasSubstr("secret")));
}

TEST(MetricsTest, BuildInfoNamesTheService) {
  auto m = Metrics::ForTesting("scoring-service");
  EXPECT_THAT(Exposition(m->registry()),
              HasSubstr("rapport_build_info{service=\"scoring-service\""));
}

}  // namespace
}  // namespace rapport::metrics
