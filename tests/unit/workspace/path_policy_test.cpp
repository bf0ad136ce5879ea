// SPDX-License-Identifier: Apache-2.0
#include <doctest/doctest.h>
#include <unistd.h>

#include <agentcore/workspace/path_policy.hpp>
#include <filesystem>
#include <string>

#include "support/temp_dir.hpp"

namespace agentcore {
namespace {

using testing::TempDir;

std::string Canonical(const std::string& p) {
  std::error_code ec;
  return std::filesystem::canonical(p, ec).string();
}

void Symlink(const std::string& target, const std::string& link) {
  REQUIRE(::symlink(target.c_str(), link.c_str()) == 0);
}

TEST_SUITE("workspace/path_policy") {
  TEST_CASE("resolves plain, nested and not-yet-existing paths inside the root") {
    TempDir dir("ac-path");
    REQUIRE(!dir.path().empty());
    REQUIRE(dir.Write("src/main.c", "int main(){}"));
    const std::string root = Canonical(dir.path());

    auto r = ResolveInWorkspace(dir.path(), "src/main.c", false);
    REQUIRE(r.ok());
    CHECK(*r == root + "/src/main.c");

    r = ResolveInWorkspace(dir.path(), "new/dir/file.txt", true);
    REQUIRE(r.ok());
    CHECK(*r == root + "/new/dir/file.txt");

    r = ResolveInWorkspace(dir.path(), "./src//main.c", false);
    REQUIRE(r.ok());
    CHECK(*r == root + "/src/main.c");

    r = ResolveInWorkspace(dir.path(), "src/", false);
    REQUIRE(r.ok());
    CHECK(*r == root + "/src");
  }

  TEST_CASE("normalises a/../b inside the root") {
    TempDir dir("ac-path");
    REQUIRE(!dir.path().empty());
    const std::string root = Canonical(dir.path());
    auto r = ResolveInWorkspace(dir.path(), "a/../b", true);
    REQUIRE(r.ok());
    CHECK(*r == root + "/b");
    r = ResolveInWorkspace(dir.path(), "a/b/../../c/./d", false);
    REQUIRE(r.ok());
    CHECK(*r == root + "/c/d");
  }

  TEST_CASE("canonicalises a root given through a symlink") {
    TempDir dir("ac-path");
    REQUIRE(!dir.path().empty());
    REQUIRE(std::filesystem::create_directory(dir / "real"));
    Symlink(dir / "real", dir / "alias");
    auto r = ResolveInWorkspace(dir / "alias", "f.txt", true);
    REQUIRE(r.ok());
    CHECK(*r == Canonical(dir / "real") + "/f.txt");
  }

  TEST_CASE("the root itself is readable but not writable") {
    TempDir dir("ac-path");
    REQUIRE(!dir.path().empty());
    const std::string root = Canonical(dir.path());
    for (const char* rel : {".", "a/..", "./"}) {
      CAPTURE(rel);
      auto r = ResolveInWorkspace(dir.path(), rel, false);
      REQUIRE(r.ok());
      CHECK(*r == root);
      auto w = ResolveInWorkspace(dir.path(), rel, true);
      REQUIRE_FALSE(w.ok());
      CHECK(w.error().code() == ErrorCode::kPermissionDenied);
    }
  }

  TEST_CASE("rejects empty, absolute and NUL-holding paths as invalid") {
    TempDir dir("ac-path");
    REQUIRE(!dir.path().empty());
    const std::string with_nul("a\0b", 3);
    for (std::string_view rel : {std::string_view(""), std::string_view("/etc/passwd"),
                                 std::string_view("/"), std::string_view(with_nul)}) {
      CAPTURE(std::string(rel));
      for (bool write : {false, true}) {
        auto r = ResolveInWorkspace(dir.path(), rel, write);
        REQUIRE_FALSE(r.ok());
        CHECK(r.error().code() == ErrorCode::kInvalidArgument);
      }
    }
  }

  TEST_CASE("refuses .. escapes however they are spelled") {
    TempDir dir("ac-path");
    REQUIRE(!dir.path().empty());
    for (const char* rel : {"..", "../x", "a/../../x", "./../x", "a/b/../../..", "a/./../.."}) {
      CAPTURE(rel);
      for (bool write : {false, true}) {
        auto r = ResolveInWorkspace(dir.path(), rel, write);
        REQUIRE_FALSE(r.ok());
        CHECK(r.error().code() == ErrorCode::kPermissionDenied);
        CHECK(r.error().message().find("leaves the workspace") != std::string::npos);
      }
    }
  }

  TEST_CASE("a missing or non-directory root is not found") {
    TempDir dir("ac-path");
    REQUIRE(!dir.path().empty());
    REQUIRE(dir.Write("file", "x"));
    auto r = ResolveInWorkspace(dir / "missing", "a", false);
    REQUIRE_FALSE(r.ok());
    CHECK(r.error().code() == ErrorCode::kNotFound);
    r = ResolveInWorkspace(dir / "file", "a", false);
    REQUIRE_FALSE(r.ok());
    CHECK(r.error().code() == ErrorCode::kNotFound);
    r = ResolveInWorkspace("", "a", false);
    REQUIRE_FALSE(r.ok());
    CHECK(r.error().code() == ErrorCode::kNotFound);
  }

  TEST_CASE("allows a symlinked directory that points inside the root") {
    TempDir dir("ac-path");
    REQUIRE(!dir.path().empty());
    REQUIRE(dir.Write("ws/real/file.txt", "x"));
    Symlink("real", dir / "ws/inside");        // relative target
    Symlink(dir / "ws/real", dir / "ws/abs");  // absolute target
    const std::string root = Canonical(dir / "ws");
    for (const char* rel : {"inside/file.txt", "abs/file.txt", "inside/new.txt", "inside"}) {
      CAPTURE(rel);
      auto r = ResolveInWorkspace(dir / "ws", rel, true);
      REQUIRE(r.ok());
      CHECK(*r == root + "/" + rel);
    }
  }

  TEST_CASE("refuses a symlink, directory or file, that points outside the root") {
    TempDir dir("ac-path");
    REQUIRE(!dir.path().empty());
    REQUIRE(dir.Write("outside/secret.txt", "s"));
    REQUIRE(std::filesystem::create_directory(dir / "ws"));
    Symlink(dir / "outside", dir / "ws/out");
    Symlink("../outside/secret.txt", dir / "ws/file_out");
    Symlink("/", dir / "ws/slash");
    REQUIRE(std::filesystem::create_directory(dir / "ws/d"));
    Symlink("../../outside", dir / "ws/d/deep");
    for (const char* rel : {"out", "out/secret.txt", "out/new.txt", "out/new/dir/f", "file_out",
                            "slash/etc/passwd", "d/deep/secret.txt"}) {
      CAPTURE(rel);
      for (bool write : {false, true}) {
        auto r = ResolveInWorkspace(dir / "ws", rel, write);
        REQUIRE_FALSE(r.ok());
        CHECK(r.error().code() == ErrorCode::kPermissionDenied);
        CHECK(r.error().message().find("symlink") != std::string::npos);
      }
    }
  }

  TEST_CASE("refuses symlink loops and dangling symlinks") {
    TempDir dir("ac-path");
    REQUIRE(!dir.path().empty());
    Symlink("loop_b", dir / "loop_a");
    Symlink("loop_a", dir / "loop_b");
    Symlink("self", dir / "self");
    Symlink("nowhere", dir / "dangling");
    for (const char* rel : {"loop_a", "loop_a/file", "self", "self/x", "dangling", "dangling/x"}) {
      CAPTURE(rel);
      for (bool write : {false, true}) {
        auto r = ResolveInWorkspace(dir.path(), rel, write);
        REQUIRE_FALSE(r.ok());
        CHECK(r.error().code() == ErrorCode::kPermissionDenied);
      }
    }
  }

  TEST_CASE("refuses writes into .git, directly or through a symlink, but allows reads") {
    TempDir dir("ac-path");
    REQUIRE(!dir.path().empty());
    REQUIRE(dir.Write(".git/config", "[core]"));
    Symlink(".git", dir / "meta");
    Symlink(".", dir / "here");
    for (const char* rel : {".git", ".git/config", ".git/hooks/pre-commit", "a/../.git/x",
                            ".GIT/config", "meta/config", "meta", "here"}) {
      CAPTURE(rel);
      auto w = ResolveInWorkspace(dir.path(), rel, true);
      REQUIRE_FALSE(w.ok());
      CHECK(w.error().code() == ErrorCode::kPermissionDenied);
    }
    CHECK(ResolveInWorkspace(dir.path(), ".git/config", false).ok());
    CHECK(ResolveInWorkspace(dir.path(), "meta/config", false).ok());
    // A symlink to the root is fine when the path goes on below it.
    auto r = ResolveInWorkspace(dir.path(), "here/file.txt", true);
    REQUIRE(r.ok());
    CHECK(*r == Canonical(dir.path()) + "/here/file.txt");
    // Names that merely start with .git are ordinary files.
    CHECK(ResolveInWorkspace(dir.path(), ".gitignore", true).ok());
    CHECK(ResolveInWorkspace(dir.path(), "src/.git-notes", true).ok());
  }

  TEST_CASE("passes unicode names through byte for byte") {
    TempDir dir("ac-path");
    REQUIRE(!dir.path().empty());
    const std::string name =
        "r\xC3\xA9sum\xC3\xA9/\xE6\x97\xA5\xE6\x9C\xAC.txt";  // résumé/日本.txt
    REQUIRE(dir.Write(name, "x"));
    auto r = ResolveInWorkspace(dir.path(), name, true);
    REQUIRE(r.ok());
    CHECK(*r == Canonical(dir.path()) + "/" + name);
    CHECK(std::filesystem::exists(*r));
  }

  TEST_CASE("a path below a regular file is resolved, not refused") {
    TempDir dir("ac-path");
    REQUIRE(!dir.path().empty());
    REQUIRE(dir.Write("file", "x"));
    auto r = ResolveInWorkspace(dir.path(), "file/child", true);
    REQUIRE(r.ok());
    CHECK(*r == Canonical(dir.path()) + "/file/child");
  }

  TEST_CASE("names the secret files") {
    for (const char* rel : {".env",
                            ".env.local",
                            ".env.production",
                            "config/.env",
                            "server.pem",
                            "tls/server.KEY",
                            "id_rsa",
                            "id_rsa.pub",
                            "home/.ssh/id_ed25519",
                            "id_ed25519.pub",
                            ".git",
                            ".git/config",
                            "sub/.git/HEAD",
                            ".npmrc",
                            "pkg/.netrc",
                            "cert.p12",
                            "credentials.json",
                            "gcp/credentials.json",
                            ".ENV",
                            "./.env",
                            ".env.d/anything",
                            "keys.pem/readme"}) {
      CAPTURE(rel);
      CHECK(IsSecretPath(rel));
    }
  }

  TEST_CASE("leaves ordinary files alone") {
    for (const char* rel :
         {"", ".", "README.md", ".gitignore", ".gitattributes", ".environment", "env", "my.env",
          "src/key.ts", "keys/readme.txt", "pem.txt", "credentials.json.example", "credentials",
          "id_dsa_notes", "npmrc", ".github/workflows/ci.yml", "app.keystore",
          "r\xC3\xA9sum\xC3\xA9.txt"}) {
      CAPTURE(rel);
      CHECK_FALSE(IsSecretPath(rel));
    }
  }

}  // TEST_SUITE

}  // namespace
}  // namespace agentcore
