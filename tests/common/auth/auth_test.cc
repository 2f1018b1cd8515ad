#include "common/auth/auth.h"

#include <grpcpp/generic/async_generic_service.h>
#include <grpcpp/generic/generic_stub.h>
#include <grpcpp/grpcpp.h>
#include <unistd.h>

#include <cstdlib>
#include <fstream>
#include <future>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "common/log/log.h"
#include "common/status/grpc_status.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace rapport::auth {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

// Keys used throughout; the file stores only their SHA-256.
constexpr char kWriterKey[] = "rpk_writer-key-0001";
constexpr char kReaderKey[] = "rpk_reader-key-0002";
constexpr char kServiceKey[] = "rpk_service-key-0003";

std::string Entry(const std::string& sha256, const std::string& tenant,
                  const std::string& team, const std::string& role,
                  const std::string& name) {
  return absl::StrCat(R"({"sha256": ")", sha256, R"(", "tenant": ")", tenant,
                      R"(", "team": ")", team, R"(", "role": ")", role,
                      R"(", "name": ")", name, R"("})");
}

std::string ValidKeysJson() {
  return absl::StrCat(
      R"({"keys": [)",
      Entry(Sha256Hex(kWriterKey), "acme", "SALES", "writer", "crm-sync"), ",",
      Entry(Sha256Hex(kReaderKey), "globex", "", "reader", "dashboard"), ",",
      Entry(Sha256Hex(kServiceKey), "platform", "OPS", "service",
            "feedback-service"),
      "]}");
}

std::unique_ptr<Authenticator> MustLoad(const std::string& json) {
  absl::StatusOr<std::unique_ptr<Authenticator>> auth =
      Authenticator::FromJson(json, "/etc/rapport/keys.json");
  EXPECT_TRUE(auth.ok()) << auth.status();
  return auth.ok() ? *std::move(auth) : nullptr;
}

absl::Status LoadError(const std::string& json) {
  absl::StatusOr<std::unique_ptr<Authenticator>> auth =
      Authenticator::FromJson(json, "/etc/rapport/keys.json");
  return auth.status();
}

// A private temporary directory removed at the end of the test.
class TempDir {
 public:
  TempDir() {
    std::string tmpl = ::testing::TempDir() + "rapport_auth_XXXXXX";
    path_ = mkdtemp(tmpl.data()) != nullptr ? tmpl : "";
  }
  ~TempDir() {
    if (!path_.empty()) {
      std::system(absl::StrCat("rm -rf '", path_, "'").c_str());
    }
  }
  const std::string& path() const { return path_; }
  std::string Write(const std::string& name, const std::string& contents) {
    std::string file = absl::StrCat(path_, "/", name);
    std::ofstream(file) << contents;
    return file;
  }

 private:
  std::string path_;
};

TEST(Sha256HexTest, MatchesKnownVector) {
  EXPECT_EQ(Sha256Hex("abc"),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  EXPECT_EQ(Sha256Hex(""),
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
}

TEST(GenerateApiKeyTest, IsPrefixedRandomAndHeaderSafe) {
  absl::StatusOr<std::string> a = GenerateApiKey();
  absl::StatusOr<std::string> b = GenerateApiKey();
  ASSERT_TRUE(a.ok() && b.ok());
  EXPECT_TRUE(absl::StartsWith(*a, "rpk_"));
  EXPECT_EQ(a->size(), 4u + 43u);  // 32 bytes in unpadded base64url
  EXPECT_NE(*a, *b);
  for (char c : *a) {
    EXPECT_TRUE(absl::ascii_isalnum(static_cast<unsigned char>(c)) ||
                c == '-' || c == '_')
        << c;
  }
}

TEST(ValidationTest, TenantTeamRole) {
  EXPECT_TRUE(IsValidTenant("acme"));
  EXPECT_TRUE(IsValidTenant("Acme_Corp-2"));
  EXPECT_TRUE(IsValidTenant(std::string(64, 'a')));
  EXPECT_FALSE(IsValidTenant(""));
  EXPECT_FALSE(IsValidTenant(std::string(65, 'a')));
  EXPECT_FALSE(IsValidTenant("acme corp"));
  EXPECT_FALSE(IsValidTenant("{acme}"));  // would break the hash tag
  EXPECT_FALSE(IsValidTenant("acme:1"));
  EXPECT_TRUE(IsValidTeam(""));
  EXPECT_TRUE(IsValidTeam("CUSTOMER_SUCCESS"));
  EXPECT_FALSE(IsValidTeam("sales"));
  EXPECT_TRUE(IsValidRole("service"));
  EXPECT_FALSE(IsValidRole("root"));
}

TEST(KeysFileTest, LoadsValidFile) {
  std::unique_ptr<Authenticator> auth = MustLoad(ValidKeysJson());
  ASSERT_NE(auth, nullptr);
  EXPECT_FALSE(auth->dev_mode());
  EXPECT_EQ(auth->key_count(), 3u);
}

TEST(KeysFileTest, AcceptsUpperCaseHashAndOmittedOptionalFields) {
  std::string json = absl::StrCat(R"({"keys": [{"sha256": ")",
                                  absl::AsciiStrToUpper(Sha256Hex(kWriterKey)),
                                  R"(", "tenant": "acme", "role": "admin"}]})");
  std::unique_ptr<Authenticator> auth = MustLoad(json);
  ASSERT_NE(auth, nullptr);
  absl::StatusOr<Principal> p =
      auth->AuthenticateHeader(absl::StrCat("Bearer ", kWriterKey));
  ASSERT_TRUE(p.ok()) << p.status();
  EXPECT_EQ(p->tenant, "acme");
  EXPECT_EQ(p->team, "");
  EXPECT_EQ(p->key_label, "");
  EXPECT_TRUE(p->IsAdmin());
}

