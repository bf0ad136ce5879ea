// SPDX-License-Identifier: Apache-2.0
// HttpRequest's TLS fields (ca_file, ca_pem, client certificates, insecure_skip_tls_verify)
// against `openssl s_server`, and the `cancelled` hook against a silent stream.
#include <agentcore/http/client.hpp>

#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <spawn.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include <doctest/doctest.h>

#include "support/test_http_server.hpp"

extern char** environ;

using agentcore::ErrorCode;
using agentcore::HttpRequest;
using agentcore::NewHttpClient;
using agentcore::testing::TestHttpConnection;
using agentcore::testing::TestHttpRequest;
using agentcore::testing::TestHttpServer;
using namespace std::chrono_literals;

namespace {

int Run(const std::vector<std::string>& argv, pid_t* pid_out = nullptr) {
  std::vector<char*> args;
  for (const std::string& a : argv) args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_addopen(&fa, 1, "/dev/null", O_WRONLY, 0);
  posix_spawn_file_actions_addopen(&fa, 2, "/dev/null", O_WRONLY, 0);
  posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
  pid_t pid = 0;
  const int rc = posix_spawnp(&pid, args[0], &fa, nullptr, args.data(), environ);
  posix_spawn_file_actions_destroy(&fa);
  if (rc != 0) return -1;
  if (pid_out != nullptr) {
    *pid_out = pid;
    return 0;
  }
  int status = 0;
  ::waitpid(pid, &status, 0);
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

int FreePort() {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr);
  socklen_t len = sizeof addr;
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
  ::close(fd);
  return ntohs(addr.sin_port);
}

std::string ReadAll(const std::string& path) {
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// A self-signed certificate for 127.0.0.1 and `openssl s_server -www` serving with it.
class TlsServer {
 public:
  TlsServer() {
    std::string tmpl = (std::filesystem::temp_directory_path() / "agentcore-tls-XXXXXX").string();
    REQUIRE(::mkdtemp(tmpl.data()) != nullptr);
    dir_ = tmpl;
    const int rc =
        Run({"openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1",
             "-nodes", "-keyout", dir_ + "/key.pem", "-out", dir_ + "/cert.pem", "-days", "1",
             "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1"});
    if (rc != 0) return;
    port_ = FreePort();
    if (Run({"openssl", "s_server", "-quiet", "-accept", std::to_string(port_), "-cert",
             dir_ + "/cert.pem", "-key", dir_ + "/key.pem", "-www"},
            &pid_) != 0) {
      return;
    }
    // Ready once it accepts TCP connections.
    for (int i = 0; i < 200 && !ready_; ++i) {
      const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
      sockaddr_in addr{};
      addr.sin_family = AF_INET;
      addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
      addr.sin_port = htons(static_cast<std::uint16_t>(port_));
      ready_ = ::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0;
      ::close(fd);
      if (!ready_) std::this_thread::sleep_for(20ms);
    }
  }
  ~TlsServer() {
    if (pid_ > 0) {
      ::kill(pid_, SIGTERM);
      ::waitpid(pid_, nullptr, 0);
    }
    std::error_code ec;
    std::filesystem::remove_all(dir_, ec);
  }
  bool ready() const { return ready_; }
  std::string url() const { return "https://127.0.0.1:" + std::to_string(port_) + "/"; }
  std::string cert_file() const { return dir_ + "/cert.pem"; }
  std::string cert_pem() const { return ReadAll(cert_file()); }

 private:
  std::string dir_;
  int port_ = 0;
  pid_t pid_ = -1;
  bool ready_ = false;
};

}  // namespace

TEST_SUITE("HttpClient TLS") {
  TEST_CASE("a server certificate is verified against ca_file or ca_pem") {
    TlsServer server;
    if (!server.ready()) {
      MESSAGE("openssl s_server is not available: TLS case skipped");
      return;
    }
    auto client = NewHttpClient();
    HttpRequest req;
    req.url = server.url();
    req.timeout = 5s;

    auto untrusted = client->Send(req);  // the system store does not know this certificate
    REQUIRE(!untrusted.ok());
    CHECK(untrusted.status().code() == ErrorCode::kInternal);

    req.ca_file = server.cert_file();
    auto by_file = client->Send(req);
    REQUIRE(by_file.ok());
    CHECK(by_file->status == 200);

    req.ca_file.clear();
    req.ca_pem = server.cert_pem();
    auto by_pem = client->Send(req);
    REQUIRE(by_pem.ok());
    CHECK(by_pem->status == 200);

    req.ca_pem = "-----BEGIN CERTIFICATE-----\nbm90IGEgY2VydA==\n-----END CERTIFICATE-----\n";
    CHECK(!client->Send(req).ok());

    req.ca_pem.clear();
    req.insecure_skip_tls_verify = true;
    auto insecure = client->Send(req);
    REQUIRE(insecure.ok());
    CHECK(insecure->status == 200);
  }

  TEST_CASE("a bad client certificate fails the call with an error") {
    TlsServer server;
    if (!server.ready()) {
      MESSAGE("openssl s_server is not available: TLS case skipped");
      return;
    }
    auto client = NewHttpClient();
    HttpRequest req;
    req.url = server.url();
    req.ca_file = server.cert_file();
    req.client_cert_pem = "not a certificate";
    req.client_key_pem = "not a key";
    auto res = client->Send(req);
    REQUIRE(!res.ok());
    CHECK(res.status().code() == ErrorCode::kInternal);
    CHECK(res.status().message().find("not a key") == std::string::npos);
  }
}

TEST_SUITE("HttpClient cancel") {
  TEST_CASE("cancelled() abandons a silent stream within about a second") {
    TestHttpServer server([](TestHttpConnection& conn, const TestHttpRequest&) {
      conn.Write("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n");
      conn.WaitForClose();  // then silence
      return false;
    });
    auto client = NewHttpClient();
    HttpRequest req;
    req.url = server.Url("/watch");
    req.timeout = 0ms;
    std::atomic<bool> stop{false};
    req.cancelled = [&] { return stop.load(); };
    std::string got;
    std::thread stopper([&] {
      std::this_thread::sleep_for(200ms);
      stop = true;
    });
    const auto start = std::chrono::steady_clock::now();
    auto res = client->SendWithBodyCallback(req, [&](std::string_view b) {
      got.append(b);
      return true;
    });
    const auto took = std::chrono::steady_clock::now() - start;
    stopper.join();
    REQUIRE(!res.ok());
    CHECK(res.status().code() == ErrorCode::kUnavailable);
    CHECK(res.status().message().find("cancelled") != std::string::npos);
    CHECK(got == "hello");
    CHECK(took < 3s);
  }

  TEST_CASE("a cancel hook that never fires changes nothing") {
    TestHttpServer server([](TestHttpConnection& conn, const TestHttpRequest&) {
      return conn.WriteResponse(200, {}, "body");
    });
    auto client = NewHttpClient();
    HttpRequest req;
    req.url = server.Url("/");
    req.cancelled = [] { return false; };
    auto res = client->Send(req);
    REQUIRE(res.ok());
    CHECK(res->body == "body");
  }
}
