#include "common/tls/tls.h"

#include <grpc/grpc_security_constants.h>
#include <grpcpp/generic/async_generic_service.h>
#include <grpcpp/generic/generic_stub.h>
#include <grpcpp/grpcpp.h>
#include <grpcpp/health_check_service_interface.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <fstream>
#include <future>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace rapport::tls {
namespace {

using ::testing::HasSubstr;

// Certificates for one test process, made once by the openssl CLI in a
// private temporary directory:
//   ca        the trusted CA
//   server    CN=localhost, SAN DNS:localhost, IP:127.0.0.1, signed by ca
//   client    CN=rapport-client, clientAuth, signed by ca
//   rogue_ca  an unrelated CA, and rogue_client signed by it
// EC P-256 keys keep generation fast.
class Pki {
 public:
  static Pki* Get() {
    static Pki* pki = new Pki();
    return pki;
  }
  bool ok() const { return ok_; }
  const std::string& error() const { return error_; }
  const std::string& dir() const { return dir_; }
  std::string Path(const std::string& name) const {
    return absl::StrCat(dir_, "/", name);
  }

 private:
  Pki() {
    std::string tmpl = ::testing::TempDir() + "rapport_tls_XXXXXX";
    if (mkdtemp(tmpl.data()) == nullptr) {
      error_ = "mkdtemp failed";
      return;
    }
    dir_ = tmpl;
    std::atexit([] {
      std::system(absl::StrCat("rm -rf '", Get()->dir_, "'").c_str());
    });
    std::ofstream(Path("openssl.cnf")) << R"([req]
distinguished_name = dn
prompt = no
[dn]
CN = placeholder
[ca_ext]
basicConstraints = critical,CA:TRUE
keyUsage = critical,keyCertSign,cRLSign
subjectKeyIdentifier = hash
[server_ext]
basicConstraints = critical,CA:FALSE
keyUsage = critical,digitalSignature
extendedKeyUsage = serverAuth
subjectAltName = DNS:localhost,IP:127.0.0.1
authorityKeyIdentifier = keyid
[client_ext]
basicConstraints = critical,CA:FALSE
keyUsage = critical,digitalSignature
extendedKeyUsage = clientAuth
authorityKeyIdentifier = keyid
)";
    ok_ = MakeCa("ca", "Rapport Test CA") &&
          MakeLeaf("server", "localhost", "ca", "server_ext") &&
          MakeLeaf("client", "rapport-client", "ca", "client_ext") &&
          MakeCa("rogue_ca", "Rogue CA") &&
          MakeLeaf("rogue_client", "rapport-client", "rogue_ca", "client_ext");
  }

  bool Run(const std::string& args) {
    std::string log = Path("openssl.log");
    std::string cmd = absl::StrCat("cd '", dir_, "' && ", RAPPORT_OPENSSL_BIN,
                                   " ", args, " >>'", log, "' 2>&1");
    if (std::system(cmd.c_str()) == 0) return true;
    std::stringstream out;
    out << std::ifstream(log).rdbuf();
    error_ = absl::StrCat("failed: openssl ", args, "\n", out.str());
    return false;
  }

  bool MakeCa(const std::string& name, const std::string& cn) {
    return Run(absl::StrCat(
        "req -x509 -new -config openssl.cnf -extensions ca_ext -newkey ec "
        "-pkeyopt ec_paramgen_curve:prime256v1 -nodes -keyout ",
        name, ".key -out ", name, ".crt -days 2 -subj '/CN=", cn, "'"));
  }

  bool MakeLeaf(const std::string& name, const std::string& cn,
                const std::string& ca, const std::string& ext) {
    return Run(absl::StrCat("req -new -config openssl.cnf -newkey ec -pkeyopt "
                            "ec_paramgen_curve:prime256v1 -nodes -keyout ",
                            name, ".key -out ", name, ".csr -subj '/CN=", cn,
                            "'")) &&
           Run(absl::StrCat("x509 -req -in ", name, ".csr -CA ", ca,
                            ".crt -CAkey ", ca, ".key -set_serial ", ++serial_,
                            " -days 2 -out ", name,
                            ".crt -extfile openssl.cnf -extensions ", ext));
  }

