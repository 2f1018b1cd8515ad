// The forwarder against a real redis-server and scripted fake peers:
// at-least-once delivery, acknowledgement only after every peer confirmed,
// retries with backoff, dead letters, and recovery of a crashed consumer's
// entries.
#include "services/feedback/forwarder.h"

#include <deque>
#include <functional>
#include <map>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "services/feedback/validate.h"
#include "tests/services/feedback_store/fixture.h"

namespace rapport::feedback::testing {
namespace {

using ::testing::HasSubstr;

// Peers whose answers a test scripts: a queue of statuses per peer, one
// per item (OK when empty), and one per batch call for failing a whole
// call. They record every item and call and answer inline.
class FakePeers final : public Peers {
 public:
  void RecordOutcomes(
      const std::string& tenant,
      std::vector<scoring::v1::RecordOutcomeRequest> requests,
      Done<Results<scoring::v1::RecordOutcomeResponse>> done) override {
    Results<scoring::v1::RecordOutcomeResponse> results;
    absl::Status call;
    {
      absl::MutexLock lock(&mu_);
      ++outcome_calls;
      call = Next(&scoring_call_script);
      for (auto& request : requests) {
        if (!call.ok()) break;
        outcomes.push_back(request);
        absl::Status st = Next(&scoring_script);
        if (!st.ok()) {
          results.emplace_back(st);
          continue;
        }
        scoring::v1::RecordOutcomeResponse resp;
        resp.set_contact_id(contact_for_message);
        resp.set_template_id("tpl-9");
        resp.set_campaign_id("spring");
        resp.add_fired_rule_ids("burden.ask_for_time");
        resp.set_channel(common::v1::CHANNEL_EMAIL);
        resp.set_model_version(7);
        resp.set_applied(true);
        results.emplace_back(std::move(resp));
      }
    }
    if (!call.ok()) {
      std::move(done)(call);
      return;
    }
    std::move(done)(std::move(results));
  }
  void RecordInteractions(
      const std::string& tenant, std::vector<profile::v1::Interaction> batch,
      Done<Results<profile::v1::RecordInteractionResponse>> done) override {
    Results<profile::v1::RecordInteractionResponse> results;
    absl::Status call;
    {
      absl::MutexLock lock(&mu_);
      ++interaction_calls;
      call = Next(&profile_call_script);
      for (auto& in : batch) {
        if (!call.ok()) break;
        interactions.push_back(in);
        absl::Status st = Next(&profile_script);
        if (st.ok()) {
          results.emplace_back(profile::v1::RecordInteractionResponse());
        } else {
          results.emplace_back(st);
        }
      }
    }
    if (!call.ok()) {
      std::move(done)(call);
      return;
    }
    std::move(done)(std::move(results));
  }
  void RecordInsight(const std::string& tenant,
                     const profile::v1::RecordInsightRequest& request,
                     Done<profile::v1::RecordInsightResponse> done) override {
    absl::Status st;
    {
      absl::MutexLock lock(&mu_);
      insights.push_back(request);
      st = Next(&profile_script);
    }
    if (!st.ok()) {
      std::move(done)(st);
      return;
    }
    std::move(done)(profile::v1::RecordInsightResponse());
  }

  std::deque<absl::Status> scoring_script;
  std::deque<absl::Status> profile_script;
  std::deque<absl::Status> scoring_call_script;
  std::deque<absl::Status> profile_call_script;
  std::string contact_for_message = "c-1";
  std::vector<scoring::v1::RecordOutcomeRequest> outcomes;
  std::vector<profile::v1::Interaction> interactions;
  std::vector<profile::v1::RecordInsightRequest> insights;
  int outcome_calls = 0;
  int interaction_calls = 0;

 private:
  static absl::Status Next(std::deque<absl::Status>* script) {
    if (script->empty()) return absl::OkStatus();
    absl::Status st = script->front();
    script->pop_front();
    return st;
  }
  absl::Mutex mu_;
};

// Peers that answer later, from their own threads (as gRPC does), and
// record how many calls overlapped: overall, per tenant at scoring and per
// contact at profile (a batch call holds every contact it carries).
class SlowPeers final : public Peers {
 public:
  ~SlowPeers() override { JoinAll(); }

  void RecordOutcomes(
      const std::string& tenant,
      std::vector<scoring::v1::RecordOutcomeRequest> requests,
      Done<Results<scoring::v1::RecordOutcomeResponse>> done) override {
    Results<scoring::v1::RecordOutcomeResponse> results;
    for (const auto& request : requests) {
      scoring::v1::RecordOutcomeResponse resp;
      // Messages m-0, m-1, ... were scored for contacts c-0, c-1, c-2.
      resp.set_contact_id(
          absl::StrCat("c-", std::stoi(request.message_id().substr(2)) % 3));
      results.emplace_back(std::move(resp));
    }
    Answer({"s:" + tenant}, std::move(done), std::move(results));
  }
  void RecordInteractions(
      const std::string& tenant, std::vector<profile::v1::Interaction> batch,
      Done<Results<profile::v1::RecordInteractionResponse>> done) override {
    std::set<std::string> lanes;
    Results<profile::v1::RecordInteractionResponse> results;
    for (const auto& in : batch) {
      lanes.insert("p:" + in.contact_id());
      results.emplace_back(profile::v1::RecordInteractionResponse());
    }
    Answer(lanes, std::move(done), std::move(results));
  }
  void RecordInsight(const std::string& tenant,
                     const profile::v1::RecordInsightRequest& request,
                     Done<profile::v1::RecordInsightResponse> done) override {
    Answer({"p:" + request.insight().contact_id()}, std::move(done),
           profile::v1::RecordInsightResponse());
  }

