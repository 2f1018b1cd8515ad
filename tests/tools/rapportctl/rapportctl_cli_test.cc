// Drives the real rapportctl binary against an in-process fake
// ProfileService: what is sent over the wire (update masks, batches, enum
// values), what is printed, and the exit codes. The fake answers by the
// proto contract; the real service is covered by its own tests.

#include <grpcpp/grpcpp.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "rapport/profile/v1/profile.grpc.pb.h"

namespace rapport::ctl {
namespace {

namespace pb = rapport::profile::v1;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::Not;
using ::testing::SizeIs;

class FakeProfileService final : public pb::ProfileService::Service {
 public:
  grpc::Status UpsertContact(grpc::ServerContext* /*ctx*/,
                             const pb::UpsertContactRequest* request,
                             pb::UpsertContactResponse* response) override {
    std::lock_guard<std::mutex> lock(mu_);
    upserts_.push_back(*request);
    const bool created = !profiles_.contains(request->contact().id());
    if (created && request->contact().full_name().empty()) {
      return {grpc::StatusCode::INVALID_ARGUMENT,
              "contact.full_name: required for a new contact"};
    }
    *response->mutable_profile() = Store(request->contact());
    response->set_created(created);
    return grpc::Status::OK;
  }

  grpc::Status ImportContacts(
      grpc::ServerContext* /*ctx*/,
      grpc::ServerReader<pb::ImportContactsRequest>* reader,
      pb::ImportContactsResponse* response) override {
    pb::ImportContactsRequest request;
    int index = 0;
    while (reader->Read(&request)) {
      std::lock_guard<std::mutex> lock(mu_);
      imports_.push_back(request);
      for (const auto& contact : request.contacts()) {
        if (!absl::StrContains(contact.email(), '@')) {
          pb::RejectedContact* r = response->add_rejected();
          r->set_index(index);
          r->set_contact_id(contact.id());
          r->set_field("email");
          r->set_reason("not an email address");
          response->set_rejected_count(response->rejected_count() + 1);
        } else {
          if (!profiles_.contains(contact.id())) {
            response->set_created_count(response->created_count() + 1);
          }
          Store(contact);
          response->set_accepted_count(response->accepted_count() + 1);
        }
        ++index;
      }
    }
    return grpc::Status::OK;
  }

  grpc::Status GetProfile(grpc::ServerContext* /*ctx*/,
                          const pb::GetProfileRequest* request,
                          pb::Profile* response) override {
    std::lock_guard<std::mutex> lock(mu_);
    const auto it = profiles_.find(request->contact_id());
    if (it == profiles_.end()) {
      return {grpc::StatusCode::NOT_FOUND,
              absl::StrCat("contact \"", request->contact_id(),
                           "\" does not exist")};
    }
    *response = it->second;
    return grpc::Status::OK;
  }

  grpc::Status RecordInteraction(
      grpc::ServerContext* /*ctx*/, const pb::RecordInteractionRequest* request,
      pb::RecordInteractionResponse* response) override {
    std::lock_guard<std::mutex> lock(mu_);
    const pb::Interaction& in = request->interaction();
    const auto it = profiles_.find(in.contact_id());
    if (it == profiles_.end()) {
      return {grpc::StatusCode::NOT_FOUND,
              absl::StrCat("contact \"", in.contact_id(), "\" does not exist")};
    }
    response->set_interaction_id(in.id().empty() ? "assigned-1" : in.id());
    if (!in.id().empty() && interaction_ids_.contains(in.id())) {
      response->set_duplicate(true);
    } else {
      interaction_ids_[in.id()] = in;
      it->second.set_version(it->second.version() + 1);
      it->second.set_interaction_count(it->second.interaction_count() + 1);
    }
    response->set_profile_version(it->second.version());
    return grpc::Status::OK;
  }

  grpc::Status ListProfiles(grpc::ServerContext* /*ctx*/,
                            const pb::ListProfilesRequest* request,
                            pb::ListProfilesResponse* response) override {
    std::lock_guard<std::mutex> lock(mu_);
    list_requests_.push_back(*request);
    const int page_size = request->page_size() == 0 ? 50 : request->page_size();
    for (auto it = profiles_.upper_bound(request->page_token());
         it != profiles_.end(); ++it) {
      if (!request->filter().company().empty() &&
          it->second.contact().company() != request->filter().company()) {
        continue;
      }
      if (response->profiles_size() == page_size) {
        response->set_next_page_token(
            response->profiles().rbegin()->contact().id());
        break;
      }
      *response->add_profiles() = it->second;
    }
    return grpc::Status::OK;
  }

