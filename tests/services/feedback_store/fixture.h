#pragma once

// A private redis-server plus feedback-service's store and handler over it,
// for the integration tests in this directory.

#include <prometheus/registry.h>

#include <memory>
#include <string>
#include <vector>

#include "common/auth/auth.h"
#include "common/redis/async_client.h"
#include "common/redis/pool.h"
#include "gtest/gtest.h"
#include "services/feedback/handler.h"
#include "services/feedback/store.h"
#include "tests/support/redis_server.h"

namespace rapport::feedback::testing {

inline constexpr char kTenant[] = "acme";

// The default respect lexicon of the source tree.
std::shared_ptr<const respect::RespectChecker> DefaultChecker();

// A writer of kTenant without a team binding.
auth::Principal Writer(const std::string& team = "");

v1::Feedback Outcome(const std::string& message_id, common::v1::Outcome outcome,
                     common::v1::Team team = common::v1::TEAM_SALES);
v1::Feedback Note(common::v1::Team from, common::v1::Team to,
                  const std::string& text);
v1::Feedback Review(const std::string& template_id, int rating,
                    const std::string& comment = "");
v1::Feedback Insight(const std::string& contact_id, const std::string& text);

class FeedbackFixture : public ::testing::Test {
 protected:
  void SetUp() override;

  // Options of a pool on the test's Redis, and such a pool (e.g. with a
  // short timeout).
  redis::PoolOptions pool_options(
      absl::Duration timeout = absl::Seconds(2)) const;
  std::unique_ptr<redis::Pool> NewPool(
      absl::Duration timeout = absl::Seconds(2)) const;

  // Submits through the handler; fails the test on error unless `expect_ok`
  // is false.
  absl::StatusOr<v1::SubmitFeedbackResponse> Submit(
      const v1::Feedback& f, const auth::Principal& who = Writer());
  std::string MustSubmit(const v1::Feedback& f);

  int64_t StreamLength(const std::string& tenant = kTenant);
  int64_t PendingCount(const std::string& tenant = kTenant);

  std::unique_ptr<::rapport::testing::RedisServer> redis_;
  std::unique_ptr<redis::Pool> pool_;
  std::unique_ptr<redis::AsyncClient> async_;
  prometheus::Registry registry_;
  std::unique_ptr<FeedbackMetrics> metrics_;
  std::unique_ptr<FeedbackStore> store_;
  std::unique_ptr<FeedbackHandler> handler_;
};

}  // namespace rapport::feedback::testing