  void JoinAll() {
    std::vector<std::thread> threads;
    {
      absl::MutexLock lock(&mu_);
      threads.swap(threads_);
    }
    for (std::thread& t : threads) t.join();
  }

  int max_overall() {
    absl::MutexLock lock(&mu_);
    return max_overall_;
  }
  int max_in_one_lane() {
    absl::MutexLock lock(&mu_);
    return max_per_lane_;
  }
  int calls() {
    absl::MutexLock lock(&mu_);
    return calls_;
  }

 private:
  template <typename Response>
  void Answer(const std::set<std::string>& lanes, Done<Response> done,
              Response resp) {
    absl::MutexLock lock(&mu_);
    ++calls_;
    max_overall_ = std::max(max_overall_, ++running_);
    for (const std::string& lane : lanes) {
      max_per_lane_ = std::max(max_per_lane_, ++lanes_[lane]);
    }
    threads_.emplace_back([this, lanes, done = std::move(done),
                           resp = std::move(resp)]() mutable {
      absl::SleepFor(absl::Milliseconds(3));
      {
        absl::MutexLock lock(&mu_);
        --running_;
        for (const std::string& lane : lanes) --lanes_[lane];
      }
      std::move(done)(std::move(resp));
    });
  }

  absl::Mutex mu_;
  std::vector<std::thread> threads_ ABSL_GUARDED_BY(mu_);
  std::map<std::string, int> lanes_ ABSL_GUARDED_BY(mu_);
  int running_ ABSL_GUARDED_BY(mu_) = 0;
  int max_overall_ ABSL_GUARDED_BY(mu_) = 0;
  int max_per_lane_ ABSL_GUARDED_BY(mu_) = 0;
  int calls_ ABSL_GUARDED_BY(mu_) = 0;
};

class ForwarderTest : public FeedbackFixture {
 protected:
  void SetUp() override {
    FeedbackFixture::SetUp();
    fmetrics_ = std::make_unique<ForwarderMetrics>(registry_);
  }

  ForwarderOptions FastOptions() {
    ForwarderOptions o;
    o.consumer = "test-consumer";
    o.backoff_base = absl::Milliseconds(1);
    o.backoff_cap = absl::Milliseconds(5);
    o.tenants_refresh = absl::ZeroDuration();
    o.claim_interval = absl::ZeroDuration();
    return o;
  }

  // Runs passes (at least one) until `done` holds or `limit` passes ran.
  void RunUntil(Forwarder& f, const std::function<bool()>& done,
                int limit = 200) {
    for (int i = 0; i < limit; ++i) {
      f.RunOnce();
      if (done()) return;
      absl::SleepFor(absl::Milliseconds(2));
    }
  }

  std::vector<DeadLetterRecord> Dead() {
    auto dead = store_->DeadLetters(kTenant, 100);
    EXPECT_TRUE(dead.ok()) << dead.status();
    return dead.ok() ? *dead : std::vector<DeadLetterRecord>{};
  }

  double Forwarded(ForwarderMetrics::Peer p, ForwarderMetrics::Result r) {
    return fmetrics_->Forwarded(p, r).Value();
  }

