// scoring-service: scores a draft for one recipient on how much it is about
// them, with findings that point at exact spans; learns from outcomes.
#include "common/config/config.h"
#include "common/server/server.h"
#include "services/scoring/service.h"

int main(int argc, char** argv) {
  const auto config = rapport::config::LoadOrDie(
      rapport::config::Service::kScoring, argc, argv);
  rapport::server::Runtime runtime(config);
  rapport::scoring::ScoringServiceImpl service(runtime);
  return rapport::server::Serve(
      runtime, {rapport::server::Register<rapport::scoring::v1::ScoringService>(
                   service)});
}
