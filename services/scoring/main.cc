// scoring-service: scores a draft for one recipient on how much it is about
// them, with findings that point at exact spans; learns from outcomes.
#include <cstdio>
#include <cstdlib>
#include <memory>

#include "common/config/config.h"
#include "common/log/log.h"
#include "common/server/server.h"
#include "services/scoring/handler.h"
#include "services/scoring/profile_source.h"
#include "services/scoring/service.h"
#include "services/scoring/store.h"

int main(int argc, char** argv) {
  using rapport::config::Service;
  const auto config = rapport::config::LoadOrDie(Service::kScoring, argc, argv);
  const std::string rules_path = config.rules_file.empty()
                                     ? RAPPORT_DEFAULT_RULES_FILE
                                     : config.rules_file;
  // A bad rules file at start-up is fatal (nothing to fall back to); on
  // SIGHUP it is rejected and the running rules stay.
  auto rules = rapport::scoring::engine::LoadRules(rules_path);
  if (!rules.ok()) {
    std::fprintf(stderr,
                 "scoring-service: RAPPORT_RULES_FILE (--rules-file): %s\n",
                 std::string(rules.status().message()).c_str());
    return 2;
  }
  rapport::server::Runtime runtime(config);

  std::shared_ptr<grpc::Channel> profile_channel;
  if (auto channel = rapport::server::MakeChannel(config, config.profile_addr);
      channel.ok()) {
    profile_channel = *channel;
  } else {
    std::fprintf(stderr, "scoring-service: RAPPORT_PROFILE_ADDR: %s\n",
                 std::string(channel.status().message()).c_str());
    return 2;
  }
  rapport::profile::ProfileReader reader(
      *runtime.async_redis(), runtime.metrics().registry(),
      rapport::profile::ProfileReader::FromConfig(config));
  rapport::scoring::ProfileSource profiles(
      reader, profile_channel, config.peer_deadline, config.api_key);
  rapport::scoring::ScoringMetrics metrics(runtime.metrics().registry());
  rapport::scoring::ScoringStore store(
      *runtime.redis(), *runtime.async_redis(), config.message_ttl,
      [&metrics](const rapport::redis::WriteBehind::Stats& stats) {
        metrics.ObserveRecordWrites(stats);
      });
  rapport::scoring::ScoringHandler handler(store, profiles, metrics, *rules);
  rapport::scoring::ScoringServiceImpl service(runtime.auth(), handler);
  rapport::log::Info("rules_loaded", {{"rules_version", (*rules)->version()},
                                      {"rules", (*rules)->size()}});

  rapport::server::Hooks hooks;
  hooks.on_reload = [&] {
    auto reloaded = rapport::scoring::engine::LoadRules(rules_path);
    if (!reloaded.ok()) {
      metrics.rules_rejected.Increment();
      rapport::log::Error("rules_rejected",
                          {{"reason", reloaded.status().message()}});
      return;
    }
    handler.SetRules(*reloaded);
    metrics.rules_reloaded.Increment();
    rapport::log::Info("rules_loaded",
                       {{"rules_version", (*reloaded)->version()},
                        {"rules", (*reloaded)->size()}});
  };
  return rapport::server::Serve(
      runtime,
      {rapport::server::Register<rapport::scoring::v1::ScoringService>(
          service)},
      {}, hooks);
}