  bool ok_ = false;
  int serial_ = 1000;
  std::string error_;
  std::string dir_;
};

// A server on a free 127.0.0.1 port serving grpc.health.v1 (the default
// health service) with the given credentials.
class HealthServer {
 public:
  static absl::StatusOr<std::unique_ptr<HealthServer>> Start(
      const config::TlsConfig& tls) {
    absl::StatusOr<std::shared_ptr<grpc::ServerCredentials>> creds =
        MakeServerCredentials(tls);
    if (!creds.ok()) return creds.status();
    grpc::EnableDefaultHealthCheckService(true);
    auto server = std::unique_ptr<HealthServer>(new HealthServer());
    grpc::ServerBuilder builder;
    builder.AddListeningPort("127.0.0.1:0", *creds, &server->port_);
    // The default health service is added inside Start(), after the builder
    // has decided which completion queues the server needs; with no service
    // of its own the server would get none. An empty callback generic
    // service (UNIMPLEMENTED for every unknown method) gives it the
    // callback queue the health service runs on.
    builder.RegisterCallbackGenericService(&server->unknown_methods_);
    server->server_ = builder.BuildAndStart();
    if (server->server_ == nullptr || server->port_ == 0) {
      return absl::InternalError("server did not start");
    }
    return server;
  }
  ~HealthServer() {
    if (server_ != nullptr) server_->Shutdown();
  }
  std::string address() const { return absl::StrCat("127.0.0.1:", port_); }

 private:
  HealthServer() = default;
  int port_ = 0;
  grpc::CallbackGenericService unknown_methods_;
  std::unique_ptr<grpc::Server> server_;
};

// What a health check over one fresh channel returned.
struct CheckResult {
  grpc::Status status;
  std::string response;  // serialized HealthCheckResponse
};

// Calls grpc.health.v1.Health/Check with an empty request (an empty
// HealthCheckRequest serializes to zero bytes) over a channel built the way
// the services build theirs: MakeChannelCredentials + ApplyChannelArgs.
CheckResult Check(const std::string& address, const config::TlsConfig& tls) {
  absl::StatusOr<std::shared_ptr<grpc::ChannelCredentials>> creds =
      MakeChannelCredentials(tls);
  if (!creds.ok()) {
    return {grpc::Status(grpc::StatusCode::INTERNAL, creds.status().ToString()),
            ""};
  }
  grpc::ChannelArguments args;
  ApplyChannelArgs(tls, &args);
  // A fresh connection for every check, never a shared subchannel.
  args.SetInt(GRPC_ARG_USE_LOCAL_SUBCHANNEL_POOL, 1);
  std::shared_ptr<grpc::Channel> channel =
      grpc::CreateCustomChannel(address, *creds, args);
  grpc::GenericStub stub(channel);
  grpc::ClientContext ctx;
  ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(5));
  grpc::Slice empty;
  grpc::ByteBuffer request(&empty, 1);
  grpc::ByteBuffer response;
  std::promise<grpc::Status> done;
  stub.UnaryCall(&ctx, "/grpc.health.v1.Health/Check", grpc::StubOptions(),
                 &request, &response,
                 [&done](const grpc::Status& s) { done.set_value(s); });
  CheckResult result{done.get_future().get(), ""};
  if (result.status.ok()) {
    std::vector<grpc::Slice> slices;
    if (response.Dump(&slices).ok()) {
      for (const grpc::Slice& s : slices) {
        result.response.append(reinterpret_cast<const char*>(s.begin()),
                               s.size());
      }
    }
  }
  return result;
}

// HealthCheckResponse{status: SERVING}: field 1, varint 1.
constexpr char kServing[] = "\x08\x01";

class TlsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    pki_ = Pki::Get();
    ASSERT_TRUE(pki_->ok()) << pki_->error();
  }
  std::string P(const std::string& name) const { return pki_->Path(name); }

  config::TlsConfig ServerTls() const {
    config::TlsConfig tls;
    tls.cert_file = P("server.crt");
    tls.key_file = P("server.key");
    return tls;
  }
  config::TlsConfig ServerMtls() const {
    config::TlsConfig tls = ServerTls();
    tls.client_ca_file = P("ca.crt");
    return tls;
  }
  // A client that trusts `ca` and, optionally, presents `cert`.
  config::TlsConfig Client(const std::string& ca,
                           const std::string& cert = "") const {
    config::TlsConfig tls;
    tls.ca_file = P(ca + ".crt");
    if (!cert.empty()) {
      tls.cert_file = P(cert + ".crt");
      tls.key_file = P(cert + ".key");
    }
    return tls;
  }

  Pki* pki_ = nullptr;
};

TEST_F(TlsTest, TlsServerAcceptsClientTrustingCa) {
  absl::StatusOr<std::unique_ptr<HealthServer>> server =
      HealthServer::Start(ServerTls());
  ASSERT_TRUE(server.ok()) << server.status();
  // Verified against the IP SAN of the target address.
  CheckResult r = Check((*server)->address(), Client("ca"));
  EXPECT_TRUE(r.status.ok()) << r.status.error_message();
  EXPECT_EQ(r.response, kServing);
  // Verified against RAPPORT_TLS_SERVER_NAME instead of the target's host.
  config::TlsConfig named = Client("ca");
  named.server_name = "localhost";
  r = Check((*server)->address(), named);
  EXPECT_TRUE(r.status.ok()) << r.status.error_message();
}

TEST_F(TlsTest, TlsServerRefusesPlaintextClient) {
  absl::StatusOr<std::unique_ptr<HealthServer>> server =
      HealthServer::Start(ServerTls());
  ASSERT_TRUE(server.ok()) << server.status();
  CheckResult r = Check((*server)->address(), config::TlsConfig{});
  EXPECT_EQ(r.status.error_code(), grpc::StatusCode::UNAVAILABLE)
      << r.status.error_message();
}

TEST_F(TlsTest, TlsServerRefusedByClientTrustingRogueCa) {
  absl::StatusOr<std::unique_ptr<HealthServer>> server =
      HealthServer::Start(ServerTls());
  ASSERT_TRUE(server.ok()) << server.status();
  CheckResult r = Check((*server)->address(), Client("rogue_ca"));
  EXPECT_EQ(r.status.error_code(), grpc::StatusCode::UNAVAILABLE)
      << r.status.error_message();
  EXPECT_THAT(r.status.error_message(), HasSubstr("certificate verify failed"));
}

TEST_F(TlsTest, ClientRefusesServerNotNamedInCertificate) {
  absl::StatusOr<std::unique_ptr<HealthServer>> server =
      HealthServer::Start(ServerTls());
  ASSERT_TRUE(server.ok()) << server.status();
  config::TlsConfig tls = Client("ca");
  tls.server_name = "profile-service.rapport.svc";
  CheckResult r = Check((*server)->address(), tls);
  EXPECT_EQ(r.status.error_code(), grpc::StatusCode::UNAVAILABLE)
      << r.status.error_message();
  EXPECT_THAT(r.status.error_message(),
              HasSubstr("Peer name profile-service.rapport.svc is not in peer "
                        "certificate"));
}

TEST_F(TlsTest, MtlsServerAcceptsClientWithCaSignedCert) {
  absl::StatusOr<std::unique_ptr<HealthServer>> server =
      HealthServer::Start(ServerMtls());
  ASSERT_TRUE(server.ok()) << server.status();
  CheckResult r = Check((*server)->address(), Client("ca", "client"));
  EXPECT_TRUE(r.status.ok()) << r.status.error_message();
  EXPECT_EQ(r.response, kServing);
}

