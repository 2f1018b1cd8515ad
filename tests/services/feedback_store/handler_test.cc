// SubmitFeedback, ListFeedback, GetDigest and WatchFeedback's preparation
// against a real redis-server.
#include <atomic>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "common/util/util.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "services/feedback/validate.h"
#include "tests/services/feedback_store/fixture.h"

namespace rapport::feedback::testing {
namespace {

using ::testing::HasSubstr;

class HandlerTest : public FeedbackFixture {
 protected:
  absl::StatusOr<v1::ListFeedbackResponse> List(
      const v1::FeedbackFilter& filter, int page_size = 0,
      const std::string& token = "") {
    v1::ListFeedbackRequest req;
    *req.mutable_filter() = filter;
    req.set_page_size(page_size);
    req.set_page_token(token);
    v1::ListFeedbackResponse resp;
    absl::Status st = handler_->ListFeedback(kTenant, req, &resp);
    if (!st.ok()) return st;
    return resp;
  }

  // Every matching id, following tokens.
  std::vector<std::string> ListAll(const v1::FeedbackFilter& filter,
                                   int page_size, int* pages = nullptr) {
    std::vector<std::string> ids;
    std::string token;
    int n = 0;
    do {
      auto page = List(filter, page_size, token);
      EXPECT_TRUE(page.ok()) << page.status();
      if (!page.ok()) break;
      for (const v1::Feedback& f : page->items()) ids.push_back(f.id());
      token = page->next_page_token();
      ++n;
    } while (!token.empty() && n < 1000);
    if (pages != nullptr) *pages = n;
    return ids;
  }
};

TEST_F(HandlerTest, SubmitStoresFlaggedItemWithWarningsAndAnswersTheId) {
  auto r = Submit(Note(common::v1::TEAM_SALES, common::v1::TEAM_MARKETING,
                       "Marketing's leads are garbage, they are clueless "
                       "turkeys."));
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_TRUE(ParseStreamId(r->feedback_id()).has_value());
  EXPECT_TRUE(r->flagged());
  ASSERT_GE(r->warnings_size(), 2);
  EXPECT_EQ(r->warnings(0).field(), "note.text");
  EXPECT_FALSE(r->duplicate());
  EXPECT_EQ(FromProto(r->created_at()),
            ParseStreamId(r->feedback_id())->time());

  // Stored as answered: nothing is censored, the flag and warnings are kept.
  auto listed = List({});
  ASSERT_TRUE(listed.ok());
  ASSERT_EQ(listed->items_size(), 1);
  const v1::Feedback& stored = listed->items(0);
  EXPECT_EQ(stored.id(), r->feedback_id());
  EXPECT_TRUE(stored.flagged());
  EXPECT_EQ(stored.warnings_size(), r->warnings_size());
  EXPECT_THAT(stored.note().text(), HasSubstr("clueless turkeys"));

  // Counted by team and kind, and as a respect flag sales -> marketing.
  EXPECT_EQ(metrics_->Submitted(common::v1::TEAM_SALES, v1::FEEDBACK_KIND_NOTE)
                .Value(),
            1);
  EXPECT_EQ(
      metrics_->RespectFlag(common::v1::TEAM_SALES, common::v1::TEAM_MARKETING)
          .Value(),
      1);
  // The tenant is known to forwarders.
  auto members = redis_->Cli({"SMEMBERS", kTenantsKey});
  ASSERT_TRUE(members.ok());
  ASSERT_EQ(members->elements().size(), 1u);
  EXPECT_EQ(members->elements()[0].str(), kTenant);
}

TEST_F(HandlerTest, IdempotentRetryStoresOnceAndAnswersTheOriginal) {
  v1::Feedback first = Note(common::v1::TEAM_SALES, common::v1::TEAM_OPS,
                            "The CRM sync is clueless about territories.");
  first.set_idempotency_key("crm-note-42");
  auto a = Submit(first);
  ASSERT_TRUE(a.ok()) << a.status();
  EXPECT_FALSE(a->duplicate());

  // A retry with the same key, even with other content, stores nothing.
  v1::Feedback retry = Note(common::v1::TEAM_SALES, common::v1::TEAM_OPS,
                            "something else entirely");
  retry.set_idempotency_key("crm-note-42");
  auto b = Submit(retry);
  ASSERT_TRUE(b.ok()) << b.status();
  EXPECT_TRUE(b->duplicate());
  EXPECT_EQ(b->feedback_id(), a->feedback_id());
  EXPECT_EQ(b->warnings_size(), a->warnings_size());
  EXPECT_TRUE(b->flagged());
  EXPECT_EQ(StreamLength(), 1);
  EXPECT_EQ(metrics_->duplicates.Value(), 1);

  // The key's TTL is the 7 days of the contract.
  auto ttl = redis_->Cli({"TTL", "rapport:{acme}:fb:idem:crm-note-42"});
  ASSERT_TRUE(ttl.ok());
  EXPECT_GT(ttl->integer(), 7 * 86400 - 60);
  EXPECT_LE(ttl->integer(), 7 * 86400);
}

TEST_F(HandlerTest, ConcurrentRetriesOfOneKeyStoreExactlyOnce) {
  v1::Feedback f = Outcome("msg-1", common::v1::OUTCOME_REPLIED);
  f.set_idempotency_key("retry-storm");
  std::vector<std::thread> threads;
  threads.reserve(16);
  std::vector<std::string> ids(16);
  std::atomic<int> duplicates = 0;
  for (int i = 0; i < 16; ++i) {
    threads.emplace_back([&, i] {
      auto r = Submit(f);
      ASSERT_TRUE(r.ok()) << r.status();
      ids[i] = r->feedback_id();
      if (r->duplicate()) ++duplicates;
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(std::set<std::string>(ids.begin(), ids.end()).size(), 1u);
  EXPECT_EQ(duplicates.load(), 15);
  EXPECT_EQ(StreamLength(), 1);
}

TEST_F(HandlerTest, ValidateOnlyChecksWithoutStoring) {
  v1::SubmitFeedbackRequest req;
  *req.mutable_feedback() = Review("tpl-1", 2, "written by idiots");
  req.set_validate_only(true);
  v1::SubmitFeedbackResponse resp;
  ASSERT_TRUE(handler_->SubmitFeedback(Writer(), req, &resp).ok());
  EXPECT_TRUE(resp.feedback_id().empty());
  EXPECT_TRUE(resp.flagged());
  EXPECT_EQ(resp.warnings(0).field(), "review.comment");
  auto exists = redis_->Cli({"EXISTS", *FeedbackStore::StreamKey(kTenant)});
  EXPECT_EQ(exists->integer(), 0);
}

TEST_F(HandlerTest, RedisDownIsUnavailableAndNothingIsStored) {
  MustSubmit(Outcome("msg-1", common::v1::OUTCOME_REPLIED));
  ASSERT_TRUE(redis_->Kill().ok());
  v1::Feedback f = Outcome("msg-2", common::v1::OUTCOME_REPLIED);
  f.set_idempotency_key("while-down");
  for (int i = 0; i < 3; ++i) {
    auto r = Submit(f);
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.status().code(), absl::StatusCode::kUnavailable) << r.status();
  }
  ASSERT_TRUE(redis_->Restart().ok());
  EXPECT_EQ(StreamLength(), 1) << "only the acknowledged item survived";
  // The client's retry after the outage stores the item once.
  auto r = Submit(f);
  for (int i = 0; i < 50 && !r.ok(); ++i) {  // the pool redials with backoff
    absl::SleepFor(absl::Milliseconds(50));
    r = Submit(f);
  }
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_FALSE(r->duplicate());
  EXPECT_TRUE(Submit(f)->duplicate());
  EXPECT_EQ(StreamLength(), 2);
}

TEST_F(HandlerTest, AFlushedScriptCacheIsRefilledOnBothWritePaths) {
  // Redis restarted without its script cache (or SCRIPT FLUSH): EVALSHA
  // answers NOSCRIPT, which means nothing ran, and the submit is sent again
  // with the script's source, through the AsyncClient and through the pool.
  MustSubmit(Outcome("msg-1", common::v1::OUTCOME_REPLIED));
  ASSERT_TRUE(redis_->Cli({"SCRIPT", "FLUSH"}).ok());
  v1::Feedback f = Outcome("msg-2", common::v1::OUTCOME_REPLIED);
  f.set_idempotency_key("after-flush");
  auto r = Submit(f);
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_FALSE(r->duplicate());
  ASSERT_TRUE(redis_->Cli({"SCRIPT", "FLUSH"}).ok());
  auto blocking = store_->Append(kTenant, f, f.idempotency_key());
  ASSERT_TRUE(blocking.ok()) << blocking.status();
  EXPECT_TRUE(blocking->duplicate);
  EXPECT_EQ(blocking->entry.id, r->feedback_id());
  EXPECT_EQ(StreamLength(), 2);
}

TEST_F(HandlerTest, AuthorTeamMustMatchTheKeysTeamAndReadersCannotWrite) {
  auto r = Submit(
      Outcome("m", common::v1::OUTCOME_REPLIED, common::v1::TEAM_MARKETING),
      Writer("SALES"));
  EXPECT_EQ(r.status().code(), absl::StatusCode::kPermissionDenied);
  EXPECT_THAT(std::string(r.status().message()),
              HasSubstr("feedback.author.team"));
  EXPECT_TRUE(
      Submit(Outcome("m", common::v1::OUTCOME_REPLIED), Writer("SALES")).ok());
  auth::Principal reader = Writer();
  reader.role = auth::kRoleReader;
  EXPECT_EQ(
      Submit(Outcome("m", common::v1::OUTCOME_REPLIED), reader).status().code(),
      absl::StatusCode::kPermissionDenied);
  EXPECT_EQ(StreamLength(), 1);
}

TEST_F(HandlerTest, BadInputIsRefusedBeforeAnyWrite) {
  v1::SubmitFeedbackRequest req;
  v1::SubmitFeedbackResponse resp;
  absl::Status st = handler_->SubmitFeedback(Writer(), req, &resp);
  EXPECT_EQ(st.code(), absl::StatusCode::kInvalidArgument);
  *req.mutable_feedback() = Review("tpl", 9);
  st = handler_->SubmitFeedback(Writer(), req, &resp);
  EXPECT_EQ(st.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(st.message(), "feedback.review.rating: 9 is not between 1 and 5");
  auto keys = redis_->Cli({"DBSIZE"});
  EXPECT_EQ(keys->integer(), 0);
}

TEST_F(HandlerTest, ListIsNewestFirstAndPagesCoverEverythingOnce) {
  std::vector<std::string> ids;
  ids.reserve(23);
  for (int i = 0; i < 23; ++i) {
    ids.push_back(MustSubmit(
        i % 3 == 0 ? Review("tpl-" + std::to_string(i % 2), 1 + i % 5)
                   : Outcome("msg-" + std::to_string(i),
                             common::v1::OUTCOME_NO_REPLY)));
  }
  int pages = 0;
  std::vector<std::string> listed = ListAll({}, 5, &pages);
  std::vector<std::string> newest_first(ids.rbegin(), ids.rend());
  EXPECT_EQ(listed, newest_first);
  EXPECT_EQ(pages, 5);  // 5+5+5+5+3

  v1::FeedbackFilter reviews;
  reviews.set_kind(v1::FEEDBACK_KIND_REVIEW);
  std::vector<std::string> expected;
  for (int i = 22; i >= 0; --i) {
    if (i % 3 == 0) expected.push_back(ids[i]);
  }
  EXPECT_EQ(ListAll(reviews, 2), expected);

  v1::FeedbackFilter one;
  one.mutable_subject()->set_message_id("msg-7");
  EXPECT_EQ(ListAll(one, 10), std::vector<std::string>{ids[7]});

  // A token only works with the filter it was issued for.
  auto page = List(reviews, 2);
  ASSERT_TRUE(page.ok());
  ASSERT_FALSE(page->next_page_token().empty());
  auto other = List({}, 2, page->next_page_token());
  EXPECT_EQ(other.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(other.status().message()),
              HasSubstr("different filter"));
  EXPECT_EQ(List({}, 2, "garbage!").status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(List({}, -1).status().code(), absl::StatusCode::kInvalidArgument);
}

TEST_F(HandlerTest, ListTimeRangeIsStartInclusiveEndExclusive) {
  std::vector<std::string> ids;
  for (int i = 0; i < 4; ++i) {
    ids.push_back(MustSubmit(Outcome("m", common::v1::OUTCOME_REPLIED)));
    absl::SleepFor(absl::Milliseconds(3));
  }
  const absl::Time t1 = ParseStreamId(ids[1])->time();
  const absl::Time t3 = ParseStreamId(ids[3])->time();
  v1::FeedbackFilter filter;
  *filter.mutable_start_time() = util::ToTimestamp(t1);
  *filter.mutable_end_time() = util::ToTimestamp(t3);
  EXPECT_EQ(ListAll(filter, 10), (std::vector<std::string>{ids[2], ids[1]}));
  // Sub-millisecond bounds: just after t1 excludes item 1.
  *filter.mutable_start_time() = util::ToTimestamp(t1 + absl::Microseconds(1));
  EXPECT_EQ(ListAll(filter, 10), (std::vector<std::string>{ids[2]}));
}

TEST_F(HandlerTest, SparseFiltersAnswerShortPagesWithinTheScanBudget) {
  HandlerOptions options;
  options.list_scan_budget = 100;
  FeedbackHandler handler(*store_, *metrics_, DefaultChecker(), options);
  handler_ = nullptr;  // use the local one below
  auto submit = [&](const v1::Feedback& f) {
    v1::SubmitFeedbackRequest req;
    *req.mutable_feedback() = f;
    v1::SubmitFeedbackResponse resp;
    EXPECT_TRUE(handler.SubmitFeedback(Writer(), req, &resp).ok());
    return resp.feedback_id();
  };
  const std::string wanted = submit(Review("rare", 5));
  for (int i = 0; i < 450; ++i) {
    submit(Outcome("m", common::v1::OUTCOME_NO_REPLY));
  }
  v1::ListFeedbackRequest req;
  req.mutable_filter()->mutable_subject()->set_template_id("rare");
  int calls = 0;
  std::vector<std::string> found;
  do {
    v1::ListFeedbackResponse resp;
    ASSERT_TRUE(handler.ListFeedback(kTenant, req, &resp).ok());
    for (const auto& f : resp.items()) found.push_back(f.id());
    req.set_page_token(resp.next_page_token());
    ++calls;
  } while (!req.page_token().empty() && calls < 50);
  EXPECT_EQ(found, std::vector<std::string>{wanted});
  EXPECT_GE(calls, 3) << "each call examines a bounded number of entries";
}

TEST_F(HandlerTest, DigestOverKnownDataWithEnrichments) {
  // 6 outcomes by SALES: 4 on template A (rule r1 fired on 2), 2 on B.
  struct Row {
    const char* message;
    common::v1::Outcome outcome;
    const char* tpl;
    bool r1;
  };
  const Row rows[] = {
      {"m1", common::v1::OUTCOME_MEETING_BOOKED, "A", true},
      {"m2", common::v1::OUTCOME_NO_REPLY, "A", true},
      {"m3", common::v1::OUTCOME_REPLIED, "A", false},
      {"m4", common::v1::OUTCOME_POSITIVE_REPLY, "A", false},
      {"m5", common::v1::OUTCOME_BOUNCED, "B", false},
      {"m6", common::v1::OUTCOME_UNSUBSCRIBED, "B", false},
  };
  std::vector<std::pair<std::string, store::OutcomeEnrichment>> enrich;
  for (const Row& row : rows) {
    const std::string id = MustSubmit(Outcome(row.message, row.outcome));
    store::OutcomeEnrichment e;
    e.set_message_id(row.message);
    e.set_template_id(row.tpl);
    e.set_campaign_id("q3");
    if (row.r1) e.add_fired_rule_ids("r1");
    enrich.emplace_back(id, e);
  }
  ASSERT_TRUE(store_->PutOutcomes(kTenant, enrich).ok());
  MustSubmit(Review("A", 4, "good opener"));
  MustSubmit(Review("A", 2));
  MustSubmit(Note(common::v1::TEAM_MARKETING, common::v1::TEAM_SALES,
                  "Thanks for the call notes"));
  MustSubmit(
      Outcome("mx", common::v1::OUTCOME_REPLIED, common::v1::TEAM_MARKETING));

  v1::GetDigestRequest req;
  req.set_team(common::v1::TEAM_SALES);
  v1::Digest d;
  ASSERT_TRUE(handler_->GetDigest(kTenant, req, &d).ok());
  // 6 reports, 1 bounce: delivered 5; welcome m1, m3, m4 = 3/5.
  EXPECT_EQ(d.outcomes().total(), 6);
  EXPECT_DOUBLE_EQ(d.outcomes().reply_rate(), 0.6);
  EXPECT_DOUBLE_EQ(d.outcomes().meeting_rate(), 0.2);
  EXPECT_DOUBLE_EQ(d.outcomes().unsubscribe_rate(), 0.2);
  EXPECT_DOUBLE_EQ(d.outcomes().bounce_rate(), 1.0 / 6);
  ASSERT_EQ(d.templates_size(), 2);
  EXPECT_EQ(d.templates(0).id(), "A");  // 3/4 beats B's 0/1
  EXPECT_DOUBLE_EQ(d.templates(0).stats().reply_rate(), 0.75);
  ASSERT_EQ(d.campaigns_size(), 1);
  EXPECT_EQ(d.campaigns(0).stats().total(), 6);
  EXPECT_EQ(d.reviews().count(), 2);
  EXPECT_DOUBLE_EQ(d.reviews().mean_rating(), 3.0);
  ASSERT_EQ(d.notes_size(), 1);
  EXPECT_EQ(d.notes(0).note().text(), "Thanks for the call notes");
  EXPECT_EQ(FromProto(d.end_time()) - FromProto(d.start_time()),
            absl::Hours(24 * 7));

  // Periods: at most 92 days, start before end.
  *req.mutable_start_time() =
      util::ToTimestamp(absl::Now() - absl::Hours(24 * 93));
  EXPECT_EQ(handler_->GetDigest(kTenant, req, &d).code(),
            absl::StatusCode::kInvalidArgument);
  *req.mutable_start_time() = util::ToTimestamp(absl::Now() + absl::Hours(1));
  EXPECT_EQ(handler_->GetDigest(kTenant, req, &d).code(),
            absl::StatusCode::kInvalidArgument);
  // A period before anything was stored is empty, not an error.
  *req.mutable_start_time() = util::ToTimestamp(absl::Now() - absl::Hours(48));
  *req.mutable_end_time() = util::ToTimestamp(absl::Now() - absl::Hours(24));
  ASSERT_TRUE(handler_->GetDigest(kTenant, req, &d).ok());
  EXPECT_EQ(d.outcomes().total(), 0);
  EXPECT_EQ(d.counts_size(), 0);
}

TEST_F(HandlerTest, WatchStartIsValidated) {
  v1::WatchFeedbackRequest req;
  auto start = handler_->PrepareWatch(kTenant, req);
  ASSERT_TRUE(start.ok()) << start.status();
  EXPECT_EQ(start->after_id, "0-0");  // empty stream: everything is new
  const std::string id = MustSubmit(Outcome("m", common::v1::OUTCOME_REPLIED));
  EXPECT_EQ(handler_->PrepareWatch(kTenant, req)->after_id, id);

  req.set_start_after_id("not-an-id");
  EXPECT_EQ(handler_->PrepareWatch(kTenant, req).status().code(),
            absl::StatusCode::kInvalidArgument);
  req.set_start_after_id("1000-0");  // 1970: older than the retention
  EXPECT_EQ(handler_->PrepareWatch(kTenant, req).status().code(),
            absl::StatusCode::kFailedPrecondition);
  req.set_start_after_id(id);
  EXPECT_EQ(handler_->PrepareWatch(kTenant, req)->after_id, id);
  *req.mutable_filter()->mutable_start_time() = util::ToTimestamp(absl::Now());
  EXPECT_EQ(handler_->PrepareWatch(kTenant, req).status().code(),
            absl::StatusCode::kInvalidArgument);
}

TEST_F(HandlerTest, TenantsNeverSeeEachOther) {
  MustSubmit(Outcome("m", common::v1::OUTCOME_REPLIED));
  auth::Principal other = Writer();
  other.tenant = "globex";
  ASSERT_TRUE(Submit(Outcome("m", common::v1::OUTCOME_NO_REPLY), other).ok());
  v1::ListFeedbackRequest req;
  v1::ListFeedbackResponse resp;
  ASSERT_TRUE(handler_->ListFeedback("globex", req, &resp).ok());
  ASSERT_EQ(resp.items_size(), 1);
  EXPECT_EQ(resp.items(0).outcome().outcome(), common::v1::OUTCOME_NO_REPLY);
  EXPECT_EQ(StreamLength("acme"), 1);
  EXPECT_EQ(StreamLength("globex"), 1);
}

}  // namespace
}  // namespace rapport::feedback::testing
