// Starts the real echo-server, and the real scoring-service on a real
// redis-server, and drives them with the real rapport-loadgen: proves the
// bootstrap serves Echo, the loadgen's --json report holds what scripts
// read, bidirectional streams (ScoreMessages, EchoStream) are driven and
// closed cleanly, failed stream items count as errors, and --vary reaches a
// real service. EchoStream is also called directly, as the streaming
// baseline must answer what it is asked.
// No timing assertions: the machine is shared.

#include <arpa/inet.h>
#include <fcntl.h>
#include <google/protobuf/struct.pb.h>
#include <google/protobuf/util/json_util.h>
#include <grpcpp/grpcpp.h>
#include <netinet/in.h>
#include <signal.h>
#include <spawn.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstdlib>
#include <fstream>
#include <iostream>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "rapport/bench/v1/echo.grpc.pb.h"
#include "tests/support/redis_server.h"

extern char** environ;

namespace {

using ::testing::HasSubstr;

std::string BinDir() {
  const char* dir = std::getenv("RAPPORT_BIN_DIR");
  return dir == nullptr ? RAPPORT_DEFAULT_BIN_DIR : dir;
}

// A port nothing listens on right now (the kernel's pick for port 0).
int FreePort() {
  const int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = 0;
  socklen_t len = sizeof(addr);
  if (bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0 ||
      getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) != 0) {
    close(fd);
    return 0;
  }
  close(fd);
  return ntohs(addr.sin_port);
}

bool Accepts(int port) {
  const int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = htons(static_cast<uint16_t>(port));
  const bool ok =
      connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) == 0;
  close(fd);
  return ok;
}

std::string ReadFile(const std::string& path) {
  std::ifstream in(path);
  std::ostringstream out;
  out << in.rdbuf();
  return out.str();
}

