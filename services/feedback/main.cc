// feedback-service: durable cross-functional feedback, forwarded to the
// other services and summed up in digests.
#include "common/config/config.h"
#include "common/server/server.h"
#include "services/feedback/service.h"

int main(int argc, char** argv) {
  const auto config = rapport::config::LoadOrDie(
      rapport::config::Service::kFeedback, argc, argv);
  rapport::server::Runtime runtime(config);
  rapport::feedback::FeedbackServiceImpl service(runtime);
  return rapport::server::Serve(
      runtime,
      {rapport::server::Register<rapport::feedback::v1::FeedbackService>(
          service)});
}
