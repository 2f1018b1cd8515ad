// feedback-service: durable cross-functional feedback, forwarded to the
// other services and summed up in digests.
#include <cstdio>
#include <memory>
#include <string>

#include "common/config/config.h"
#include "common/log/log.h"
#include "common/server/server.h"
#include "services/feedback/forwarder.h"
#include "services/feedback/respect/respect.h"
#include "services/feedback/service.h"
#include "services/feedback/validate.h"

int main(int argc, char** argv) {
  namespace fb = rapport::feedback;
  const auto config = rapport::config::LoadOrDie(
      rapport::config::Service::kFeedback, argc, argv);
  const std::string lexicon_path = config.respect_lexicon_file.empty()
                                       ? RAPPORT_DEFAULT_LEXICON_FILE
                                       : config.respect_lexicon_file;
  // A bad lexicon at start-up is fatal (nothing to fall back to); on SIGHUP
  // it is rejected and the running one stays.
  auto checker = fb::respect::LoadLexicon(lexicon_path);
  if (!checker.ok()) {
    std::fprintf(stderr,
                 "feedback-service: RAPPORT_RESPECT_LEXICON_FILE "
                 "(--respect-lexicon-file): %s\n",
                 fb::ToStr(checker.status().message()).c_str());
    return 2;
  }
  // The runtime first: it blocks the signals the server handles, and
  // threads started later (gRPC's, the forwarder's) inherit that mask.
  rapport::server::Runtime runtime(config);
  auto peers = fb::GrpcPeers::Create(config);
  if (!peers.ok()) {
    std::fprintf(stderr, "feedback-service: peer channels: %s\n",
                 fb::ToStr(peers.status().message()).c_str());
    return 2;
  }
  fb::FeedbackServiceImpl service(runtime, *checker);
  rapport::log::Info("lexicon_loaded",
                     {{"lexicon_version", (*checker)->version()},
                      {"source", (*checker)->source_name()}});
  if (const std::string warning = service.store().CheckPersistence();
      !warning.empty()) {
    rapport::log::Warn("feedback_durability", {{"reason", warning}});
  }

  fb::ForwarderMetrics forwarder_metrics(runtime.metrics().registry());
  fb::Forwarder forwarder(service.store(), **peers, forwarder_metrics);
  if (config.forwarder) {
    forwarder.Start();
  } else {
    rapport::log::Info("forwarder_off", {{"setting", "RAPPORT_FORWARDER"}});
  }

  rapport::server::Hooks hooks;
  hooks.on_reload = [&] {
    auto reloaded = fb::respect::LoadLexicon(lexicon_path);
    if (!reloaded.ok()) {
      service.metrics().lexicon_rejected.Increment();
      rapport::log::Error("lexicon_rejected",
                          {{"reason", reloaded.status().message()}});
      return;
    }
    service.handler().SetChecker(*reloaded);
    service.metrics().lexicon_reloaded.Increment();
    rapport::log::Info("lexicon_loaded",
                       {{"lexicon_version", (*reloaded)->version()},
                        {"source", (*reloaded)->source_name()}});
  };
  hooks.on_shutdown = [&] {
    service.Shutdown();
    forwarder.Stop();
  };
  const int code = rapport::server::Serve(
      runtime, {rapport::server::Register<fb::v1::FeedbackService>(service)},
      {}, hooks);
  forwarder.Stop();
  return code;
}