// A child process with extra environment variables and its stdout and
// stderr in files.
class Child {
 public:
  Child(const std::vector<std::string>& argv,
        const std::vector<std::string>& env, const std::string& log_prefix)
      : out_path_(log_prefix + ".out"), err_path_(log_prefix + ".err") {
    std::vector<std::string> env_strings = env;
    for (char** e = environ; *e != nullptr; ++e) env_strings.emplace_back(*e);
    std::vector<char*> envp;
    envp.reserve(env_strings.size() + 1);
    for (auto& s : env_strings) envp.push_back(s.data());
    envp.push_back(nullptr);
    std::vector<std::string> args = argv;
    std::vector<char*> argp;
    argp.reserve(args.size() + 1);
    for (auto& s : args) argp.push_back(s.data());
    argp.push_back(nullptr);

    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_addopen(&actions, STDOUT_FILENO, out_path_.c_str(),
                                     O_WRONLY | O_CREAT | O_TRUNC, 0644);
    posix_spawn_file_actions_addopen(&actions, STDERR_FILENO, err_path_.c_str(),
                                     O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (posix_spawn(&pid_, argp[0], &actions, nullptr, argp.data(),
                    envp.data()) != 0) {
      pid_ = -1;
    }
    posix_spawn_file_actions_destroy(&actions);
  }

  ~Child() {
    if (Running()) {
      kill(pid_, SIGKILL);
      Wait(std::chrono::seconds(5));
    }
  }

  bool started() const { return pid_ > 0; }

  bool Running() {
    if (pid_ <= 0 || exited_) return false;
    int status = 0;
    if (waitpid(pid_, &status, WNOHANG) == pid_) {
      exited_ = true;
      exit_code_ =
          WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
      return false;
    }
    return true;
  }

  // The exit code, or -1 if the child is still running after `timeout`.
  int Wait(std::chrono::milliseconds timeout) {
    const auto give_up = std::chrono::steady_clock::now() + timeout;
    while (Running()) {
      if (std::chrono::steady_clock::now() > give_up) return -1;
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    return exit_code_;
  }

  void Signal(int sig) {
    if (Running()) kill(pid_, sig);
  }

  std::string Stdout() const { return ReadFile(out_path_); }
  std::string Stderr() const { return ReadFile(err_path_); }

 private:
  std::string out_path_;
  std::string err_path_;
  pid_t pid_ = -1;
  bool exited_ = false;
  int exit_code_ = -1;
};

// Runs one server binary on free ports for a test, and the loadgen against
// it.
class ServerTest : public ::testing::Test {
 protected:
  void StartServer(const std::string& binary, std::vector<std::string> env) {
    name_ = binary;
    port_ = FreePort();
    const int metrics_port = FreePort();
    ASSERT_GT(port_, 0);
    ASSERT_GT(metrics_port, 0);
    const std::string tmp =
        testing::TempDir() + "loadgen_it_" + std::to_string(getpid());
    for (const char* setting :
         {"RAPPORT_DRAIN_SECONDS=1", "RAPPORT_LOG_LEVEL=warn",
          "RAPPORT_TLS_CERT_FILE=", "RAPPORT_TLS_KEY_FILE=",
          "RAPPORT_API_KEYS_FILE="}) {
      env.emplace_back(setting);
    }
    env.push_back(absl::StrCat("RAPPORT_GRPC_ADDR=127.0.0.1:", port_));
    env.push_back(
        absl::StrCat("RAPPORT_METRICS_ADDR=127.0.0.1:", metrics_port));
    server_ = std::make_unique<Child>(
        std::vector<std::string>{BinDir() + "/" + binary}, env,
        tmp + "_" + binary);
    ASSERT_TRUE(server_->started());
    const auto give_up =
        std::chrono::steady_clock::now() + std::chrono::seconds(15);
    while (!Accepts(port_)) {
      ASSERT_TRUE(server_->Running())
          << binary << " exited: " << server_->Stderr();
      ASSERT_LT(std::chrono::steady_clock::now(), give_up)
          << binary << " does not listen: " << server_->Stderr();
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    log_prefix_ = tmp + "_loadgen";
  }

  void TearDown() override {
    if (server_ == nullptr) return;
    server_->Signal(SIGTERM);
    EXPECT_EQ(server_->Wait(std::chrono::seconds(15)), 0)
        << name_ << " did not drain cleanly: " << server_->Stderr();
  }

  // Runs the loadgen against the server; returns its exit code.
  int RunLoadgen(std::vector<std::string> flags, std::string* out,
                 std::string* err) {
    std::vector<std::string> argv = {
        BinDir() + "/rapport-loadgen",
        absl::StrCat("--target=127.0.0.1:", port_)};
    argv.insert(argv.end(), flags.begin(), flags.end());
    Child loadgen(argv,
                  {"RAPPORT_TLS_CA_FILE=", "RAPPORT_TLS_CERT_FILE=",
                   "RAPPORT_TLS_KEY_FILE=", "RAPPORT_API_KEY="},
                  log_prefix_);
    EXPECT_TRUE(loadgen.started());
    const int code = loadgen.Wait(std::chrono::seconds(60));
    *out = loadgen.Stdout();
    *err = loadgen.Stderr();
    return code;
  }

  // The loadgen's --json report.
  static google::protobuf::Struct Report(const std::string& out) {
    google::protobuf::Struct report;
    EXPECT_TRUE(google::protobuf::util::JsonStringToMessage(out, &report).ok())
        << out;
    return report;
  }

  std::string name_;
  int port_ = 0;
  std::unique_ptr<Child> server_;
  std::string log_prefix_;
};

class LoadgenIntegrationTest : public ServerTest {
 protected:
  void SetUp() override { StartServer("echo-server", {}); }
};

TEST_F(LoadgenIntegrationTest, EchoRunReportsCallsAndPercentilesAsJson) {
  std::string out;
  std::string err;
  ASSERT_EQ(RunLoadgen({"--duration=1", "--warmup=0.2", "--concurrency=4",
                        "--channels=2", "--payload-bytes=1024", "--json"},
                       &out, &err),
            0)
      << "stdout: " << out << "\nstderr: " << err;

  const google::protobuf::Struct report = Report(out);
  const auto& f = report.fields();
  EXPECT_EQ(f.at("method").string_value(),
            "/rapport.bench.v1.EchoService/Echo");
  EXPECT_GT(f.at("calls").number_value(), 0);
  EXPECT_EQ(f.at("errors").number_value(), 0) << out;
  EXPECT_EQ(f.at("calls").number_value(), f.at("ok").number_value());
  EXPECT_GT(f.at("qps").number_value(), 0);
  EXPECT_EQ(f.at("channels").number_value(), 2);
  EXPECT_GT(f.at("request_bytes").number_value(), 1024);
  const auto& latency = f.at("latency_us").struct_value().fields();
  for (const char* key : {"min", "mean", "p50", "p90", "p99", "p999", "max"}) {
    ASSERT_TRUE(latency.contains(key)) << key << " missing in " << out;
  }
  EXPECT_LE(latency.at("p50").number_value(), latency.at("p99").number_value());
  EXPECT_LE(latency.at("p999").number_value(),
            latency.at("max").number_value());
  EXPECT_TRUE(f.at("errors_by_code").struct_value().fields().empty());
}

// The streaming baseline, driven as bench/platform_bench.sh drives it: a
// 1-KiB request answered with a report-sized payload.
TEST_F(LoadgenIntegrationTest, EchoStreamIsDrivenAndClosedCleanly) {
  std::string out;
  std::string err;
  ASSERT_EQ(RunLoadgen({"--method=rapport.bench.v1.EchoService/EchoStream",
                        R"(--request={"payload":"eHh4eHh4eHh4eHh4",)"
                        R"("response_bytes":6000})",
                        "--concurrency=2", "--channels=2", "--window=8",
                        "--duration=0.5", "--warmup=0.1", "--json"},
                       &out, &err),
            0)
      << "stdout: " << out << "\nstderr: " << err;
  const google::protobuf::Struct report = Report(out);
  const auto& f = report.fields();
  EXPECT_EQ(f.at("mode").string_value(), "bidi");
  EXPECT_GT(f.at("calls").number_value(), 0);
  EXPECT_EQ(f.at("errors").number_value(), 0) << out;
  EXPECT_EQ(f.at("streams_failed").number_value(), 0) << out;
}

// EchoStream answers every request in order, sized as asked, and a request
// Echo would refuse ends the stream with INVALID_ARGUMENT naming the field,
// after the answers before it; unary Echo honours response_bytes too.
TEST_F(LoadgenIntegrationTest,
       EchoStreamAnswersInOrderAndRefusesOversizedAnswers) {
  auto stub = rapport::bench::v1::EchoService::NewStub(grpc::CreateChannel(
      absl::StrCat("127.0.0.1:", port_), grpc::InsecureChannelCredentials()));
  grpc::ClientContext ctx;
  auto stream = stub->EchoStream(&ctx);
  std::vector<rapport::bench::v1::EchoRequest> sent(3);
  sent[0].set_payload("a");
  sent[1].set_payload("bc");
  sent[1].set_response_bytes(5);
  sent[2].set_response_bytes(3);
  for (const auto& r : sent) ASSERT_TRUE(stream->Write(r));
  rapport::bench::v1::EchoRequest too_big;
  too_big.set_payload("z");
  too_big.set_response_bytes(2u << 20);
  ASSERT_TRUE(stream->Write(too_big));
  stream->WritesDone();
  rapport::bench::v1::EchoResponse resp;
  std::vector<std::string> answers;
  while (stream->Read(&resp)) answers.push_back(resp.payload());
  EXPECT_THAT(answers,
              ::testing::ElementsAre("a", "bcbcb", std::string(3, '\0')));
  const grpc::Status status = stream->Finish();
  EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(status.error_message(), HasSubstr("response_bytes: 2097152"));

  grpc::ClientContext unary_ctx;
  rapport::bench::v1::EchoResponse unary;
  ASSERT_TRUE(stub->Echo(&unary_ctx, sent[1], &unary).ok());
  EXPECT_EQ(unary.payload(), "bcbcb");
  grpc::ClientContext refused_ctx;
  EXPECT_EQ(stub->Echo(&refused_ctx, too_big, &unary).error_code(),
            grpc::StatusCode::INVALID_ARGUMENT);
}

// server::OrderedStreamReactor's bound, through EchoStream: a client that
// writes and never reads is stopped (HTTP/2 flow control) once the
// server's window of unwritten answers is full and the transport's buffers
// with it; once it reads, every answer arrives, in order.
TEST_F(LoadgenIntegrationTest,
       EchoStreamStopsReadingWhileNobodyReadsItsAnswers) {
  auto stub = rapport::bench::v1::EchoService::NewStub(grpc::CreateChannel(
      absl::StrCat("127.0.0.1:", port_), grpc::InsecureChannelCredentials()));
  grpc::ClientContext ctx;
  auto stream = stub->EchoStream(&ctx);
  constexpr int kRequests = 1000;
  std::atomic<int> written{0};
  std::thread writer([&] {
    rapport::bench::v1::EchoRequest request;
    request.set_response_bytes(128 << 10);
    for (int i = 0; i < kRequests; ++i) {
      // 64 KiB, starting with the request's number.
      request.set_payload(absl::StrCat(i, ":", std::string(64 << 10, 'x')));
      if (!stream->Write(request)) return;
      written.fetch_add(1);
    }
    stream->WritesDone();
  });
  // Wait until the writes stop making progress for a second.
  int last = -1;
  for (int waited = 0; waited < 30 && written.load() != last; ++waited) {
    last = written.load();
    std::this_thread::sleep_for(std::chrono::seconds(1));
  }
  const int stalled_at = written.load();
  EXPECT_LT(stalled_at, kRequests)
      << "the server kept reading with nobody reading its answers";

  rapport::bench::v1::EchoResponse response;
  int answered = 0;
  bool in_order = true;
  while (in_order && stream->Read(&response)) {
    const std::string expected = absl::StrCat(answered, ":");
    in_order = response.payload().substr(0, expected.size()) == expected &&
               response.payload().size() == size_t{128} << 10;
    EXPECT_TRUE(in_order) << "answer " << answered << " is not the answer "
                          << "to request " << answered;
    if (in_order) ++answered;
  }
  if (!in_order) ctx.TryCancel();  // lets the writer's blocked Write end
  writer.join();
  EXPECT_TRUE(stream->Finish().ok() || !in_order);
  EXPECT_EQ(answered, kRequests);
  std::cerr << "writes stalled at " << stalled_at << " of " << kRequests
            << "\n";
}

TEST_F(LoadgenIntegrationTest, JsonRequestAndTextOutput) {
  std::string out;
  std::string err;
  ASSERT_EQ(RunLoadgen({"--duration=0.3", "--warmup=0", "--concurrency=2",
                        "--method=/rapport.bench.v1.EchoService/Echo",
                        R"(--request={"payload":"aGVsbG8="})"},
                       &out, &err),
            0)
      << "stdout: " << out << "\nstderr: " << err;
  EXPECT_THAT(out, HasSubstr("qps "));
  EXPECT_THAT(out, HasSubstr("p99.9 "));
  EXPECT_THAT(out, HasSubstr("errors 0)"));
}

TEST_F(LoadgenIntegrationTest, BadRequestFailsFastNamingTheFlag) {
  std::string out;
  std::string err;
  EXPECT_EQ(RunLoadgen({"--duration=1", R"(--request={"paylod":"aGk="})"}, &out,
                       &err),
            2);
  EXPECT_THAT(err, HasSubstr("--request: "));
  EXPECT_THAT(err, HasSubstr("paylod"));
}

TEST_F(LoadgenIntegrationTest, MethodTheServerDoesNotServeFailsFast) {
  std::string out;
  std::string err;
  // A compiled-in unary method echo-server does not implement.
  EXPECT_EQ(RunLoadgen({"--duration=1",
                        "--method=rapport.scoring.v1.ScoringService/GetModel"},
                       &out, &err),
            2);
  EXPECT_THAT(err, HasSubstr("--method: "));
  EXPECT_THAT(err, HasSubstr("does not serve"));
}

// scoring-service with its own redis-server. Requests name an inline
// recipient, so no profile-service is needed.
class LoadgenScoringTest : public ServerTest {
 protected:
  void SetUp() override {
    auto redis = rapport::testing::RedisServer::Start();
    ASSERT_TRUE(redis.ok()) << redis.status();
    redis_ = *std::move(redis);
    StartServer("scoring-service",
                {"RAPPORT_REDIS_URL=" + redis_->url(),
                 absl::StrCat("RAPPORT_PROFILE_ADDR=127.0.0.1:", FreePort())});
  }

  void TearDown() override {
    ServerTest::TearDown();  // the service before its Redis
    redis_.reset();
  }

  static std::string Request(const std::string& body) {
    return absl::StrCat(
        R"(--request={"message":{"channel":"CHANNEL_EMAIL","subject":"Denver",)",
        R"("body":")", body, R"("},"recipient":{"id":"it-mitch",)",
        R"("full_name":"Mitchell Grant","preferred_name":"Mitch",)",
        R"("priorities":["cut onboarding time for new reps"]}})");
  }

  std::unique_ptr<rapport::testing::RedisServer> redis_;
};

constexpr char kScoreMessages[] =
    "--method=rapport.scoring.v1.ScoringService/ScoreMessages";
constexpr char kDraft[] =
    "Hi Mitch, congratulations on the new Denver hub. How long do new reps "
    "take to ramp there?";

TEST_F(LoadgenScoringTest, ScoreMessagesStreamsAreDrivenAndClosedCleanly) {
  std::string out;
  std::string err;
  ASSERT_EQ(RunLoadgen({kScoreMessages, Request(kDraft), "--concurrency=2",
                        "--channels=2", "--window=4", "--vary=message.body",
                        "--duration=1", "--warmup=0.2", "--json"},
                       &out, &err),
            0)
      << "stdout: " << out << "\nstderr: " << err;
  const google::protobuf::Struct report = Report(out);
  const auto& f = report.fields();
  EXPECT_EQ(f.at("method").string_value(),
            "/rapport.scoring.v1.ScoringService/ScoreMessages");
  EXPECT_EQ(f.at("mode").string_value(), "bidi");
  EXPECT_EQ(f.at("window").number_value(), 4);
  EXPECT_EQ(f.at("item_error_field").string_value(), "error");
  EXPECT_GT(f.at("calls").number_value(), 0);
  EXPECT_EQ(f.at("errors").number_value(), 0) << out;
  EXPECT_EQ(f.at("item_errors").number_value(), 0);
  EXPECT_EQ(f.at("calls").number_value(), f.at("ok").number_value());
  EXPECT_GT(f.at("latency_us").struct_value().fields().at("p50").number_value(),
            0);
  // One stream per slot for the whole run, each ended OK: nothing failed
  // and the close at the end of the window was clean.
  EXPECT_EQ(f.at("streams").number_value(), 2) << out;
  EXPECT_EQ(f.at("streams_failed").number_value(), 0) << out;
  EXPECT_EQ(f.at("vary").list_value().values(0).string_value(), "message.body");
}

TEST_F(LoadgenScoringTest, EveryFailedStreamItemCountsAsAnError) {
  std::string out;
  std::string err;
  // An empty body is answered with an ItemError (INVALID_ARGUMENT,
  // "message.body: ...") and the stream goes on.
  EXPECT_EQ(
      RunLoadgen({kScoreMessages, Request(""), "--concurrency=2", "--window=2",
                  "--duration=0.5", "--warmup=0.1", "--json"},
                 &out, &err),
      1)
      << "stdout: " << out << "\nstderr: " << err;
  EXPECT_THAT(err, HasSubstr("the first response reports a failed item"));
  EXPECT_THAT(err, HasSubstr("message.body"));
  const google::protobuf::Struct report = Report(out);
  const auto& f = report.fields();
  const double calls = f.at("calls").number_value();
  EXPECT_GT(calls, 0);
  EXPECT_EQ(f.at("ok").number_value(), 0);
  EXPECT_EQ(f.at("errors").number_value(), calls);
  EXPECT_EQ(f.at("item_errors").number_value(), calls);
  EXPECT_EQ(f.at("errors_by_code")
                .struct_value()
                .fields()
                .at("ITEM_INVALID_ARGUMENT")
                .number_value(),
            calls);
  EXPECT_EQ(f.at("streams_failed").number_value(), 0) << out;
}

TEST_F(LoadgenScoringTest, UnaryScoreMessageWithVary) {
  std::string out;
  std::string err;
  ASSERT_EQ(
      RunLoadgen({"--method=rapport.scoring.v1.ScoringService/"
                  "ScoreMessage",
                  Request(kDraft), "--vary=message.body", "--concurrency=2",
                  "--duration=0.5", "--warmup=0.1", "--json"},
                 &out, &err),
      0)
      << "stdout: " << out << "\nstderr: " << err;
  const google::protobuf::Struct report = Report(out);
  EXPECT_GT(report.fields().at("ok").number_value(), 0);
  EXPECT_EQ(report.fields().at("errors").number_value(), 0) << out;
  EXPECT_FALSE(report.fields().contains("mode"));
}

TEST_F(LoadgenScoringTest, StreamFlagsOnAUnaryMethodAreRefused) {
  std::string out;
  std::string err;
  EXPECT_EQ(RunLoadgen({"--method=rapport.scoring.v1.ScoringService/"
                        "ScoreMessage",
                        Request(kDraft), "--window=4", "--duration=0.2"},
                       &out, &err),
            2);
  EXPECT_THAT(err, HasSubstr("--window: "));
}

}  // namespace