TEST(KeysFileTest, BadJsonIsOneLineErrorNamingSetting) {
  absl::Status s = LoadError("{\"keys\": [\n{\"sha256\": }\n");
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_TRUE(
      absl::StartsWith(s.message(),
                       "RAPPORT_API_KEYS_FILE: /etc/rapport/keys.json: not a "
                       "JSON object"))
      << s;
  EXPECT_FALSE(absl::StrContains(s.message(), "\n")) << s;
}

TEST(KeysFileTest, TopLevelMustBeObjectWithKeys) {
  EXPECT_THAT(std::string(LoadError("[]").message()),
              HasSubstr("not a JSON object"));
  EXPECT_EQ(LoadError("{}").message(),
            "RAPPORT_API_KEYS_FILE: /etc/rapport/keys.json: missing the "
            "\"keys\" list");
  EXPECT_EQ(LoadError(R"({"keys": {}})").message(),
            "RAPPORT_API_KEYS_FILE: /etc/rapport/keys.json: \"keys\" must be "
            "a list");
  EXPECT_THAT(std::string(LoadError(R"({"keys": []})").message()),
              HasSubstr("\"keys\" is empty"));
  EXPECT_THAT(std::string(LoadError(R"({"keys": [], "kyes": []})").message()),
              HasSubstr("unknown top-level field \"kyes\""));
}

TEST(KeysFileTest, BadHashNamesEntryIndex) {
  std::string json = absl::StrCat(
      R"({"keys": [)", Entry(Sha256Hex("a"), "acme", "", "reader", ""), ",",
      Entry(Sha256Hex("b"), "acme", "", "reader", ""), ",",
      Entry("abc123", "acme", "", "reader", ""), "]}");
  EXPECT_EQ(LoadError(json).message(),
            "RAPPORT_API_KEYS_FILE: /etc/rapport/keys.json: keys[2].sha256 is "
            "not 64 hex characters");

  std::string not_hex(64, 'g');
  EXPECT_THAT(
      std::string(LoadError(absl::StrCat(
                                R"({"keys": [)",
                                Entry(not_hex, "acme", "", "reader", ""), "]}"))
                      .message()),
      HasSubstr("keys[0].sha256 is not 64 hex characters"));
}

TEST(KeysFileTest, RejectsDuplicateHash) {
  std::string json = absl::StrCat(
      R"({"keys": [)", Entry(Sha256Hex("a"), "acme", "", "reader", ""), ",",
      Entry(Sha256Hex("a"), "globex", "", "admin", ""), "]}");
  EXPECT_THAT(std::string(LoadError(json).message()),
              HasSubstr("keys[1].sha256 repeats keys[0].sha256"));
}

