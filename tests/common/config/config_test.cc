#include "common/config/config.h"

#include <map>
#include <string>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace rapport::config {
namespace {

using ::testing::HasSubstr;

EnvLookup FakeEnv(std::map<std::string, std::string> vars) {
  return [vars = std::move(vars)](
             absl::string_view name) -> std::optional<std::string> {
    auto it = vars.find(std::string(name));
    if (it == vars.end()) return std::nullopt;
    return it->second;
  };
}

TEST(ConfigTest, DefaultsWorkOnOneMachine) {
  struct Case {
    Service service;
    const char* grpc;
    const char* metrics;
  };
  for (const Case& c :
       {Case{Service::kProfile, "127.0.0.1:50051", "127.0.0.1:9101"},
        Case{Service::kScoring, "127.0.0.1:50052", "127.0.0.1:9102"},
        Case{Service::kFeedback, "127.0.0.1:50053", "127.0.0.1:9103"}}) {
    auto config = Load(c.service, FakeEnv({}), {});
    ASSERT_TRUE(config.ok()) << config.status();
    EXPECT_EQ(config->grpc_addr, c.grpc);
    EXPECT_EQ(config->metrics_addr, c.metrics);
    EXPECT_EQ(config->redis.host, "127.0.0.1");
    EXPECT_EQ(config->redis.port, 6379);
    EXPECT_EQ(config->profile_addr, "127.0.0.1:50051");
    EXPECT_EQ(config->scoring_addr, "127.0.0.1:50052");
    EXPECT_TRUE(config->api_keys_file.empty());
    EXPECT_EQ(config->log_level, log::Level::kInfo);
  }
}

TEST(ConfigTest, EnvironmentSetsEverySetting) {
  auto config = Load(
      Service::kScoring,
      FakeEnv({{"RAPPORT_GRPC_ADDR", "0.0.0.0:7000"},
               {"RAPPORT_METRICS_ADDR", "0.0.0.0:7001"},
               {"RAPPORT_REDIS_URL", "redis://:s3cret@redis.internal:6380/2"},
               {"RAPPORT_PROFILE_ADDR", "dns:///profile:50051"},
               {"RAPPORT_SCORING_ADDR", "scoring:50052"},
               {"RAPPORT_API_KEYS_FILE", "/etc/rapport/keys.json"},
               {"RAPPORT_LOG_LEVEL", "DEBUG"},
               {"RAPPORT_REDIS_POOL_SIZE", "16"},
               {"RAPPORT_REDIS_TIMEOUT_MS", "40"},
               {"RAPPORT_DRAIN_SECONDS", "5"},
               {"RAPPORT_FORWARDER", "off"}}),
      {});
  ASSERT_TRUE(config.ok()) << config.status();
  EXPECT_EQ(config->grpc_addr, "0.0.0.0:7000");
  EXPECT_EQ(config->metrics_addr, "0.0.0.0:7001");
  EXPECT_EQ(config->redis.host, "redis.internal");
  EXPECT_EQ(config->redis.port, 6380);
  EXPECT_EQ(config->redis.db, 2);
  EXPECT_EQ(config->redis.password, "s3cret");
  EXPECT_EQ(config->profile_addr, "dns:///profile:50051");
  EXPECT_EQ(config->scoring_addr, "scoring:50052");
  EXPECT_EQ(config->api_keys_file, "/etc/rapport/keys.json");
  EXPECT_EQ(config->log_level, log::Level::kDebug);
  EXPECT_EQ(config->redis_pool_size, 16);
  EXPECT_EQ(config->redis_timeout, absl::Milliseconds(40));
  EXPECT_EQ(config->drain_timeout, absl::Seconds(5));
  EXPECT_FALSE(config->forwarder);
}

TEST(ConfigTest, FlagsOverrideEnvironment) {
  auto config = Load(Service::kProfile,
                     FakeEnv({{"RAPPORT_GRPC_ADDR", "127.0.0.1:1111"},
                              {"RAPPORT_LOG_LEVEL", "error"}}),
                     {"--grpc-addr=127.0.0.1:2222", "--log-level", "warn"});
  ASSERT_TRUE(config.ok()) << config.status();
  EXPECT_EQ(config->grpc_addr, "127.0.0.1:2222");
  EXPECT_EQ(config->log_level, log::Level::kWarn);
}

TEST(ConfigTest, BadValuesNameTheSetting) {
  struct Case {
    const char* env;
    const char* value;
  };
  for (const Case& c : {Case{"RAPPORT_GRPC_ADDR", "localhost"},
                        Case{"RAPPORT_GRPC_ADDR", "127.0.0.1:http"},
                        Case{"RAPPORT_METRICS_ADDR", "127.0.0.1:70000"},
                        Case{"RAPPORT_METRICS_ADDR", "::1:9100"},
                        Case{"RAPPORT_REDIS_URL", "http://localhost:6379"},
                        Case{"RAPPORT_REDIS_URL", "redis://localhost:0"},
                        Case{"RAPPORT_REDIS_URL", "redis://localhost/99"},
                        Case{"RAPPORT_PROFILE_ADDR", ""},
                        Case{"RAPPORT_SCORING_ADDR", "scoring"},
                        Case{"RAPPORT_LOG_LEVEL", "verbose"},
                        Case{"RAPPORT_REDIS_POOL_SIZE", "0"},
                        Case{"RAPPORT_REDIS_TIMEOUT_MS", "-5"},
                        Case{"RAPPORT_MAX_MESSAGE_BYTES", "12"},
                        Case{"RAPPORT_DRAIN_SECONDS", "forever"},
                        Case{"RAPPORT_FORWARDER", "yes"}}) {
    auto config = Load(Service::kProfile, FakeEnv({{c.env, c.value}}), {});
    ASSERT_FALSE(config.ok()) << c.env << "=" << c.value;
    EXPECT_EQ(config.status().code(), absl::StatusCode::kInvalidArgument);
    EXPECT_THAT(config.status().message(), HasSubstr(c.env));
  }
}

TEST(ConfigTest, RedisPasswordNeverAppearsInErrors) {
  auto config = Load(
      Service::kProfile,
      FakeEnv({{"RAPPORT_REDIS_URL", "redis://:hunter2@localhost:notaport"}}),
      {});
  ASSERT_FALSE(config.ok());
  EXPECT_THAT(std::string(config.status().message()),
              ::testing::Not(HasSubstr("hunter2")));
}

TEST(ConfigTest, UnknownFlagsAndMissingValuesAreErrors) {
  auto unknown = Load(Service::kProfile, FakeEnv({}), {"--grpc-adr=x:1"});
  ASSERT_FALSE(unknown.ok());
  EXPECT_THAT(unknown.status().message(), HasSubstr("--grpc-adr"));

  auto missing = Load(Service::kProfile, FakeEnv({}), {"--grpc-addr"});
  ASSERT_FALSE(missing.ok());
  EXPECT_THAT(missing.status().message(), HasSubstr("RAPPORT_GRPC_ADDR"));

  auto positional = Load(Service::kProfile, FakeEnv({}), {"extra"});
  EXPECT_FALSE(positional.ok());
}

TEST(ConfigTest, ToolsReceiveTheArgumentsThatAreNotSettings) {
  std::vector<std::string> rest;
  auto config = Load(Service::kClient, FakeEnv({}),
                     {"health", "--target", "x:1", "--api-key=k"}, &rest);
  ASSERT_TRUE(config.ok()) << config.status();
  EXPECT_EQ(config->api_key, "k");
  EXPECT_EQ(rest, (std::vector<std::string>{"health", "--target", "x:1"}));
}

TEST(ConfigTest, TlsSettingsMustBeConsistent) {
  auto half = Load(Service::kProfile,
                   FakeEnv({{"RAPPORT_TLS_CERT_FILE", "/c.pem"}}), {});
  ASSERT_FALSE(half.ok());
  EXPECT_THAT(half.status().message(), HasSubstr("RAPPORT_TLS_KEY_FILE"));

  auto mtls_without_tls =
      Load(Service::kProfile,
           FakeEnv({{"RAPPORT_TLS_CLIENT_CA_FILE", "/ca.pem"}}), {});
  EXPECT_FALSE(mtls_without_tls.ok());

  auto full = Load(Service::kProfile,
                   FakeEnv({{"RAPPORT_TLS_CERT_FILE", "/c.pem"},
                            {"RAPPORT_TLS_KEY_FILE", "/k.pem"},
                            {"RAPPORT_TLS_CLIENT_CA_FILE", "/ca.pem"}}),
                   {});
  ASSERT_TRUE(full.ok()) << full.status();
  EXPECT_TRUE(full->tls.ServerTlsEnabled());
  EXPECT_TRUE(full->tls.ClientTlsEnabled());
}

TEST(ConfigTest, HostPortAcceptsNamesIpv4AndBracketedIpv6) {
  EXPECT_TRUE(ValidateHostPort("localhost:1").ok());
  EXPECT_TRUE(ValidateHostPort("0.0.0.0:65535").ok());
  EXPECT_TRUE(ValidateHostPort("[::1]:50051").ok());
  EXPECT_TRUE(ValidateHostPort(":9100").ok());
  EXPECT_FALSE(ValidateHostPort("[::1:50051").ok());
  EXPECT_FALSE(ValidateHostPort("host:").ok());
}

TEST(ConfigTest, SettingsTableNamesEveryRequiredVariable) {
  std::vector<std::string> names;
  for (const SettingInfo& s : Settings()) names.emplace_back(s.env);
  for (const char* required :
       {"RAPPORT_GRPC_ADDR", "RAPPORT_METRICS_ADDR", "RAPPORT_REDIS_URL",
        "RAPPORT_PROFILE_ADDR", "RAPPORT_SCORING_ADDR", "RAPPORT_API_KEYS_FILE",
        "RAPPORT_LOG_LEVEL", "RAPPORT_TLS_CERT_FILE", "RAPPORT_TLS_KEY_FILE",
        "RAPPORT_TLS_CLIENT_CA_FILE"}) {
    EXPECT_THAT(names, ::testing::Contains(required));
  }
}

}  // namespace
}  // namespace rapport::config