  FakePeers peers_;
  std::unique_ptr<ForwarderMetrics> fmetrics_;
};

TEST_F(ForwarderTest, OutcomeGoesToScoringThenProfileAndIsAcknowledged) {
  const std::string id =
      MustSubmit(Outcome("msg-1", common::v1::OUTCOME_MEETING_BOOKED));
  Forwarder f(*store_, peers_, *fmetrics_, FastOptions());
  EXPECT_TRUE(f.RunOnce());

  ASSERT_EQ(peers_.outcomes.size(), 1u);
  const auto& o = peers_.outcomes[0];
  EXPECT_EQ(o.message_id(), "msg-1");
  EXPECT_EQ(o.outcome(), common::v1::OUTCOME_MEETING_BOOKED);
  EXPECT_EQ(o.feedback_id(), id);
  EXPECT_EQ(FromProto(o.occurred_at()), ParseStreamId(id)->time());

  ASSERT_EQ(peers_.interactions.size(), 1u);
  const profile::v1::Interaction& in = peers_.interactions[0];
  EXPECT_EQ(in.id(), "fb-" + id);
  EXPECT_EQ(in.feedback_id(), id);
  EXPECT_EQ(in.contact_id(), "c-1");  // answered by scoring
  EXPECT_EQ(in.kind(), profile::v1::INTERACTION_KIND_OUTCOME_REPORTED);
  EXPECT_EQ(in.direction(), profile::v1::DIRECTION_INBOUND);
  EXPECT_EQ(in.outcome(), common::v1::OUTCOME_MEETING_BOOKED);
  EXPECT_EQ(in.message_id(), "msg-1");

  EXPECT_EQ(PendingCount(), 0);
  EXPECT_EQ(f.held(), 0u);
  EXPECT_EQ(Forwarded(ForwarderMetrics::Peer::kScoring,
                      ForwarderMetrics::Result::kOk),
            1);
  // What scoring said about the message is kept for digests.
  auto enrich = store_->GetOutcomes(kTenant, {id});
  ASSERT_TRUE(enrich.ok());
  ASSERT_EQ(enrich->count(id), 1u);
  EXPECT_EQ(enrich->at(id).template_id(), "tpl-9");
  EXPECT_EQ(enrich->at(id).fired_rule_ids(0), "burden.ask_for_time");
  // Nothing more to do.
  EXPECT_FALSE(f.RunOnce());
  EXPECT_EQ(peers_.outcomes.size(), 1u);
}

TEST_F(ForwarderTest, RetriesWhileAPeerIsDownThenDelivers) {
  peers_.scoring_script = {absl::UnavailableError("down"),
                           absl::UnavailableError("down"),
                           absl::DeadlineExceededError("slow")};
  MustSubmit(Outcome("msg-1", common::v1::OUTCOME_NO_REPLY));
  Forwarder f(*store_, peers_, *fmetrics_, FastOptions());
  f.RunOnce();
  EXPECT_EQ(PendingCount(), 1) << "not acknowledged while scoring fails";
  EXPECT_EQ(f.held(), 1u);
  RunUntil(f, [&] { return PendingCount() == 0; });
  EXPECT_EQ(PendingCount(), 0);
  EXPECT_EQ(peers_.outcomes.size(), 4u);
  EXPECT_EQ(fmetrics_->retries.Value(), 3);
  EXPECT_EQ(Forwarded(ForwarderMetrics::Peer::kScoring,
                      ForwarderMetrics::Result::kRetry),
            3);
  EXPECT_TRUE(Dead().empty());
  EXPECT_EQ(peers_.interactions.back().direction(),
            profile::v1::DIRECTION_OUTBOUND);  // no reply: our message
}

TEST_F(ForwarderTest, AProfileFailureDoesNotRepeatTheConfirmedScoringCall) {
  peers_.profile_script = {absl::UnavailableError("profile down")};
  MustSubmit(Outcome("msg-1", common::v1::OUTCOME_REPLIED));
  Forwarder f(*store_, peers_, *fmetrics_, FastOptions());
  RunUntil(f, [&] { return PendingCount() == 0; });
  EXPECT_EQ(peers_.outcomes.size(), 1u);
  EXPECT_EQ(peers_.interactions.size(), 2u);
  EXPECT_EQ(PendingCount(), 0);
}

TEST_F(ForwarderTest, PermanentFailureIsDeadLetteredAtOnce) {
  peers_.scoring_script = {
      absl::NotFoundError("message_id: no scored message")};
  const std::string id =
      MustSubmit(Outcome("never-scored", common::v1::OUTCOME_REPLIED));
  Forwarder f(*store_, peers_, *fmetrics_, FastOptions());
  f.RunOnce();
  EXPECT_EQ(PendingCount(), 0);
  EXPECT_EQ(peers_.outcomes.size(), 1u);
  EXPECT_TRUE(peers_.interactions.empty());
  std::vector<DeadLetterRecord> dead = Dead();
  ASSERT_EQ(dead.size(), 1u);
  EXPECT_EQ(dead[0].feedback.id(), id);
  EXPECT_EQ(dead[0].feedback.subject().message_id(), "never-scored");
  EXPECT_THAT(dead[0].error, HasSubstr("scoring: NOT_FOUND"));
  EXPECT_EQ(dead[0].attempts, 1);
  EXPECT_FALSE(dead[0].failed_at.empty());
  EXPECT_EQ(fmetrics_->dead_letters.Value(), 1);
  // The item itself stays in the feedback stream.
  EXPECT_EQ(StreamLength(), 1);
}

TEST_F(ForwarderTest, GivesUpAfterMaxAttempts) {
  for (int i = 0; i < 10; ++i) {
    peers_.scoring_script.push_back(absl::UnavailableError("still down"));
  }
  MustSubmit(Outcome("msg-1", common::v1::OUTCOME_REPLIED));
  ForwarderOptions o = FastOptions();
  o.max_attempts = 3;
  Forwarder f(*store_, peers_, *fmetrics_, o);
  RunUntil(f, [&] { return PendingCount() == 0; });
  EXPECT_EQ(peers_.outcomes.size(), 3u);
  std::vector<DeadLetterRecord> dead = Dead();
  ASSERT_EQ(dead.size(), 1u);
  EXPECT_EQ(dead[0].attempts, 3);
  EXPECT_THAT(dead[0].error, HasSubstr("gave up after 3 attempts"));
  EXPECT_EQ(fmetrics_->retries.Value(), 2);
}

TEST_F(ForwarderTest, BackoffGrowsWithAttempts) {
  peers_.scoring_script = {absl::UnavailableError("down"),
                           absl::UnavailableError("down")};
  MustSubmit(Outcome("msg-1", common::v1::OUTCOME_REPLIED));
  ForwarderOptions o = FastOptions();
  o.backoff_base = absl::Milliseconds(200);
  o.backoff_cap = absl::Seconds(30);
  Forwarder f(*store_, peers_, *fmetrics_, o);
  f.RunOnce();  // fails, next try in 100-200 ms
  f.RunOnce();
  EXPECT_EQ(peers_.outcomes.size(), 1u) << "retried before its backoff";
  absl::SleepFor(absl::Milliseconds(210));
  f.RunOnce();  // fails again, next try in 200-400 ms
  EXPECT_EQ(peers_.outcomes.size(), 2u);
  absl::SleepFor(absl::Milliseconds(150));
  f.RunOnce();
  EXPECT_EQ(peers_.outcomes.size(), 2u);
  absl::SleepFor(absl::Milliseconds(260));
  f.RunOnce();
  EXPECT_EQ(peers_.outcomes.size(), 3u);
  EXPECT_EQ(PendingCount(), 0);
}

TEST_F(ForwarderTest, InsightGoesToProfileWithItsSourceFeedbackId) {
  const std::string id =
      MustSubmit(Insight("c-7", "wants to cut ramp time before Q3"));
  Forwarder f(*store_, peers_, *fmetrics_, FastOptions());
  f.RunOnce();
  ASSERT_EQ(peers_.insights.size(), 1u);
  const common::v1::ContactInsight& in = peers_.insights[0].insight();
  EXPECT_EQ(in.contact_id(), "c-7");
  EXPECT_EQ(in.source_feedback_id(), id);
  EXPECT_EQ(in.author_team(), common::v1::TEAM_SALES);
  EXPECT_EQ(in.kind(), common::v1::INSIGHT_KIND_PRIORITY);
  EXPECT_TRUE(in.has_observed_at());
  EXPECT_TRUE(peers_.outcomes.empty());
  EXPECT_EQ(PendingCount(), 0);
}

TEST_F(ForwarderTest, ContactOutcomesSkipScoringAndUnknownContactsDiffer) {
  // An outcome about a contact goes to profile only; NOT_FOUND for a
  // contact the author named is a dead letter.
  v1::Feedback about_contact = Outcome("", common::v1::OUTCOME_UNSUBSCRIBED);
  about_contact.mutable_subject()->set_contact_id("ghost");
  peers_.profile_script = {absl::NotFoundError("contact_id: no contact")};
  MustSubmit(about_contact);
  Forwarder f(*store_, peers_, *fmetrics_, FastOptions());
  f.RunOnce();
  EXPECT_TRUE(peers_.outcomes.empty());
  ASSERT_EQ(peers_.interactions.size(), 1u);
  EXPECT_EQ(peers_.interactions[0].contact_id(), "ghost");
  EXPECT_EQ(Dead().size(), 1u);

  // A contact scoring answered (an inline recipient) that profile-service
  // does not know has no profile to update: skipped, not a dead letter.
  peers_.contact_for_message = "inline-recipient";
  peers_.profile_script = {absl::NotFoundError("contact_id: no contact")};
  MustSubmit(Outcome("msg-2", common::v1::OUTCOME_REPLIED));
  f.RunOnce();
  EXPECT_EQ(Dead().size(), 1u);
  EXPECT_EQ(PendingCount(), 0);
  EXPECT_EQ(Forwarded(ForwarderMetrics::Peer::kProfile,
                      ForwarderMetrics::Result::kSkipped),
            1);

  // No contact at all: profile is not called.
  peers_.contact_for_message = "";
  MustSubmit(Outcome("msg-3", common::v1::OUTCOME_REPLIED));
  const size_t before = peers_.interactions.size();
  f.RunOnce();
  EXPECT_EQ(peers_.interactions.size(), before);
  EXPECT_EQ(PendingCount(), 0);
}

TEST_F(ForwarderTest, ReviewsAndNotesAreAcknowledgedWithoutCalls) {
  MustSubmit(Review("tpl", 4));
  MustSubmit(Note(common::v1::TEAM_OPS, common::v1::TEAM_SALES, "thanks"));
  Forwarder f(*store_, peers_, *fmetrics_, FastOptions());
  f.RunOnce();
  EXPECT_EQ(PendingCount(), 0);
  EXPECT_TRUE(peers_.outcomes.empty());
  EXPECT_TRUE(peers_.interactions.empty());
  EXPECT_TRUE(peers_.insights.empty());
}

TEST_F(ForwarderTest, EntriesOfACrashedConsumerAreReclaimed) {
  const std::string id =
      MustSubmit(Outcome("msg-1", common::v1::OUTCOME_REPLIED));
  // Another replica read the entry and died before acknowledging it.
  const std::string stream = *FeedbackStore::StreamKey(kTenant);
  auto read =
      redis_->Cli({"XREADGROUP", "GROUP", kForwarderGroup, "crashed-replica",
                   "COUNT", "10", "STREAMS", stream, ">"});
  ASSERT_TRUE(read.ok());
  ASSERT_EQ(PendingCount(), 1);

  ForwarderOptions o = FastOptions();
  o.claim_idle = absl::Milliseconds(300);
  Forwarder f(*store_, peers_, *fmetrics_, o);
  f.RunOnce();
  EXPECT_TRUE(peers_.outcomes.empty()) << "still fresh: not reclaimed";
  absl::SleepFor(absl::Milliseconds(350));
  f.RunOnce();
  ASSERT_EQ(peers_.outcomes.size(), 1u);
  EXPECT_EQ(peers_.outcomes[0].feedback_id(), id);
  EXPECT_EQ(PendingCount(), 0);
}

TEST_F(ForwarderTest, HeldItemsWaitingForARetryAreNotReclaimedByOthers) {
  for (int i = 0; i < 20; ++i) {
    peers_.scoring_script.push_back(absl::UnavailableError("down"));
  }
  MustSubmit(Outcome("msg-1", common::v1::OUTCOME_REPLIED));
  ForwarderOptions o = FastOptions();
  o.backoff_base = absl::Milliseconds(400);
  o.backoff_cap = absl::Milliseconds(400);
  o.touch_interval = absl::Milliseconds(100);
  o.claim_idle = absl::Milliseconds(250);
  Forwarder mine(*store_, peers_, *fmetrics_, o);
  mine.RunOnce();  // fails; waits 200-400 ms
  for (int i = 0; i < 8; ++i) {
    absl::SleepFor(absl::Milliseconds(60));
    mine.RunOnce();  // touches the entry while it waits
  }
  // Another replica looking for abandoned entries finds none.
  auto claimed = store_->AutoClaim(kTenant, "other", o.claim_idle, 10);
  ASSERT_TRUE(claimed.ok());
  EXPECT_TRUE(claimed->empty());
}

TEST_F(ForwarderTest, StreamsWithoutAGroupGetOneFromTheStart) {
  // An entry written before any group existed (e.g. restored from a
  // backup without groups) is still forwarded.
  v1::Feedback f = Outcome("msg-old", common::v1::OUTCOME_REPLIED);
  std::string bytes;
  f.SerializeToString(&bytes);
  const std::string stream = *FeedbackStore::StreamKey(kTenant);
  ASSERT_TRUE(redis_->Cli({"XADD", stream, "*", "f", bytes}).ok());
  ASSERT_TRUE(redis_->Cli({"SADD", kTenantsKey, kTenant}).ok());
  Forwarder fw(*store_, peers_, *fmetrics_, FastOptions());
  RunUntil(
      fw, [&] { return !peers_.outcomes.empty(); }, 5);
  ASSERT_EQ(peers_.outcomes.size(), 1u);
  EXPECT_EQ(peers_.outcomes[0].message_id(), "msg-old");
}

TEST_F(ForwarderTest, UnreadableEntriesAreDeadLettered) {
  MustSubmit(Review("tpl", 3));  // creates the stream and group
  const std::string stream = *FeedbackStore::StreamKey(kTenant);
  ASSERT_TRUE(redis_->Cli({"XADD", stream, "*", "f", "\xff\xff\xff"}).ok());
  Forwarder f(*store_, peers_, *fmetrics_, FastOptions());
  f.RunOnce();
  EXPECT_EQ(PendingCount(), 0);
  std::vector<DeadLetterRecord> dead = Dead();
  ASSERT_EQ(dead.size(), 1u);
  EXPECT_THAT(dead[0].error, HasSubstr("no readable"));
}

TEST_F(ForwarderTest, SurvivesRedisRestartsAndCatchesUp) {
  Forwarder f(*store_, peers_, *fmetrics_, FastOptions());
  MustSubmit(Outcome("msg-1", common::v1::OUTCOME_REPLIED));
  f.RunOnce();
  ASSERT_TRUE(redis_->Kill().ok());
  for (int i = 0; i < 3; ++i) EXPECT_FALSE(f.RunOnce());
  ASSERT_TRUE(redis_->Restart().ok());
  absl::StatusOr<v1::SubmitFeedbackResponse> r;
  for (int i = 0; i < 50; ++i) {
    r = Submit(Outcome("msg-2", common::v1::OUTCOME_REPLIED));
    if (r.ok()) break;
    absl::SleepFor(absl::Milliseconds(50));
  }
  ASSERT_TRUE(r.ok()) << r.status();
  RunUntil(f, [&] { return peers_.outcomes.size() == 2; });
  ASSERT_EQ(peers_.outcomes.size(), 2u);
  EXPECT_EQ(peers_.outcomes[1].message_id(), "msg-2");
}

TEST_F(ForwarderTest, LagGaugeShowsTheOldestPendingItem) {
  peers_.scoring_script = {absl::UnavailableError("down")};
  MustSubmit(Outcome("msg-1", common::v1::OUTCOME_REPLIED));
  ForwarderOptions o = FastOptions();
  o.backoff_base = absl::Seconds(10);
  o.lag_interval = absl::ZeroDuration();
  Forwarder f(*store_, peers_, *fmetrics_, o);
  absl::SleepFor(absl::Milliseconds(50));
  f.RunOnce();
  EXPECT_GE(fmetrics_->lag_seconds.Value(), 0.04);
  EXPECT_LT(fmetrics_->lag_seconds.Value(), 5);
  EXPECT_EQ(fmetrics_->held.Value(), 1);
}

TEST_F(ForwarderTest, LagAndBacklogCountItemsNoForwarderReadYet) {
  // One item held for a retry, two not read yet (batch 1): the lag is the
  // oldest item's age and the backlog counts all three.
  peers_.scoring_script = {absl::UnavailableError("down")};
  MustSubmit(Outcome("msg-1", common::v1::OUTCOME_REPLIED));
  MustSubmit(Outcome("msg-2", common::v1::OUTCOME_REPLIED));
  MustSubmit(Outcome("msg-3", common::v1::OUTCOME_REPLIED));
  ForwarderOptions o = FastOptions();
  o.batch = 1;
  o.max_held = 1;
  o.backoff_base = absl::Seconds(10);
  o.lag_interval = absl::ZeroDuration();
  Forwarder f(*store_, peers_, *fmetrics_, o);
  absl::SleepFor(absl::Milliseconds(50));
  f.RunOnce();
  EXPECT_EQ(f.held(), 1u);
  EXPECT_EQ(fmetrics_->backlog.Value(), 3);
  EXPECT_GE(fmetrics_->lag_seconds.Value(), 0.04);

  auto backlogs = store_->Backlogs({kTenant, "no-stream-yet"});
  ASSERT_TRUE(backlogs.ok()) << backlogs.status();
  ASSERT_EQ(backlogs->size(), 2u);
  EXPECT_EQ((*backlogs)[0].pending, 1);
  EXPECT_EQ((*backlogs)[0].unread, 2);
  ASSERT_TRUE((*backlogs)[0].oldest_pending.has_value());
  ASSERT_TRUE((*backlogs)[0].oldest_unread.has_value());
  EXPECT_LT(*ParseStreamId(*(*backlogs)[0].oldest_pending),
            *ParseStreamId(*(*backlogs)[0].oldest_unread));
  EXPECT_EQ((*backlogs)[1].pending, 0);
  EXPECT_EQ((*backlogs)[1].unread, 0);
}

TEST_F(ForwarderTest, ManyAbandonedEntriesAreReclaimedPassAfterPass) {
  // A crashed replica held 5 entries; with 2 per claim the forwarder claims
  // again in the next pass while batches come back full, not one batch per
  // claim_interval.
  for (int i = 0; i < 5; ++i) {
    MustSubmit(Outcome(absl::StrCat("msg-", i), common::v1::OUTCOME_REPLIED));
  }
  const std::string stream = *FeedbackStore::StreamKey(kTenant);
  ASSERT_TRUE(redis_
                  ->Cli({"XREADGROUP", "GROUP", kForwarderGroup, "crashed",
                         "COUNT", "10", "STREAMS", stream, ">"})
                  .ok());
  ForwarderOptions o = FastOptions();
  o.batch = 2;
  o.claim_idle = absl::Milliseconds(1);
  o.claim_interval = absl::Hours(1);
  Forwarder f(*store_, peers_, *fmetrics_, o);
  absl::SleepFor(absl::Milliseconds(5));
  for (int i = 0; i < 4; ++i) f.RunOnce();
  EXPECT_EQ(peers_.outcomes.size(), 5u);
  EXPECT_EQ(PendingCount(), 0);
}

TEST_F(ForwarderTest, ReplayedDeadLettersAreDeliveredUnderTheirOwnId) {
  // A peer outage longer than the attempts: dead letter.
  for (int i = 0; i < 3; ++i) {
    peers_.scoring_script.push_back(absl::UnavailableError("down"));
  }
  const std::string id =
      MustSubmit(Outcome("msg-1", common::v1::OUTCOME_REPLIED));
  ForwarderOptions o = FastOptions();
  o.max_attempts = 3;
  Forwarder f(*store_, peers_, *fmetrics_, o);
  RunUntil(f, [&] { return Dead().size() == 1; });
  std::vector<DeadLetterRecord> dead = Dead();
  ASSERT_EQ(dead.size(), 1u);
  EXPECT_EQ(PendingCount(), 0);

  // The peer is back; the operator replays.
  auto replay = store_->ReplayDeadLetters(kTenant, {dead[0].entry_id});
  ASSERT_TRUE(replay.ok()) << replay.status();
  EXPECT_EQ(replay->replayed, std::vector<std::string>{id});
  EXPECT_TRUE(replay->missing.empty());
  EXPECT_TRUE(Dead().empty());
  EXPECT_EQ(PendingCount(), 1) << "pending again, for any forwarder";
  // Replaying the same dead letter again finds nothing to do.
  replay = store_->ReplayDeadLetters(kTenant, {dead[0].entry_id});
  ASSERT_TRUE(replay.ok());
  EXPECT_TRUE(replay->replayed.empty());

  RunUntil(f, [&] { return PendingCount() == 0; });
  ASSERT_EQ(peers_.outcomes.size(), 4u);
  EXPECT_EQ(peers_.outcomes.back().feedback_id(), id);
  EXPECT_EQ(peers_.interactions.back().id(), "fb-" + id);
  EXPECT_TRUE(Dead().empty());
  EXPECT_EQ(StreamLength(), 1) << "replayed in place, not appended";
}

TEST_F(ForwarderTest, ADeadLetterWhoseEntryIsGoneStays) {
  peers_.scoring_script = {absl::NotFoundError("no scored message")};
  const std::string id =
      MustSubmit(Outcome("never-scored", common::v1::OUTCOME_REPLIED));
  Forwarder f(*store_, peers_, *fmetrics_, FastOptions());
  f.RunOnce();
  std::vector<DeadLetterRecord> dead = Dead();
  ASSERT_EQ(dead.size(), 1u);
  ASSERT_TRUE(
      redis_->Cli({"XDEL", *FeedbackStore::StreamKey(kTenant), id}).ok());
  auto replay = store_->ReplayDeadLetters(kTenant, {dead[0].entry_id});
  ASSERT_TRUE(replay.ok()) << replay.status();
  EXPECT_TRUE(replay->replayed.empty());
  EXPECT_EQ(replay->missing, std::vector<std::string>{id});
  EXPECT_EQ(Dead().size(), 1u);
  EXPECT_EQ(PendingCount(), 0);

  auto bad = store_->ReplayDeadLetters(kTenant, {"not-an-id"});
  EXPECT_EQ(bad.status().code(), absl::StatusCode::kInvalidArgument);
}

TEST_F(ForwarderTest, DeadLettersPageNewestFirst) {
  for (int i = 0; i < 5; ++i) {
    peers_.scoring_script.push_back(absl::NotFoundError("no such message"));
    MustSubmit(Outcome(absl::StrCat("m-", i), common::v1::OUTCOME_REPLIED));
  }
  Forwarder f(*store_, peers_, *fmetrics_, FastOptions());
  RunUntil(f, [&] { return Dead().size() == 5; });
  std::vector<std::string> seen;
  std::string before;
  for (int page = 0; page < 10; ++page) {
    auto dead = store_->DeadLetters(kTenant, 2, before);
    ASSERT_TRUE(dead.ok()) << dead.status();
    for (const DeadLetterRecord& d : *dead) {
      seen.push_back(d.feedback.subject().message_id());
    }
    if (dead->size() < 2) break;
    before = dead->back().entry_id;
  }
  // The pages, joined, are the whole list (newest dead letter first).
  std::vector<std::string> all;
  for (const DeadLetterRecord& d : Dead()) {
    all.push_back(d.feedback.subject().message_id());
  }
  EXPECT_EQ(seen, all);
  EXPECT_EQ(std::set<std::string>(seen.begin(), seen.end()).size(), 5u);
}

TEST_F(ForwarderTest, CallsOnOneRecordNeverOverlapButOthersDo) {
  // Scoring learns with a compare-and-set on the tenant's model and
  // profile on the contact's record: overlapping calls on one record would
  // conflict. Calls of different lanes run concurrently.
  for (int i = 0; i < 12; ++i) {
    MustSubmit(Outcome(absl::StrCat("m-", i), common::v1::OUTCOME_REPLIED));
  }
  MustSubmit(Insight("c-1", "budget freeze until Q3"));
  SlowPeers slow;
  ForwarderOptions o = FastOptions();
  o.max_in_flight = 8;
  Forwarder f(*store_, slow, *fmetrics_, o);
  RunUntil(f, [&] { return PendingCount() == 0; });
  slow.JoinAll();
  EXPECT_EQ(PendingCount(), 0);
  // One RecordOutcomes for the 12, one RecordInteractions per lane holding
  // c-0, c-1 or c-2 (1 to 3 lanes), the insight.
  EXPECT_GE(slow.calls(), 1 + 1 + 1);
  EXPECT_LE(slow.calls(), 1 + 3 + 1);
  EXPECT_EQ(slow.max_in_one_lane(), 1);
  EXPECT_GE(slow.max_overall(), 2);  // the insight while scoring learns
  EXPECT_LE(slow.max_overall(), 4);
}

TEST_F(ForwarderTest, ABacklogGoesToEachPeerInBatches) {
  std::set<std::string> ids;
  for (int i = 0; i < 25; ++i) {
    ids.insert(MustSubmit(
        Outcome(absl::StrCat("msg-", i), common::v1::OUTCOME_MEETING_BOOKED)));
  }
  ForwarderOptions o = FastOptions();
  o.max_call_batch = 10;
  Forwarder f(*store_, peers_, *fmetrics_, o);
  RunUntil(f, [&] { return PendingCount() == 0 && f.held() == 0; });
  EXPECT_EQ(PendingCount(), 0);
  EXPECT_EQ(peers_.outcome_calls, 3);      // 10 + 10 + 5
  EXPECT_EQ(peers_.interaction_calls, 3);  // all for contact c-1
  ASSERT_EQ(peers_.outcomes.size(), 25u);
  ASSERT_EQ(peers_.interactions.size(), 25u);
  std::set<std::string> delivered;
  for (size_t i = 0; i < peers_.outcomes.size(); ++i) {
    delivered.insert(peers_.outcomes[i].feedback_id());
    EXPECT_EQ(peers_.interactions[i].id(),
              "fb-" + peers_.outcomes[i].feedback_id())
        << "interactions follow the outcomes' order";
  }
  EXPECT_EQ(delivered, ids);
  EXPECT_EQ(Forwarded(ForwarderMetrics::Peer::kScoring,
                      ForwarderMetrics::Result::kOk),
            25);
  EXPECT_EQ(Forwarded(ForwarderMetrics::Peer::kProfile,
                      ForwarderMetrics::Result::kOk),
            25);
}

TEST_F(ForwarderTest, AFailedBatchCallIsRetriedForEveryItemInIt) {
  for (int i = 0; i < 3; ++i) {
    MustSubmit(Outcome(absl::StrCat("msg-", i), common::v1::OUTCOME_REPLIED));
  }
  peers_.scoring_call_script = {absl::UnavailableError("scoring restarting")};
  peers_.profile_call_script = {absl::DeadlineExceededError("slow")};
  Forwarder f(*store_, peers_, *fmetrics_, FastOptions());
  RunUntil(f, [&] { return PendingCount() == 0 && f.held() == 0; });
  EXPECT_EQ(PendingCount(), 0);
  EXPECT_TRUE(Dead().empty());
  // Nothing reached the peers in the failed calls; each item once after.
  EXPECT_EQ(peers_.outcomes.size(), 3u);
  EXPECT_EQ(peers_.interactions.size(), 3u);
  EXPECT_EQ(peers_.outcome_calls, 2);
  EXPECT_EQ(peers_.interaction_calls, 2);
  EXPECT_EQ(Forwarded(ForwarderMetrics::Peer::kScoring,
                      ForwarderMetrics::Result::kRetry),
            3);
  EXPECT_EQ(Forwarded(ForwarderMetrics::Peer::kProfile,
                      ForwarderMetrics::Result::kRetry),
            3);
}

TEST_F(ForwarderTest, OneBadItemInABatchIsDeadLetteredAndTheRestDelivered) {
  MustSubmit(Outcome("msg-0", common::v1::OUTCOME_REPLIED));
  const std::string gone =
      MustSubmit(Outcome("msg-gone", common::v1::OUTCOME_REPLIED));
  MustSubmit(Outcome("msg-2", common::v1::OUTCOME_REPLIED));
  peers_.scoring_script = {absl::OkStatus(),
                           absl::NotFoundError("message_id: no scored message"),
                           absl::OkStatus()};
  Forwarder f(*store_, peers_, *fmetrics_, FastOptions());
  RunUntil(f, [&] { return PendingCount() == 0 && f.held() == 0; });
  EXPECT_EQ(PendingCount(), 0);
  EXPECT_EQ(peers_.outcome_calls, 1);
  const std::vector<DeadLetterRecord> dead = Dead();
  ASSERT_EQ(dead.size(), 1u);
  EXPECT_EQ(dead[0].feedback.id(), gone);
  EXPECT_THAT(dead[0].error, HasSubstr("NOT_FOUND"));
  // The other two went on to profile-service.
  EXPECT_EQ(peers_.interactions.size(), 2u);
}

TEST_F(ForwarderTest, StartAndStopRunTheLoopInTheBackground) {
  ForwarderOptions o = FastOptions();
  o.idle_poll = absl::Milliseconds(20);
  Forwarder f(*store_, peers_, *fmetrics_, o);
  f.Start();
  MustSubmit(Outcome("msg-1", common::v1::OUTCOME_REPLIED));
  // The pending count is 0 before the first read too: wait for delivery.
  for (int i = 0; i < 200; ++i) {
    if (fmetrics_
                ->Forwarded(ForwarderMetrics::Peer::kScoring,
                            ForwarderMetrics::Result::kOk)
                .Value() == 1 &&
        PendingCount() == 0) {
      break;
    }
    absl::SleepFor(absl::Milliseconds(10));
  }
  f.Stop();
  EXPECT_EQ(fmetrics_
                ->Forwarded(ForwarderMetrics::Peer::kScoring,
                            ForwarderMetrics::Result::kOk)
                .Value(),
            1);
  f.Stop();  // idempotent
}

}  // namespace
}  // namespace rapport::feedback::testing