TEST(KeysFileTest, BadTenant) {
  for (const std::string& tenant : std::vector<std::string>{
           "", "acme corp", "{acme}", std::string(65, 'x')}) {
    std::string json = absl::StrCat(
        R"({"keys": [)", Entry(Sha256Hex("a"), tenant, "", "reader", ""), "]}");
    EXPECT_EQ(LoadError(json).message(),
              "RAPPORT_API_KEYS_FILE: /etc/rapport/keys.json: keys[0].tenant "
              "must match [A-Za-z0-9_-]{1,64}")
        << tenant;
  }
  std::string missing = absl::StrCat(
      R"({"keys": [{"sha256": ")", Sha256Hex("a"), R"(", "role": "reader"}]})");
  EXPECT_THAT(std::string(LoadError(missing).message()),
              HasSubstr("keys[0].tenant is missing"));
  std::string number = absl::StrCat(R"({"keys": [{"sha256": ")", Sha256Hex("a"),
                                    R"(", "tenant": 7, "role": "reader"}]})");
  EXPECT_THAT(std::string(LoadError(number).message()),
              HasSubstr("keys[0].tenant must be a string"));
}

TEST(KeysFileTest, BadTeamRoleAndUnknownField) {
  EXPECT_THAT(std::string(LoadError(absl::StrCat(R"({"keys": [)",
                                                 Entry(Sha256Hex("a"), "acme",
                                                       "sales", "reader", ""),
                                                 "]}"))
                              .message()),
              HasSubstr("keys[0].team \"sales\" is not one of SALES"));
  EXPECT_THAT(
      std::string(
          LoadError(absl::StrCat(R"({"keys": [)",
                                 Entry(Sha256Hex("a"), "acme", "", "root", ""),
                                 "]}"))
              .message()),
      HasSubstr("keys[0].role \"root\" is not one of reader, writer, admin, "
                "service"));
  std::string typo = absl::StrCat(R"({"keys": [{"sha256": ")", Sha256Hex("a"),
                                  R"(", "tenant": "acme", "rol": "reader"}]})");
  EXPECT_THAT(std::string(LoadError(typo).message()),
              HasSubstr("keys[0]: unknown field \"rol\""));
  EXPECT_THAT(std::string(LoadError(R"({"keys": ["abc"]})").message()),
              HasSubstr("keys[0] must be an object"));
}

TEST(KeysFileTest, CreateReadsFile) {
  TempDir dir;
  std::string path = dir.Write("keys.json", ValidKeysJson());
  absl::StatusOr<std::unique_ptr<Authenticator>> auth =
      Authenticator::Create(path);
  ASSERT_TRUE(auth.ok()) << auth.status();
  EXPECT_EQ((*auth)->key_count(), 3u);
}

TEST(KeysFileTest, CreateErrorNamesPathOfBadFile) {
  TempDir dir;
  std::string path = dir.Write("keys.json", R"({"keys": [{"sha256": "x"}]})");
  absl::Status s = Authenticator::Create(path).status();
  EXPECT_EQ(s.message(), absl::StrCat("RAPPORT_API_KEYS_FILE: ", path,
                                      ": keys[0].sha256 is not 64 hex "
                                      "characters"));
}

TEST(KeysFileTest, UnreadablePathNamesSetting) {
  absl::Status s =
      Authenticator::Create("/nonexistent/rapport/keys.json").status();
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(
      s.message(),
      "RAPPORT_API_KEYS_FILE: cannot read /nonexistent/rapport/keys.json: "
      "No such file or directory");

  TempDir dir;
  s = Authenticator::Create(dir.path()).status();
  EXPECT_EQ(s.message(), absl::StrCat("RAPPORT_API_KEYS_FILE: cannot read ",
                                      dir.path(), ": Is a directory"));
}

class HeaderTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auth_ = MustLoad(ValidKeysJson());
    ASSERT_NE(auth_, nullptr);
  }
  std::unique_ptr<Authenticator> auth_;
};

