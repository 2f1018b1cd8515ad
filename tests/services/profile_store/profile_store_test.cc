// profile-service's storage and request logic against a real redis-server.
#include <prometheus/registry.h>

#include <atomic>
#include <memory>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "common/redis/pool.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "services/profile/handler.h"
#include "services/profile/store.h"
#include "tests/support/redis_server.h"

namespace rapport::profile {
namespace {

using ::testing::HasSubstr;

constexpr char kTenant[] = "acme";

google::protobuf::Timestamp Ts(absl::Time t) {
  google::protobuf::Timestamp ts;
  ts.set_seconds(absl::ToUnixSeconds(t));
  return ts;
}

common::v1::Contact Mitch(const std::string& id = "mitch-1") {
  common::v1::Contact c;
  c.set_id(id);
  c.set_full_name("Mitchell Grant");
  c.set_preferred_name("Mitch");
  c.set_email("mitch@example.com");
  c.set_title("VP Sales");
  c.set_company("Acme Logistics");
  c.set_industry("Logistics");
  c.add_priorities("cut onboarding time for new reps");
  return c;
}

// An outbound email to `contact`, sent at `at`.
v1::Interaction EmailSent(const std::string& contact, const std::string& id,
                          absl::Time at) {
  v1::Interaction i;
  i.set_id(id);
  i.set_contact_id(contact);
  i.set_kind(v1::INTERACTION_KIND_EMAIL_SENT);
  i.set_direction(v1::DIRECTION_OUTBOUND);
  *i.mutable_occurred_at() = Ts(at);
  return i;
}

// One "replica": its own pool, store and handler over the shared Redis.
struct Replica {
  Replica(const testing::RedisServer& redis, HandlerOptions options = {}) {
    redis::PoolOptions po;
    po.endpoint = redis.endpoint();
    po.size = 4;
    po.command_timeout = absl::Seconds(2);
    pool = redis::Pool::Create(po);
    store = std::make_unique<ProfileStore>(*pool);
    metrics = std::make_unique<ProfileMetrics>(registry);
    handler = std::make_unique<ProfileHandler>(*store, *metrics, options);
  }
  prometheus::Registry registry;
  std::unique_ptr<redis::Pool> pool;
  std::unique_ptr<ProfileStore> store;
  std::unique_ptr<ProfileMetrics> metrics;
  std::unique_ptr<ProfileHandler> handler;
};

class ProfileStoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    testing::RedisServerOptions options;
    options.appendonly = true;
    auto redis = testing::RedisServer::Start(options);
    ASSERT_TRUE(redis.ok()) << redis.status();
    redis_ = *std::move(redis);
    replica_ = std::make_unique<Replica>(*redis_);
  }

  ProfileHandler& h() { return *replica_->handler; }

  v1::UpsertContactResponse Upsert(const common::v1::Contact& c) {
    v1::UpsertContactRequest req;
    *req.mutable_contact() = c;
    v1::UpsertContactResponse resp;
    const absl::Status st = h().UpsertContact(kTenant, req, &resp);
    EXPECT_TRUE(st.ok()) << st;
    return resp;
  }

  absl::StatusOr<v1::Profile> Get(const std::string& id) {
    v1::GetProfileRequest req;
    req.set_contact_id(id);
    v1::Profile p;
    absl::Status st = h().GetProfile(kTenant, req, &p);
    if (!st.ok()) return st;
    return p;
  }

  absl::StatusOr<v1::RecordInteractionResponse> Touch(
      ProfileHandler& handler, const std::string& contact, int days_ago,
      const std::string& id = "",
      v1::InteractionKind kind = v1::INTERACTION_KIND_EMAIL_SENT) {
    v1::RecordInteractionRequest req;
    v1::Interaction* i = req.mutable_interaction();
    i->set_id(id);
    i->set_contact_id(contact);
    i->set_kind(kind);
    i->set_direction(kind == v1::INTERACTION_KIND_EMAIL_REPLIED
                         ? v1::DIRECTION_INBOUND
                         : v1::DIRECTION_OUTBOUND);
    *i->mutable_occurred_at() = Ts(absl::Now() - absl::Hours(24 * days_ago));
    i->add_topics("rep onboarding");
    v1::RecordInteractionResponse resp;
    absl::Status st = handler.RecordInteraction(kTenant, req, &resp);
    if (!st.ok()) return st;
    return resp;
  }

