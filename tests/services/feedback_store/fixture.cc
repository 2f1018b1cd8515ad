#include "tests/services/feedback_store/fixture.h"

#include <cstdlib>

#include "absl/strings/str_cat.h"

namespace rapport::feedback::testing {

std::shared_ptr<const respect::RespectChecker> DefaultChecker() {
  static const auto* checker = [] {
    const char* root = std::getenv("RAPPORT_SOURCE_DIR");
    const std::string path =
        root != nullptr
            ? absl::StrCat(root, "/services/feedback/respect/lexicon.textproto")
            : std::string(RAPPORT_RESPECT_LEXICON);
    auto loaded = respect::LoadLexicon(path);
    EXPECT_TRUE(loaded.ok()) << loaded.status();
    return new std::shared_ptr<const respect::RespectChecker>(
        loaded.ok() ? *loaded : nullptr);
  }();
  return *checker;
}

auth::Principal Writer(const std::string& team) {
  auth::Principal p;
  p.tenant = kTenant;
  p.team = team;
  p.role = auth::kRoleWriter;
  return p;
}

namespace {
v1::Feedback Authored(common::v1::Team team) {
  v1::Feedback f;
  f.mutable_author()->set_team(team);
  f.mutable_author()->set_id("rep-1");
  return f;
}
}  // namespace

v1::Feedback Outcome(const std::string& message_id, common::v1::Outcome outcome,
                     common::v1::Team team) {
  v1::Feedback f = Authored(team);
  f.mutable_subject()->set_message_id(message_id);
  f.mutable_outcome()->set_outcome(outcome);
  return f;
}

v1::Feedback Note(common::v1::Team from, common::v1::Team to,
                  const std::string& text) {
  v1::Feedback f = Authored(from);
  f.mutable_subject()->set_team(to);
  f.mutable_note()->set_to_team(to);
  f.mutable_note()->set_text(text);
  return f;
}

v1::Feedback Review(const std::string& template_id, int rating,
                    const std::string& comment) {
  v1::Feedback f = Authored(common::v1::TEAM_SALES);
  f.mutable_subject()->set_template_id(template_id);
  f.mutable_review()->set_rating(rating);
  f.mutable_review()->set_comment(comment);
  return f;
}

v1::Feedback Insight(const std::string& contact_id, const std::string& text) {
  v1::Feedback f = Authored(common::v1::TEAM_SALES);
  f.mutable_subject()->set_contact_id(contact_id);
  f.mutable_insight()->set_kind(common::v1::INSIGHT_KIND_PRIORITY);
  f.mutable_insight()->set_text(text);
  return f;
}

void FeedbackFixture::SetUp() {
  ::rapport::testing::RedisServerOptions options;
  options.appendonly = true;
  auto redis = ::rapport::testing::RedisServer::Start(options);
  ASSERT_TRUE(redis.ok()) << redis.status();
  redis_ = *std::move(redis);
  pool_ = NewPool();
  metrics_ = std::make_unique<FeedbackMetrics>(registry_);
  redis::AsyncClientOptions ao;
  static_cast<redis::PoolOptions&>(ao) = pool_options();
  async_ = redis::AsyncClient::Create(ao);
  // SubmitFeedback goes through the AsyncClient, as in the service.
  store_ = std::make_unique<FeedbackStore>(*pool_, async_.get());
  handler_ =
      std::make_unique<FeedbackHandler>(*store_, *metrics_, DefaultChecker());
}

redis::PoolOptions FeedbackFixture::pool_options(absl::Duration timeout) const {
  redis::PoolOptions po;
  po.endpoint.port = redis_->port();
  po.size = 8;
  po.command_timeout = timeout;
  po.connect_timeout = timeout;
  return po;
}

std::unique_ptr<redis::Pool> FeedbackFixture::NewPool(
    absl::Duration timeout) const {
  return redis::Pool::Create(pool_options(timeout));
}

absl::StatusOr<v1::SubmitFeedbackResponse> FeedbackFixture::Submit(
    const v1::Feedback& f, const auth::Principal& who) {
  v1::SubmitFeedbackRequest req;
  *req.mutable_feedback() = f;
  v1::SubmitFeedbackResponse resp;
  absl::Status st = handler_->SubmitFeedback(who, req, &resp);
  if (!st.ok()) return st;
  return resp;
}

std::string FeedbackFixture::MustSubmit(const v1::Feedback& f) {
  absl::StatusOr<v1::SubmitFeedbackResponse> r = Submit(f);
  EXPECT_TRUE(r.ok()) << r.status();
  return r.ok() ? r->feedback_id() : "";
}

int64_t FeedbackFixture::StreamLength(const std::string& tenant) {
  auto key = FeedbackStore::StreamKey(tenant);
  auto r = redis_->Cli({"XLEN", *key});
  EXPECT_TRUE(r.ok()) << r.status();
  return r.ok() ? r->integer() : -1;
}

int64_t FeedbackFixture::PendingCount(const std::string& tenant) {
  auto key = FeedbackStore::StreamKey(tenant);
  auto r = redis_->Cli({"XPENDING", *key, kForwarderGroup});
  EXPECT_TRUE(r.ok()) << r.status();
  if (!r.ok() || !r->is_array() || r->elements().empty()) return -1;
  return r->elements()[0].integer();
}

}  // namespace rapport::feedback::testing