  grpc::Status DeleteContact(grpc::ServerContext* /*ctx*/,
                             const pb::DeleteContactRequest* request,
                             pb::DeleteContactResponse* response) override {
    std::lock_guard<std::mutex> lock(mu_);
    if (profiles_.erase(request->contact_id()) == 0) {
      if (request->allow_missing()) return grpc::Status::OK;
      return {grpc::StatusCode::NOT_FOUND, "no such contact"};
    }
    response->set_deleted_keys(3);
    return grpc::Status::OK;
  }

  std::vector<pb::ImportContactsRequest> imports() {
    std::lock_guard<std::mutex> lock(mu_);
    return imports_;
  }
  std::vector<pb::UpsertContactRequest> upserts() {
    std::lock_guard<std::mutex> lock(mu_);
    return upserts_;
  }
  std::map<std::string, pb::Interaction> interactions() {
    std::lock_guard<std::mutex> lock(mu_);
    return interaction_ids_;
  }
  std::vector<pb::ListProfilesRequest> list_requests() {
    std::lock_guard<std::mutex> lock(mu_);
    return list_requests_;
  }

 private:
  pb::Profile Store(const rapport::common::v1::Contact& contact) {
    pb::Profile& p = profiles_[contact.id()];
    *p.mutable_contact() = contact;
    p.set_version(p.version() + 1);
    p.set_address_as(
        contact.preferred_name().empty()
            ? contact.full_name().substr(0, contact.full_name().find(' '))
            : contact.preferred_name());
    p.set_stage(rapport::common::v1::BUYING_STAGE_UNKNOWN);
    p.mutable_responsiveness()->set_reply_rate(0.05);
    p.mutable_responsiveness()->set_prior_reply_rate(0.05);
    if (contact.priorities().empty()) {
      auto* gap = p.add_knowledge_gaps();
      gap->set_code(pb::KNOWLEDGE_GAP_CODE_NO_PRIORITIES);
      gap->set_description("no stated priorities yet: do your homework first");
    }
    return p;
  }

  std::mutex mu_;
  std::map<std::string, pb::Profile> profiles_;
  std::map<std::string, pb::Interaction> interaction_ids_;
  std::vector<pb::ImportContactsRequest> imports_;
  std::vector<pb::UpsertContactRequest> upserts_;
  std::vector<pb::ListProfilesRequest> list_requests_;
};

struct CtlResult {
  int exit_code = -1;
  std::string out;
  std::string err;
};

class RapportctlTest : public ::testing::Test {
 protected:
  void SetUp() override {
    grpc::ServerBuilder builder;
    builder.AddListeningPort("127.0.0.1:0", grpc::InsecureServerCredentials(),
                             &port_);
    builder.RegisterService(&service_);
    server_ = builder.BuildAndStart();
    ASSERT_NE(server_, nullptr);
    ASSERT_GT(port_, 0);
    dir_ = ::testing::TempDir();
  }
  void TearDown() override { server_->Shutdown(); }

  // Runs rapportctl with `args` (shell words, already quoted) against the
  // fake.
  CtlResult Ctl(const std::string& args) {
    const std::string err_file =
        absl::StrCat(dir_, "/rapportctl_stderr_", getpid(), ".txt");
    const std::string cmd = absl::StrCat(
        "env -u RAPPORT_API_KEY -u RAPPORT_TLS_CA_FILE ", RAPPORTCTL_PATH, " ",
        args, " --target 127.0.0.1:", port_, " 2>", err_file);
    CtlResult run;
    FILE* pipe = popen(cmd.c_str(), "r");
    if (pipe == nullptr) return run;
    char buf[4096];
    size_t n = 0;
    while ((n = fread(buf, 1, sizeof(buf), pipe)) > 0) run.out.append(buf, n);
    const int status = pclose(pipe);
    run.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
    std::ifstream err(err_file);
    run.err.assign(std::istreambuf_iterator<char>(err),
                   std::istreambuf_iterator<char>());
    return run;
  }