// When the server rejects the handshake the client only sees the socket
// close ("Socket closed"); the accepting test above on the same kind of
// server is what shows the refusal is about the client certificate.
TEST_F(TlsTest, MtlsServerRefusesClientWithoutCert) {
  absl::StatusOr<std::unique_ptr<HealthServer>> server =
      HealthServer::Start(ServerMtls());
  ASSERT_TRUE(server.ok()) << server.status();
  CheckResult r = Check((*server)->address(), Client("ca"));
  EXPECT_EQ(r.status.error_code(), grpc::StatusCode::UNAVAILABLE)
      << r.status.error_message();
}

TEST_F(TlsTest, MtlsServerRefusesClientCertFromRogueCa) {
  absl::StatusOr<std::unique_ptr<HealthServer>> server =
      HealthServer::Start(ServerMtls());
  ASSERT_TRUE(server.ok()) << server.status();
  CheckResult r = Check((*server)->address(), Client("ca", "rogue_client"));
  EXPECT_EQ(r.status.error_code(), grpc::StatusCode::UNAVAILABLE)
      << r.status.error_message();
}

TEST_F(TlsTest, MtlsServerRefusesPlaintextClient) {
  absl::StatusOr<std::unique_ptr<HealthServer>> server =
      HealthServer::Start(ServerMtls());
  ASSERT_TRUE(server.ok()) << server.status();
  CheckResult r = Check((*server)->address(), config::TlsConfig{});
  EXPECT_EQ(r.status.error_code(), grpc::StatusCode::UNAVAILABLE)
      << r.status.error_message();
}

TEST_F(TlsTest, PlaintextWhenNothingIsConfigured) {
  absl::StatusOr<std::unique_ptr<HealthServer>> server =
      HealthServer::Start(config::TlsConfig{});
  ASSERT_TRUE(server.ok()) << server.status();
  CheckResult r = Check((*server)->address(), config::TlsConfig{});
  EXPECT_TRUE(r.status.ok()) << r.status.error_message();
  EXPECT_EQ(r.response, kServing);
}

// Configuration errors: one line naming the setting and the path.

TEST_F(TlsTest, MissingFileNamesSettingAndPath) {
  config::TlsConfig tls = ServerTls();
  tls.cert_file = P("missing.pem");
  absl::Status s = MakeServerCredentials(tls).status();
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(s.message(),
            absl::StrCat("RAPPORT_TLS_CERT_FILE: cannot read ",
                         P("missing.pem"), ": No such file or directory"));

  tls = ServerMtls();
  tls.client_ca_file = P("missing-ca.pem");
  EXPECT_EQ(MakeServerCredentials(tls).status().message(),
            absl::StrCat("RAPPORT_TLS_CLIENT_CA_FILE: cannot read ",
                         P("missing-ca.pem"), ": No such file or directory"));

  config::TlsConfig client = Client("ca");
  client.ca_file = P("missing-ca.pem");
  EXPECT_EQ(MakeChannelCredentials(client).status().message(),
            absl::StrCat("RAPPORT_TLS_CA_FILE: cannot read ",
                         P("missing-ca.pem"), ": No such file or directory"));
}

TEST_F(TlsTest, KeyNotMatchingCertificateIsAnError) {
  config::TlsConfig tls = ServerTls();
  tls.key_file = P("client.key");
  absl::Status s = MakeServerCredentials(tls).status();
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(s.message()),
              HasSubstr(absl::StrCat("RAPPORT_TLS_KEY_FILE: ", P("client.key"),
                                     " does not match the certificate in "
                                     "RAPPORT_TLS_CERT_FILE ",
                                     P("server.crt"))));
  // Same check for a client certificate.
  config::TlsConfig client = Client("ca", "client");
  client.key_file = P("server.key");
  EXPECT_THAT(std::string(MakeChannelCredentials(client).status().message()),
              HasSubstr("does not match the certificate"));
}