  std::vector<std::string> AllKeys() {
    std::vector<std::string> keys;
    auto reply = redis_->Cli({"KEYS", "*"});
    EXPECT_TRUE(reply.ok());
    for (const auto& k : reply->elements()) keys.push_back(k.str());
    return keys;
  }

  std::unique_ptr<testing::RedisServer> redis_;
  std::unique_ptr<Replica> replica_;
};

TEST_F(ProfileStoreTest, UpsertCreatesThenBumpsVersionOnlyOnChange) {
  auto first = Upsert(Mitch());
  EXPECT_TRUE(first.created());
  EXPECT_EQ(first.profile().version(), 1);
  EXPECT_EQ(first.profile().address_as(), "Mitch");

  auto same = Upsert(Mitch());
  EXPECT_FALSE(same.created());
  EXPECT_EQ(same.profile().version(), 1)
      << "an identical upsert changes nothing";

  auto c = Mitch();
  c.set_title("CRO");
  auto changed = Upsert(c);
  EXPECT_EQ(changed.profile().version(), 2);
  EXPECT_EQ(changed.profile().contact().title(), "CRO");
  EXPECT_TRUE(changed.profile().contact().has_created_at());
}

TEST_F(ProfileStoreTest, UpdateMaskWritesOnlyNamedFields) {
  Upsert(Mitch());
  v1::UpsertContactRequest req;
  req.mutable_contact()->set_id("mitch-1");
  req.mutable_contact()->set_title("Chief Revenue Officer");
  req.mutable_update_mask()->add_paths("title");
  v1::UpsertContactResponse resp;
  ASSERT_TRUE(h().UpsertContact(kTenant, req, &resp).ok());
  EXPECT_EQ(resp.profile().contact().title(), "Chief Revenue Officer");
  EXPECT_EQ(resp.profile().contact().preferred_name(), "Mitch");
  EXPECT_EQ(resp.profile().contact().priorities_size(), 1);

  req.mutable_update_mask()->add_paths("created_at");
  absl::Status st = h().UpsertContact(kTenant, req, &resp);
  EXPECT_EQ(st.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(st.message(), HasSubstr("update_mask.paths[1]"));
}

TEST_F(ProfileStoreTest, BadInputIsInvalidArgumentNamingTheField) {
  v1::UpsertContactRequest req;
  v1::UpsertContactResponse resp;
  EXPECT_EQ(h().UpsertContact(kTenant, req, &resp).code(),
            absl::StatusCode::kInvalidArgument);
  *req.mutable_contact() = Mitch();
  req.mutable_contact()->set_email("not-an-email");
  absl::Status st = h().UpsertContact(kTenant, req, &resp);
  EXPECT_EQ(st.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(st.message(), HasSubstr("contact.email"));
  req.mutable_contact()->set_email("a@example.com");
  req.mutable_contact()->set_id(std::string(200, 'x'));
  st = h().UpsertContact(kTenant, req, &resp);
  EXPECT_THAT(st.message(), HasSubstr("contact.id"));
  EXPECT_TRUE(AllKeys().empty()) << "nothing stored for refused input";
}

TEST_F(ProfileStoreTest, UnknownContactIsNotFound) {
  EXPECT_EQ(Get("nobody").status().code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(Touch(h(), "nobody", 1).status().code(),
            absl::StatusCode::kNotFound);
  EXPECT_EQ(Get("bad id with spaces").status().code(),
            absl::StatusCode::kInvalidArgument);
}

TEST_F(ProfileStoreTest, InteractionsDeriveTheProfileAndRetriesAreHarmless) {
  Upsert(Mitch());
  for (int d : {1, 2, 4}) ASSERT_TRUE(Touch(h(), "mitch-1", d).ok());
  auto first = Touch(h(), "mitch-1", 0, "crm-activity-9");
  ASSERT_TRUE(first.ok());
  EXPECT_FALSE(first->duplicate());
  auto retry = Touch(h(), "mitch-1", 0, "crm-activity-9");
  ASSERT_TRUE(retry.ok());
  EXPECT_TRUE(retry->duplicate());
  EXPECT_EQ(retry->profile_version(), first->profile_version());

  auto p = Get("mitch-1");
  ASSERT_TRUE(p.ok()) << p.status();
  EXPECT_EQ(p->interaction_count(), 4);
  EXPECT_EQ(p->fatigue().touches_14d(), 4);
  EXPECT_EQ(p->version(), 5);
  ASSERT_GT(p->interests_size(), 0);
}

TEST_F(ProfileStoreTest, ABatchOfInteractionsWritesEachContactOnce) {
  Upsert(Mitch());
  common::v1::Contact ana = Mitch();
  ana.set_id("ana-2");
  Upsert(ana);
  const int64_t mitch_before = Get("mitch-1")->version();
  const int64_t ana_before = Get("ana-2")->version();
  ASSERT_TRUE(Touch(h(), "mitch-1", 9, "ix-seen").ok());
  auto interaction = [](const std::string& contact, const std::string& id,
                        int days_ago) {
    return EmailSent(contact, id, absl::Now() - absl::Hours(24 * days_ago));
  };
  v1::RecordInteractionsRequest batch;
  *batch.add_interactions() = interaction("mitch-1", "ix-1", 1);
  *batch.add_interactions() = interaction("ana-2", "ix-2", 2);
  *batch.add_interactions() = interaction("nobody", "ix-3", 1);
  *batch.add_interactions() = interaction("mitch-1", "ix-seen", 9);
  *batch.add_interactions() = interaction("mitch-1", "", 3);
  v1::Interaction bad = interaction("ana-2", "ix-5", 1);
  bad.clear_occurred_at();
  *batch.add_interactions() = bad;
  *batch.add_interactions() = interaction("ana-2", "ix-6", 4);
  v1::RecordInteractionsResponse resp;
  ASSERT_TRUE(h().RecordInteractions(kTenant, batch, &resp).ok());
  ASSERT_EQ(resp.results_size(), 7);
  // One write per contact: both of mitch's new ones share a version.
  const int64_t mitch = resp.results(0).response().profile_version();
  EXPECT_EQ(mitch, mitch_before + 2);  // the earlier Touch, then the batch
  EXPECT_EQ(resp.results(4).response().profile_version(), mitch);
  EXPECT_FALSE(resp.results(4).response().interaction_id().empty());
  EXPECT_EQ(resp.results(1).response().profile_version(), ana_before + 1);
  EXPECT_EQ(resp.results(6).response().profile_version(), ana_before + 1);
  EXPECT_EQ(resp.results(2).error().code(),
            static_cast<int>(absl::StatusCode::kNotFound));
  EXPECT_THAT(resp.results(2).error().message(), HasSubstr("nobody"));
  EXPECT_TRUE(resp.results(3).response().duplicate());
  EXPECT_EQ(resp.results(5).error().code(),
            static_cast<int>(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(resp.results(5).error().message(),
              HasSubstr("interactions[5].occurred_at"));
  EXPECT_EQ(Get("mitch-1")->interaction_count(), 3);
  EXPECT_EQ(Get("ana-2")->interaction_count(), 2);

  // Repeated whole: nothing new, nothing written.
  v1::RecordInteractionsRequest again;
  *again.add_interactions() = batch.interactions(0);
  *again.add_interactions() = batch.interactions(1);
  ASSERT_TRUE(h().RecordInteractions(kTenant, again, &resp).ok());
  EXPECT_TRUE(resp.results(0).response().duplicate());
  EXPECT_TRUE(resp.results(1).response().duplicate());
  EXPECT_EQ(Get("mitch-1")->version(), mitch);
  EXPECT_EQ(h().RecordInteractions(kTenant, {}, &resp).code(),
            absl::StatusCode::kInvalidArgument);
}

// A contact that another replica changes through every write attempt
// (here: whenever the batch's replica reads its clock, which it does
// between loading a record and its compare-and-set) fails with ABORTED,
// its own interactions only; the other contact's are applied, and a retry
// once the contact is quiet goes through.
TEST_F(ProfileStoreTest, AContactThatKeepsChangingFailsOnlyItsOwnInteractions) {
  Upsert(Mitch());
  Upsert(Mitch("ana-2"));
  std::atomic<bool> racing{false};
  std::atomic<int> raced{0};
  HandlerOptions options;
  options.max_attempts = 3;
  options.now = [&] {
    if (racing.load()) {
      EXPECT_TRUE(Touch(h(), "ana-2", 1).ok());
      raced.fetch_add(1);
    }
    return absl::Now();
  };
  Replica racer(*redis_, options);
  auto interaction = [](const std::string& contact, const std::string& id) {
    return EmailSent(contact, id, absl::Now() - absl::Hours(5));
  };
  v1::RecordInteractionsRequest batch;
  *batch.add_interactions() = interaction("ana-2", "ix-a1");
  *batch.add_interactions() = interaction("mitch-1", "ix-m1");
  *batch.add_interactions() = interaction("ana-2", "ix-a2");
  v1::RecordInteractionsResponse resp;
  racing = true;
  ASSERT_TRUE(racer.handler->RecordInteractions(kTenant, batch, &resp).ok());
  racing = false;
  ASSERT_EQ(resp.results_size(), 3);
  for (int i : {0, 2}) {
    EXPECT_EQ(resp.results(i).error().code(),
              static_cast<int>(absl::StatusCode::kAborted))
        << i;
    EXPECT_THAT(resp.results(i).error().message(),
                HasSubstr("\"ana-2\" changed 3 times"));
  }
  EXPECT_GT(resp.results(1).response().profile_version(), 0);
  EXPECT_EQ(racer.metrics->write_conflicts.Value(), 3);
  EXPECT_GE(raced.load(), 3);
  // Mitch has his interaction; Ana has only the racer's, none of the batch.
  EXPECT_EQ(Get("mitch-1")->interaction_count(), 1);
  EXPECT_EQ(Get("ana-2")->interaction_count(), raced.load());

  v1::RecordInteractionsRequest retry;
  *retry.add_interactions() = batch.interactions(0);
  *retry.add_interactions() = batch.interactions(2);
  ASSERT_TRUE(racer.handler->RecordInteractions(kTenant, retry, &resp).ok());
  EXPECT_FALSE(resp.results(0).has_error());
  EXPECT_FALSE(resp.results(0).response().duplicate());
  EXPECT_EQ(Get("ana-2")->interaction_count(), raced.load() + 2);
}

TEST_F(ProfileStoreTest, ConcurrentReplicasLoseNoUpdate) {
  Upsert(Mitch());
  constexpr int kReplicas = 6;
  constexpr int kWritesEach = 20;
  std::vector<std::unique_ptr<Replica>> replicas;
  for (int r = 0; r < kReplicas; ++r) {
    replicas.push_back(std::make_unique<Replica>(*redis_));
  }
  std::atomic<int> failures{0};
  std::vector<std::thread> threads;
  for (int r = 0; r < kReplicas; ++r) {
    threads.emplace_back([&, r] {
      for (int i = 0; i < kWritesEach; ++i) {
        // ABORTED asks the client to retry (a hot contact); a retry with the
        // same interaction id is idempotent.
        auto res = Touch(*replicas[r]->handler, "mitch-1", 1,
                         absl::StrCat("r", r, "-", i));
        for (int retry = 0;
             retry < 3 && res.status().code() == absl::StatusCode::kAborted;
             ++retry) {
          res = Touch(*replicas[r]->handler, "mitch-1", 1,
                      absl::StrCat("r", r, "-", i));
        }
        if (!res.ok() || res->duplicate()) {
          ADD_FAILURE() << res.status();
          failures++;
        }
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(failures.load(), 0);
  auto p = Get("mitch-1");
  ASSERT_TRUE(p.ok());
  EXPECT_EQ(p->interaction_count(), kReplicas * kWritesEach);
  EXPECT_EQ(p->version(), 1 + kReplicas * kWritesEach);
}

TEST_F(ProfileStoreTest, PagingStaysCorrectWhileContactsComeAndGo) {
  for (int i = 0; i < 30; ++i) Upsert(Mitch(absl::StrCat("c", 100 + i)));
  std::set<std::string> seen;
  v1::ListProfilesRequest req;
  req.set_page_size(7);
  int pages = 0;
  do {
    v1::ListProfilesResponse resp;
    ASSERT_TRUE(h().ListProfiles(kTenant, req, &resp).ok());
    for (const auto& p : resp.profiles()) {
      EXPECT_TRUE(seen.insert(p.contact().id()).second)
          << p.contact().id() << " listed twice";
    }
    // Between pages: one contact deleted ahead, one added ahead and behind.
    v1::DeleteContactRequest del;
    del.set_contact_id(absl::StrCat("c", 129 - pages));
    del.set_allow_missing(true);
    v1::DeleteContactResponse dresp;
    ASSERT_TRUE(h().DeleteContact(kTenant, del, &dresp).ok());
    Upsert(Mitch(absl::StrCat("a", pages)));  // sorts before every "c"
    req.set_page_token(resp.next_page_token());
    ++pages;
  } while (!req.page_token().empty() && pages < 20);
  // Every contact that existed from start to end was listed exactly once.
  for (int i = 0; i < 30 - pages; ++i) {
    EXPECT_TRUE(seen.count(absl::StrCat("c", 100 + i))) << i;
  }
  EXPECT_LT(pages, 20);
}

TEST_F(ProfileStoreTest, FiltersAndTokensAreChecked) {
  auto a = Mitch("a1");
  Upsert(a);
  auto b = Mitch("b1");
  b.set_company("Northwind");
  b.set_do_not_contact(true);
  Upsert(b);
  v1::ListProfilesRequest req;
  req.mutable_filter()->set_company("ACME logistics");
  v1::ListProfilesResponse resp;
  ASSERT_TRUE(h().ListProfiles(kTenant, req, &resp).ok());
  ASSERT_EQ(resp.profiles_size(), 1);
  EXPECT_EQ(resp.profiles(0).contact().id(), "a1");

  req.clear_filter();
  req.mutable_filter()->set_do_not_contact(true);
  resp.Clear();
  ASSERT_TRUE(h().ListProfiles(kTenant, req, &resp).ok());
  ASSERT_EQ(resp.profiles_size(), 1);
  EXPECT_EQ(resp.profiles(0).contact().id(), "b1");

  req.set_page_token("garbage!");
  EXPECT_EQ(h().ListProfiles(kTenant, req, &resp).code(),
            absl::StatusCode::kInvalidArgument);
  v1::ProfileFilter other;
  other.set_company("x");
  req.set_page_token(EncodePageToken("a1", other));
  absl::Status st = h().ListProfiles(kTenant, req, &resp);
  EXPECT_EQ(st.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(st.message(), HasSubstr("different filter"));
}

TEST_F(ProfileStoreTest, DeleteErasesEveryKeyOfTheContact) {
  Upsert(Mitch("erase:me.1@x"));
  Upsert(Mitch("keep-me"));
  ASSERT_TRUE(Touch(h(), "erase:me.1@x", 1).ok());
  v1::DeleteContactRequest del;
  del.set_contact_id("erase:me.1@x");
  v1::DeleteContactResponse resp;
  ASSERT_TRUE(h().DeleteContact(kTenant, del, &resp).ok());
  EXPECT_EQ(resp.deleted_keys(), 1);
  for (const std::string& key : AllKeys()) {
    EXPECT_FALSE(absl::StrContains(key, "erase")) << key;
    auto type = redis_->Cli({"TYPE", key});
    if (type.ok() && type->str() == "zset") {
      auto members = redis_->Cli({"ZRANGE", key, "0", "-1"});
      for (const auto& m : members->elements()) {
        EXPECT_FALSE(absl::StrContains(m.str(), "erase")) << key;
      }
    }
  }
  EXPECT_EQ(Get("erase:me.1@x").status().code(), absl::StatusCode::kNotFound);
  EXPECT_TRUE(Get("keep-me").ok());
  EXPECT_EQ(h().DeleteContact(kTenant, del, &resp).code(),
            absl::StatusCode::kNotFound);
  del.set_allow_missing(true);
  EXPECT_TRUE(h().DeleteContact(kTenant, del, &resp).ok());
}

TEST_F(ProfileStoreTest, TenantsNeverSeeEachOther) {
  Upsert(Mitch());
  v1::GetProfileRequest req;
  req.set_contact_id("mitch-1");
  v1::Profile p;
  EXPECT_EQ(h().GetProfile("other", req, &p).code(),
            absl::StatusCode::kNotFound);
  for (const std::string& key : AllKeys()) {
    EXPECT_TRUE(absl::StartsWith(key, "rapport:{acme}:")) << key;
  }
}

TEST_F(ProfileStoreTest, RedisDownIsUnavailableAndNothingIsHalfWritten) {
  for (int i = 0; i < 5; ++i) Upsert(Mitch(absl::StrCat("k", i)));
  std::atomic<bool> stop{false};
  std::atomic<int> ok{0};
  std::atomic<int> unavailable{0};
  std::thread writer([&] {
    for (int i = 0; !stop; ++i) {
      auto res = Touch(h(), absl::StrCat("k", i % 5), 1);
      if (res.ok()) {
        ok++;
      } else if (res.status().code() == absl::StatusCode::kUnavailable) {
        unavailable++;
      }
    }
  });
  absl::SleepFor(absl::Milliseconds(200));
  ASSERT_TRUE(redis_->Kill().ok());
  absl::SleepFor(absl::Milliseconds(300));
  ASSERT_TRUE(redis_->Restart().ok());
  absl::SleepFor(absl::Milliseconds(500));
  stop = true;
  writer.join();
  EXPECT_GT(ok.load(), 0);
  EXPECT_GT(unavailable.load(), 0) << "calls while Redis was down";
  // Every stored record is whole: its profile parses and carries its version.
  for (int i = 0; i < 5; ++i) {
    const std::string id = absl::StrCat("k", i);
    auto record = replica_->store->Load(kTenant, id);
    ASSERT_TRUE(record.ok()) << record.status();
    ASSERT_TRUE(record->has_value()) << id;
    auto stored = replica_->store->GetProfile(kTenant, id);
    ASSERT_TRUE(stored.ok() && stored->has_value());
    EXPECT_EQ((*stored)->profile.version(), (*record)->version);
    EXPECT_EQ((*stored)->profile.interaction_count(),
              (*record)->history.aggregates.interaction_count());
  }
  auto bad = Touch(h(), "k0", 1);
  EXPECT_TRUE(bad.ok()) << "works again after the restart: " << bad.status();
}

TEST_F(ProfileStoreTest, ImportReportsBadRowsAndStoresTheRest) {
  v1::ImportContactsRequest req;
  *req.add_contacts() = Mitch("good-1");
  auto bad_email = Mitch("bad-1");
  bad_email.set_email("nope");
  *req.add_contacts() = bad_email;
  auto no_id = Mitch("");
  *req.add_contacts() = no_id;
  *req.add_contacts() = Mitch("good-2");
  auto again = Mitch("good-1");
  again.set_title("CRO");
  *req.add_contacts() = again;  // same id twice in one message: last wins
  v1::ImportContactsResponse resp;
  ASSERT_TRUE(h().ImportBatch(kTenant, req, 10, &resp).ok());
  EXPECT_EQ(resp.accepted_count(), 3);
  EXPECT_EQ(resp.created_count(), 2);
  EXPECT_EQ(resp.rejected_count(), 2);
  ASSERT_EQ(resp.rejected_size(), 2);
  EXPECT_EQ(resp.rejected(0).index(), 11);
  EXPECT_EQ(resp.rejected(0).field(), "email");
  EXPECT_EQ(resp.rejected(1).index(), 12);
  EXPECT_EQ(resp.rejected(1).field(), "id");
  auto p = Get("good-1");
  ASSERT_TRUE(p.ok());
  EXPECT_EQ(p->contact().title(), "CRO");
  EXPECT_EQ(Get("bad-1").status().code(), absl::StatusCode::kNotFound);
}

TEST_F(ProfileStoreTest, StaleProfilesAreDerivedAgainOnRead) {
  absl::Time now = absl::Now();
  HandlerOptions options;
  options.now = [&now] { return now; };
  Replica replica(*redis_, options);
  v1::UpsertContactRequest req;
  *req.mutable_contact() = Mitch();
  v1::UpsertContactResponse resp;
  ASSERT_TRUE(replica.handler->UpsertContact(kTenant, req, &resp).ok());
  for (int i = 0; i < 3; ++i) {
    ASSERT_TRUE(Touch(*replica.handler, "mitch-1", 0).ok());
  }
  v1::GetProfileRequest get;
  get.set_contact_id("mitch-1");
  v1::Profile before;
  ASSERT_TRUE(replica.handler->GetProfile(kTenant, get, &before).ok());
  EXPECT_EQ(before.fatigue().touches_14d(), 3);

  now += absl::Hours(24 * 20);  // three weeks of silence
  v1::Profile after;
  ASSERT_TRUE(replica.handler->GetProfile(kTenant, get, &after).ok());
  EXPECT_EQ(after.fatigue().touches_14d(), 0);
  EXPECT_GT(after.version(), before.version());
  v1::Profile again;
  ASSERT_TRUE(replica.handler->GetProfile(kTenant, get, &again).ok());
  EXPECT_EQ(again.version(), after.version());
}

TEST_F(ProfileStoreTest, AnUnsubscribeOutlivesACrmSyncThatSaysOtherwise) {
  Upsert(Mitch());
  v1::RecordInteractionRequest req;
  v1::Interaction* i = req.mutable_interaction();
  i->set_contact_id("mitch-1");
  i->set_kind(v1::INTERACTION_KIND_EMAIL_REPLIED);
  i->set_direction(v1::DIRECTION_INBOUND);
  i->set_outcome(common::v1::OUTCOME_UNSUBSCRIBED);
  *i->mutable_occurred_at() = Ts(absl::Now() - absl::Hours(1));
  v1::RecordInteractionResponse resp;
  ASSERT_TRUE(h().RecordInteraction(kTenant, req, &resp).ok());
  auto synced = Upsert(Mitch());  // do_not_contact false in the CRM
  EXPECT_TRUE(synced.profile().contact().do_not_contact());
  EXPECT_FALSE(synced.profile().contact().do_not_contact_reason().empty());
}

TEST_F(ProfileStoreTest, InsightsUpdateTheContactOnce) {
  Upsert(Mitch());
  v1::RecordInsightRequest req;
  auto* insight = req.mutable_insight();
  insight->set_contact_id("mitch-1");
  insight->set_kind(common::v1::INSIGHT_KIND_CHALLENGE);
  insight->set_text("rep churn in EMEA");
  insight->set_source_feedback_id("fb-1");
  v1::RecordInsightResponse resp;
  ASSERT_TRUE(h().RecordInsight(kTenant, req, &resp).ok());
  EXPECT_FALSE(resp.duplicate());
  ASSERT_TRUE(h().RecordInsight(kTenant, req, &resp).ok());
  EXPECT_TRUE(resp.duplicate());
  auto p = Get("mitch-1");
  ASSERT_TRUE(p.ok());
  EXPECT_THAT(p->contact().challenges(),
              ::testing::Contains("rep churn in EMEA"));
}

}  // namespace
}  // namespace rapport::profile