  std::string WriteFile(const std::string& name, const std::string& text) {
    std::string path = absl::StrCat(dir_, "/", getpid(), "_", name);
    std::ofstream(path, std::ios::binary) << text;
    return path;
  }

  FakeProfileService service_;
  std::unique_ptr<grpc::Server> server_;
  int port_ = 0;
  std::string dir_;
};

TEST_F(RapportctlTest, ImportCsvReportsEveryRejectedRowByLine) {
  const std::string csv = WriteFile(
      "contacts.csv",
      "\xEF\xBB\xBF"
      "Contact ID,First Name,Last Name,Email,Email Opt Out,Priorities\r\n"
      "c1,Mitchell,Grant,mitch@example.com,0,cut onboarding time\r\n"
      "c2,\"Two\r\nLines\",X,not-an-email,0,\r\n"
      "c3,Ragged\r\n"
      "c4,Jon,Baptiste,jon@example.com,1,\r\n"
      "c5,Kate,Okafor,kate@example.org,,\"a, b; c\"\r\n");
  const CtlResult run = Ctl(absl::StrCat("import-csv ", csv, " --batch 2"));
  EXPECT_EQ(run.exit_code, 1) << run.err;
  EXPECT_THAT(run.out,
              HasSubstr("row 2 (line 3): email: not an email address"));
  EXPECT_THAT(run.out, HasSubstr("row 3 (line 5): expected 6 fields"));
  EXPECT_THAT(run.out, HasSubstr("5 rows; accepted 3 (3 created, 0 updated); "
                                 "rejected 2 (1 by the server, 1 here)"));
  // Rows 1-2 fill a batch; the opt-out (another mask) goes alone; row 5
  // starts a new batch. One stream carries them all.
  const auto imports = service_.imports();
  ASSERT_THAT(imports, SizeIs(3));
  EXPECT_EQ(imports[0].contacts_size(), 2);
  EXPECT_EQ(imports[0].contacts(1).full_name(), "Two\r\nLines X");
  EXPECT_THAT(imports[0].update_mask().paths(),
              ElementsAre("full_name", "email", "priorities"));
  EXPECT_EQ(imports[1].contacts(0).id(), "c4");
  EXPECT_TRUE(imports[1].contacts(0).do_not_contact());
  EXPECT_THAT(imports[1].update_mask().paths(),
              ElementsAre("full_name", "email", "priorities", "do_not_contact",
                          "do_not_contact_reason"));
  EXPECT_THAT(imports[2].contacts(0).priorities(), ElementsAre("a, b", "c"));
}

TEST_F(RapportctlTest, ImportCsvJsonPrintsTheServerSummary) {
  const std::string csv =
      WriteFile("ok.csv", "Email,Name\na@example.com,A\nb@example.com,B\n");
  const CtlResult run = Ctl(absl::StrCat("import-csv ", csv, " --json"));
  EXPECT_EQ(run.exit_code, 0) << run.err;
  EXPECT_THAT(run.out, HasSubstr("\"accepted_count\": 2"));
  EXPECT_THAT(run.out, HasSubstr("\"rejected_count\": 0"));
}

TEST_F(RapportctlTest, ImportCsvHeaderProblemsFailBeforeSending) {
  const std::string csv = WriteFile("bad.csv", "First Name,Last Name\nA,B\n");
  const CtlResult run = Ctl(absl::StrCat("import-csv ", csv));
  EXPECT_EQ(run.exit_code, 1);
  EXPECT_THAT(run.err, HasSubstr("line 1: the header has neither an id"));
  EXPECT_THAT(service_.imports(), SizeIs(0));
  EXPECT_EQ(Ctl("import-csv /nonexistent/file.csv").exit_code, 1);
  EXPECT_EQ(Ctl("import-csv").exit_code, 2);
}

TEST_F(RapportctlTest, ContactUpsertWritesOnlyTheGivenFields) {
  CtlResult run = Ctl(
      "contact upsert --id mitch --full-name 'Mitchell Grant' "
      "--preferred-name Mitch --title 'VP Sales' --company 'Acme Logistics' "
      "--priority 'cut onboarding time for new reps' --priority 'forecast "
      "accuracy' --trigger-event '2024-03-02: opened a new distribution hub "
      "in Denver'");
  ASSERT_EQ(run.exit_code, 0) << run.err;
  EXPECT_THAT(run.out, HasSubstr("created contact mitch"));
  EXPECT_THAT(run.out, HasSubstr("Mitchell Grant: address as \"Mitch\""));
  EXPECT_THAT(run.out, HasSubstr("1. cut onboarding time for new reps"));
  EXPECT_THAT(
      run.out,
      HasSubstr("opened a new distribution hub in Denver (2024-03-02)"));
  EXPECT_THAT(run.out, HasSubstr("reply rate"));
  EXPECT_THAT(run.out, HasSubstr("knowledge gaps"));

  run =
      Ctl("contact upsert --id mitch --do-not-contact "
          "--do-not-contact-reason 'asked us to stop' --json");
  ASSERT_EQ(run.exit_code, 0) << run.err;
  EXPECT_THAT(run.out, HasSubstr("\"do_not_contact\": true"));
  EXPECT_THAT(run.out, HasSubstr("\"created\": false"));
  const auto upserts = service_.upserts();
  ASSERT_THAT(upserts, SizeIs(2));
  EXPECT_THAT(upserts[0].update_mask().paths(),
              ElementsAre("full_name", "preferred_name", "title", "company",
                          "priorities", "trigger_events"));
  EXPECT_THAT(upserts[1].update_mask().paths(),
              ElementsAre("do_not_contact_reason", "do_not_contact"));

  run = Ctl("contact upsert --id nobody --title CRO");
  EXPECT_EQ(run.exit_code, 1);
  EXPECT_EQ(
      run.err,
      "INVALID_ARGUMENT: contact.full_name: required for a new contact\n");
  EXPECT_EQ(Ctl("contact upsert --id x").exit_code, 2);
  EXPECT_EQ(Ctl("contact upsert --full-name X").exit_code, 2);
}

TEST_F(RapportctlTest, ContactGetListDelete) {
  for (const char* id : {"a1", "b2", "c3"}) {
    ASSERT_EQ(
        Ctl(absl::StrCat("contact upsert --id ", id, " --full-name 'Person ",
                         id, "' --company Acme --quiet-unknown=1"))
            .exit_code,
        2);  // an unknown flag is a usage error, nothing is sent
    ASSERT_EQ(Ctl(absl::StrCat("contact upsert --id ", id,
                               " --full-name 'Person ", id, "' --company Acme"))
                  .exit_code,
              0);
  }
  CtlResult run = Ctl("contact get b2");
  EXPECT_EQ(run.exit_code, 0) << run.err;
  EXPECT_THAT(run.out, HasSubstr("Person b2: address as \"Person\""));

  run = Ctl("contact get nope");
  EXPECT_EQ(run.exit_code, 1);
  EXPECT_EQ(run.err, "NOT_FOUND: contact \"nope\" does not exist\n");

  run = Ctl("contact list --page-size 1 --all --company Acme --stage unknown");
  EXPECT_EQ(run.exit_code, 0) << run.err;
  EXPECT_THAT(run.out, HasSubstr("a1 "));
  EXPECT_THAT(run.out, HasSubstr("c3 "));
  EXPECT_THAT(run.out, Not(HasSubstr("more:")));
  const auto lists = service_.list_requests();
  ASSERT_THAT(lists, SizeIs(3));
  EXPECT_EQ(lists[1].page_token(), "a1");
  EXPECT_EQ(lists[0].filter().stage(),
            rapport::common::v1::BUYING_STAGE_UNKNOWN);
  EXPECT_EQ(lists[0].filter().company(), "Acme");
  EXPECT_FALSE(lists[0].filter().has_do_not_contact());

  run = Ctl("contact list --page-size 2");
  EXPECT_THAT(run.out, HasSubstr("more: --page-token b2"));
  run = Ctl("contact list --page-size 2 --all --json --do-not-contact false");
  EXPECT_EQ(run.exit_code, 0);
  EXPECT_THAT(run.out, HasSubstr("\"next_page_token\": \"\""));
  EXPECT_THAT(run.out, HasSubstr("\"id\": \"c3\""));
  EXPECT_EQ(Ctl("contact list --do-not-contact maybe").exit_code, 2);
  EXPECT_EQ(Ctl("contact list --stage nonsense").exit_code, 2);

  run = Ctl("contact delete a1");
  EXPECT_EQ(run.exit_code, 0);
  EXPECT_THAT(run.out, HasSubstr("erased contact a1"));
  EXPECT_EQ(Ctl("contact delete a1").exit_code, 1);
  EXPECT_EQ(Ctl("contact delete a1 --allow-missing").exit_code, 0);
}

TEST_F(RapportctlTest, InteractionAddParsesEnumsBySuffix) {
  ASSERT_EQ(Ctl("contact upsert --id m --full-name 'Mitchell Grant'").exit_code,
            0);
  CtlResult run = Ctl(
      "interaction add --contact m --kind Email_Sent --topic 'rep onboarding' "
      "--at 2024-05-02T14:00:00Z --id i1");
  ASSERT_EQ(run.exit_code, 0) << run.err;
  EXPECT_THAT(run.out, HasSubstr("recorded interaction i1"));
  EXPECT_THAT(run.out, HasSubstr("Mitchell Grant: address as"));
  run =
      Ctl("interaction add --contact m --kind meeting --direction INBOUND "
          "--outcome booked --talk-ratio 0.4 --duration 45m --id i2 --quiet");
  ASSERT_EQ(run.exit_code, 0) << run.err;
  EXPECT_THAT(run.out, Not(HasSubstr("address as")));
  run = Ctl("interaction add --contact m --kind email_sent --id i1");
  EXPECT_THAT(run.out, HasSubstr("already recorded"));

  auto in = service_.interactions();
  ASSERT_TRUE(in.contains("i1"));
  EXPECT_EQ(in["i1"].kind(), pb::INTERACTION_KIND_EMAIL_SENT);
  EXPECT_EQ(in["i1"].direction(), pb::DIRECTION_OUTBOUND);
  EXPECT_EQ(in["i1"].occurred_at().seconds(), 1714658400);
  EXPECT_THAT(in["i1"].topics(), ElementsAre("rep onboarding"));
  EXPECT_EQ(in["i2"].outcome(), rapport::common::v1::OUTCOME_MEETING_BOOKED);
  EXPECT_EQ(in["i2"].duration().seconds(), 45 * 60);
  EXPECT_DOUBLE_EQ(in["i2"].talk_ratio(), 0.4);

  // A call goes either way: the direction must be given.
  run = Ctl("interaction add --contact m --kind call");
  EXPECT_EQ(run.exit_code, 2);
  EXPECT_THAT(run.err, HasSubstr("--direction"));
  run = Ctl("interaction add --contact ghost --kind email_sent");
  EXPECT_EQ(run.exit_code, 1);
  EXPECT_THAT(run.err, HasSubstr("NOT_FOUND: contact \"ghost\""));
}

TEST_F(RapportctlTest, DemoFilesImportCleanlyAndInteractionsAreIdempotent) {
  const std::string demo = absl::StrCat(RAPPORT_SOURCE_DIR, "/deploy/demo/");
  CtlResult run = Ctl(absl::StrCat("import-csv ", demo, "contacts.csv"));
  ASSERT_EQ(run.exit_code, 0) << run.out << run.err;
  EXPECT_THAT(run.out, HasSubstr("accepted 26 (26 created, 0 updated); "
                                 "rejected 0"));
  EXPECT_EQ(run.err, "");

  run = Ctl("contact get demo-mitch-grant");
  EXPECT_THAT(run.out, HasSubstr("Mitchell Grant: address as \"Mitch\""));
  EXPECT_THAT(run.out, HasSubstr("VP Sales @ Acme Logistics"));
  EXPECT_THAT(run.out, HasSubstr("1. cut onboarding time for new reps"));
  EXPECT_THAT(run.out, HasSubstr("- opened a new distribution hub in Denver"));

  run = Ctl(absl::StrCat("interaction import-csv ", demo, "interactions.csv"));
  ASSERT_EQ(run.exit_code, 0) << run.out << run.err;
  EXPECT_THAT(run.out, HasSubstr("recorded 41, already recorded 0, failed 0"));
  run = Ctl(absl::StrCat("interaction import-csv ", demo, "interactions.csv"));
  EXPECT_THAT(run.out, HasSubstr("recorded 0, already recorded 41, failed 0"));
}

}  // namespace
}  // namespace rapport::ctl