TEST_F(TlsTest, EmptyAndNonPemFilesAreErrors) {
  std::ofstream(P("empty.pem")).flush();
  std::ofstream(P("text.pem")) << "not a certificate\n";
  config::TlsConfig tls = ServerTls();
  tls.cert_file = P("empty.pem");
  EXPECT_EQ(
      MakeServerCredentials(tls).status().message(),
      absl::StrCat("RAPPORT_TLS_CERT_FILE: ", P("empty.pem"), " is empty"));
  tls.cert_file = P("text.pem");
  EXPECT_THAT(std::string(MakeServerCredentials(tls).status().message()),
              HasSubstr(absl::StrCat("RAPPORT_TLS_CERT_FILE: ", P("text.pem"),
                                     " holds no PEM certificate")));
  // Cert and key swapped.
  tls = ServerTls();
  tls.cert_file = P("server.key");
  tls.key_file = P("server.crt");
  EXPECT_THAT(std::string(MakeServerCredentials(tls).status().message()),
              HasSubstr("RAPPORT_TLS_CERT_FILE: "));
  tls = ServerTls();
  tls.key_file = P("server.crt");
  EXPECT_THAT(std::string(MakeServerCredentials(tls).status().message()),
              HasSubstr(absl::StrCat("RAPPORT_TLS_KEY_FILE: ", P("server.crt"),
                                     " holds no PEM private key")));
  // A directory is unreadable, not empty.
  tls = ServerTls();
  tls.cert_file = pki_->dir();
  EXPECT_EQ(MakeServerCredentials(tls).status().message(),
            absl::StrCat("RAPPORT_TLS_CERT_FILE: cannot read ", pki_->dir(),
                         ": Is a directory"));
}

TEST_F(TlsTest, EncryptedKeyIsRejectedWithoutPrompting) {
  std::string encrypted = P("server.enc.key");
  ASSERT_EQ(std::system(absl::StrCat(RAPPORT_OPENSSL_BIN, " pkey -in '",
                                     P("server.key"),
                                     "' -aes256 -passout "
                                     "pass:secret -out '",
                                     encrypted, "' </dev/null")
                            .c_str()),
            0);
  config::TlsConfig tls = ServerTls();
  tls.key_file = encrypted;
  EXPECT_THAT(std::string(MakeServerCredentials(tls).status().message()),
              HasSubstr("is an encrypted private key"));
}

TEST_F(TlsTest, IncompleteSettingsAreErrors) {
  config::TlsConfig tls;
  tls.cert_file = P("server.crt");
  EXPECT_EQ(MakeServerCredentials(tls).status().message(),
            "RAPPORT_TLS_CERT_FILE and RAPPORT_TLS_KEY_FILE must be set "
            "together");
  EXPECT_FALSE(MakeChannelCredentials(tls).ok());

  tls = config::TlsConfig{};
  tls.client_ca_file = P("ca.crt");
  EXPECT_THAT(std::string(MakeServerCredentials(tls).status().message()),
              HasSubstr("RAPPORT_TLS_CLIENT_CA_FILE needs"));
}

TEST(ApplyChannelArgsTest, SetsTargetNameOverrideOnlyWhenConfigured) {
  auto override_of = [](const config::TlsConfig& tls) -> std::string {
    grpc::ChannelArguments args;
    ApplyChannelArgs(tls, &args);
    grpc_channel_args c_args = args.c_channel_args();
    for (size_t i = 0; i < c_args.num_args; ++i) {
      if (std::string(c_args.args[i].key) ==
          GRPC_SSL_TARGET_NAME_OVERRIDE_ARG) {
        return c_args.args[i].value.string;
      }
    }
    return "<unset>";
  };
  config::TlsConfig tls;
  EXPECT_EQ(override_of(tls), "<unset>");
  tls.server_name = "scoring-service.rapport.svc";
  EXPECT_EQ(override_of(tls), "scoring-service.rapport.svc");
}

}  // namespace
}  // namespace rapport::tls