TEST_F(HeaderTest, KnownKeyYieldsPrincipal) {
  absl::StatusOr<Principal> p =
      auth_->AuthenticateHeader(absl::StrCat("Bearer ", kWriterKey));
  ASSERT_TRUE(p.ok()) << p.status();
  EXPECT_EQ(p->tenant, "acme");
  EXPECT_EQ(p->team, "SALES");
  EXPECT_EQ(p->role, "writer");
  EXPECT_EQ(p->key_label, "crm-sync");
  EXPECT_FALSE(p->dev_mode);
  EXPECT_TRUE(p->CanRead());
  EXPECT_TRUE(p->CanWrite());
  EXPECT_FALSE(p->IsAdmin());

  p = auth_->AuthenticateHeader(absl::StrCat("Bearer ", kReaderKey));
  ASSERT_TRUE(p.ok()) << p.status();
  EXPECT_EQ(p->tenant, "globex");
  EXPECT_TRUE(p->CanRead());
  EXPECT_FALSE(p->CanWrite());

  p = auth_->AuthenticateHeader(absl::StrCat("Bearer ", kServiceKey));
  ASSERT_TRUE(p.ok()) << p.status();
  EXPECT_TRUE(p->IsService());
  EXPECT_TRUE(p->CanWrite());
}

TEST_F(HeaderTest, SchemeIsCaseInsensitiveAndSpacesTolerated) {
  for (const std::string& header :
       std::vector<std::string>{absl::StrCat("bearer ", kWriterKey),
                                absl::StrCat("BEARER ", kWriterKey),
                                absl::StrCat("  Bearer    ", kWriterKey, "  "),
                                absl::StrCat("Bearer\t", kWriterKey)}) {
    absl::StatusOr<Principal> p = auth_->AuthenticateHeader(header);
    ASSERT_TRUE(p.ok()) << "'" << header << "': " << p.status();
    EXPECT_EQ(p->tenant, "acme");
  }
}

TEST_F(HeaderTest, MissingHeaderIsUnauthenticated) {
  absl::Status s = auth_->AuthenticateHeader(std::nullopt).status();
  EXPECT_EQ(s.code(), absl::StatusCode::kUnauthenticated);
  EXPECT_EQ(s.message(), "missing 'authorization: Bearer <api key>' metadata");
}

TEST_F(HeaderTest, MalformedHeaderIsUnauthenticatedWithoutEchoingIt) {
  for (const std::string& header : std::vector<std::string>{
           std::string(""), std::string("Bearer"), std::string("Bearer   "),
           absl::StrCat("Bearer", kWriterKey),
           absl::StrCat("Basic ", kWriterKey), absl::StrCat(kWriterKey),
           absl::StrCat("Bearer ", kWriterKey, " x")}) {
    absl::Status s = auth_->AuthenticateHeader(header).status();
    EXPECT_EQ(s.code(), absl::StatusCode::kUnauthenticated) << header;
    EXPECT_EQ(s.message(),
              "malformed 'authorization' metadata: expected 'Bearer <api "
              "key>'")
        << header;
  }
}

TEST_F(HeaderTest, UnknownKeyIsUnauthenticatedWithoutEchoingIt) {
  absl::Status s =
      auth_->AuthenticateHeader("Bearer rpk_not-a-known-key").status();
  EXPECT_EQ(s.code(), absl::StatusCode::kUnauthenticated);
  EXPECT_EQ(s.message(), "unknown API key");
  // Keys are compared whole: a prefix or a hash of a key is not the key.
  EXPECT_FALSE(auth_->AuthenticateHeader("Bearer rpk_writer-key-000").ok());
  EXPECT_FALSE(
      auth_->AuthenticateHeader(absl::StrCat("Bearer ", Sha256Hex(kWriterKey)))
          .ok());
}

TEST_F(HeaderTest, ServiceKeyActsOnBehalfOfNamedTenant) {
  absl::StatusOr<Principal> p =
      auth_->AuthenticateHeaders(absl::StrCat("Bearer ", kServiceKey), "acme");
  ASSERT_TRUE(p.ok()) << p.status();
  EXPECT_EQ(p->tenant, "acme");
  EXPECT_EQ(p->team, "");
  EXPECT_TRUE(p->IsService());

  // Without the metadata the key's own tenant applies.
  p = auth_->AuthenticateHeaders(absl::StrCat("Bearer ", kServiceKey),
                                 std::nullopt);
  ASSERT_TRUE(p.ok()) << p.status();
  EXPECT_EQ(p->tenant, "platform");

  absl::Status bad =
      auth_->AuthenticateHeaders(absl::StrCat("Bearer ", kServiceKey), "{acme}")
          .status();
  EXPECT_EQ(bad.code(), absl::StatusCode::kInvalidArgument);
}

