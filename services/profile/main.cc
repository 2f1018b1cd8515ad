// profile-service: contacts, interactions and the derived profile a seller
// must read before writing to someone.
#include "common/config/config.h"
#include "common/server/server.h"
#include "services/profile/service.h"

int main(int argc, char** argv) {
  const auto config = rapport::config::LoadOrDie(
      rapport::config::Service::kProfile, argc, argv);
  rapport::server::Runtime runtime(config);
  rapport::profile::ProfileServiceImpl service(runtime);
  return rapport::server::Serve(
      runtime, {rapport::server::Register<rapport::profile::v1::ProfileService>(
                   service)});
}