TEST_F(HeaderTest, OnlyServiceKeysMayNameAnotherTenant) {
  absl::Status s =
      auth_->AuthenticateHeaders(absl::StrCat("Bearer ", kWriterKey), "globex")
          .status();
  EXPECT_EQ(s.code(), absl::StatusCode::kPermissionDenied);
  // Naming its own tenant is harmless.
  absl::StatusOr<Principal> p =
      auth_->AuthenticateHeaders(absl::StrCat("Bearer ", kWriterKey), "acme");
  ASSERT_TRUE(p.ok()) << p.status();
  EXPECT_EQ(p->team, "SALES");
  // Authentication comes first: an unknown key with a tenant is still
  // UNAUTHENTICATED.
  EXPECT_EQ(auth_->AuthenticateHeaders("Bearer nope", "acme").status().code(),
            absl::StatusCode::kUnauthenticated);
}

TEST(DevModeTest, EmptyPathAcceptsEveryCallAsDefaultAdmin) {
  log::Init("auth-test", log::Level::kInfo);
  absl::StatusOr<std::unique_ptr<Authenticator>> auth =
      Authenticator::Create("");
  ASSERT_TRUE(auth.ok()) << auth.status();
  EXPECT_TRUE((*auth)->dev_mode());
  for (const std::optional<std::string_view> header :
       {std::optional<std::string_view>(),
        std::optional<std::string_view>("Bearer anything"),
        std::optional<std::string_view>("garbage")}) {
    absl::StatusOr<Principal> p = (*auth)->AuthenticateHeader(header);
    ASSERT_TRUE(p.ok()) << p.status();
    EXPECT_EQ(p->tenant, "default");
    EXPECT_EQ(p->team, "");
    EXPECT_EQ(p->role, "admin");
    EXPECT_TRUE(p->dev_mode);
  }
  // Single tenant: the tenant metadata does not switch tenants.
  absl::StatusOr<Principal> p =
      (*auth)->AuthenticateHeaders(std::nullopt, "acme");
  ASSERT_TRUE(p.ok());
  EXPECT_EQ(p->tenant, "default");
}

TEST(DevModeTest, WarnsOnceAtCreation) {
  log::Init("auth-test", log::Level::kInfo);
  ::testing::internal::CaptureStderr();
  absl::StatusOr<std::unique_ptr<Authenticator>> auth =
      Authenticator::Create("");
  ASSERT_TRUE(auth.ok());
  for (int i = 0; i < 3; ++i) ASSERT_TRUE((*auth)->AuthenticateHeader({}).ok());
  std::string err = ::testing::internal::GetCapturedStderr();
  constexpr std::string_view kEvent = "\"event\":\"auth_dev_mode\"";
  size_t first = err.find(kEvent);
  EXPECT_NE(first, std::string::npos) << err;
  EXPECT_EQ(err.find(kEvent, first + 1), std::string::npos) << err;
  EXPECT_THAT(err, HasSubstr("\"level\":\"warn\""));
}

// Authenticate() and AttachApiKey()/AttachTenant() over a real in-process
// server: the metadata names and formats line up on both sides.
class EchoPrincipalService : public grpc::CallbackGenericService {
 public:
  explicit EchoPrincipalService(const Authenticator* auth) : auth_(auth) {}

  grpc::ServerGenericBidiReactor* CreateReactor(
      grpc::GenericCallbackServerContext* ctx) override {
    class Reactor : public grpc::ServerGenericBidiReactor {
     public:
      Reactor(const Authenticator* auth, grpc::CallbackServerContext* ctx) {
        absl::StatusOr<Principal> p = auth->Authenticate(*ctx);
        if (!p.ok()) {
          Finish(ToGrpcStatus(p.status()));
          return;
        }
        grpc::Slice slice(absl::StrCat(p->tenant, "/", p->team, "/", p->role));
        response_ = grpc::ByteBuffer(&slice, 1);
        StartWriteAndFinish(&response_, grpc::WriteOptions(), grpc::Status::OK);
      }
      void OnDone() override { delete this; }

     private:
      grpc::ByteBuffer response_;
    };
    return new Reactor(auth_, ctx);
  }

 private:
  const Authenticator* auth_;
};

class AuthenticateOverGrpcTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auth_ = MustLoad(ValidKeysJson());
    ASSERT_NE(auth_, nullptr);
    service_ = std::make_unique<EchoPrincipalService>(auth_.get());
    grpc::ServerBuilder builder;
    int port = 0;
    builder.AddListeningPort("127.0.0.1:0", grpc::InsecureServerCredentials(),
                             &port);
    builder.RegisterCallbackGenericService(service_.get());
    server_ = builder.BuildAndStart();
    ASSERT_NE(server_, nullptr);
    channel_ = grpc::CreateChannel(absl::StrCat("127.0.0.1:", port),
                                   grpc::InsecureChannelCredentials());
  }
  void TearDown() override {
    if (server_ != nullptr) server_->Shutdown();
  }

  // Calls the service; returns the status and, when OK, "tenant/team/role".
  std::pair<grpc::Status, std::string> Call(
      const std::vector<std::pair<std::string, std::string>>& metadata,
      std::string_view api_key = "", std::string_view tenant = "") {
    grpc::GenericStub stub(channel_);
    grpc::ClientContext ctx;
    ctx.set_deadline(std::chrono::system_clock::now() +
                     std::chrono::seconds(5));
    for (const auto& [k, v] : metadata) ctx.AddMetadata(k, v);
    AttachApiKey(&ctx, api_key);
    AttachTenant(&ctx, tenant);
    // A default ByteBuffer holds no buffer at all, which gRPC rejects as an
    // invalid message; one empty slice is a valid zero-length message.
    grpc::Slice empty;
    grpc::ByteBuffer request(&empty, 1);
    grpc::ByteBuffer response;
    std::promise<grpc::Status> done;
    stub.UnaryCall(&ctx, "/rapport.test.Echo/Principal", grpc::StubOptions(),
                   &request, &response,
                   [&done](const grpc::Status& s) { done.set_value(s); });
    grpc::Status status = done.get_future().get();
    std::string body;
    if (status.ok()) {
      std::vector<grpc::Slice> slices;
      EXPECT_TRUE(response.Dump(&slices).ok());
      for (const grpc::Slice& s : slices) {
        body.append(reinterpret_cast<const char*>(s.begin()), s.size());
      }
    }
    return {status, body};
  }

  std::unique_ptr<Authenticator> auth_;
  std::unique_ptr<EchoPrincipalService> service_;
  std::unique_ptr<grpc::Server> server_;
  std::shared_ptr<grpc::Channel> channel_;
};

TEST_F(AuthenticateOverGrpcTest, AttachedKeyAuthenticates) {
  auto [status, body] = Call({}, kWriterKey);
  ASSERT_TRUE(status.ok()) << status.error_message();
  EXPECT_EQ(body, "acme/SALES/writer");
}

TEST_F(AuthenticateOverGrpcTest, ServiceKeyWithAttachedTenant) {
  auto [status, body] = Call({}, kServiceKey, "acme");
  ASSERT_TRUE(status.ok()) << status.error_message();
  EXPECT_EQ(body, "acme//service");
}

TEST_F(AuthenticateOverGrpcTest, MissingAndUnknownKeys) {
  auto [missing, unused1] = Call({});
  EXPECT_EQ(missing.error_code(), grpc::StatusCode::UNAUTHENTICATED);
  EXPECT_EQ(missing.error_message(),
            "missing 'authorization: Bearer <api key>' metadata");

  auto [unknown, unused2] = Call({}, "rpk_secret-but-unknown");
  EXPECT_EQ(unknown.error_code(), grpc::StatusCode::UNAUTHENTICATED);
  EXPECT_EQ(unknown.error_message(), "unknown API key");
  EXPECT_THAT(unknown.error_message(), Not(HasSubstr("secret")));
}

TEST_F(AuthenticateOverGrpcTest, RepeatedAuthorizationIsRejected) {
  auto [status, unused] = Call(
      {{"authorization", absl::StrCat("Bearer ", kReaderKey)}}, kWriterKey);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::UNAUTHENTICATED);
  EXPECT_EQ(status.error_message(),
            "more than one 'authorization' metadata entry");
}

TEST(AttachApiKeyTest, EmptyKeyAddsNothing) {
  // Against a dev-mode server nothing is needed; against a keyed one the
  // server then reports the key as missing (covered above).
  grpc::ClientContext ctx;
  AttachApiKey(&ctx, "");
  AttachTenant(&ctx, "");
  SUCCEED();
}

}  // namespace
}  // namespace rapport::auth
