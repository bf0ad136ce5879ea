// SPDX-License-Identifier: Apache-2.0
#include <doctest/doctest.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <agentcore/workspace/zip.hpp>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>
#include <string>
#include <vector>

#include "support/run_command.hpp"
#include "support/temp_dir.hpp"

namespace agentcore {
namespace {

using testing::TempDir;

int Run(const std::vector<std::string>& argv, std::string* out = nullptr) {
  return testing::RunCommand(argv, out);
}

// `n` bytes that deflate cannot shrink (xorshift32).
std::string Noise(std::size_t n) {
  std::string out(n, '\0');
  std::uint32_t x = 2463534242u;
  for (char& c : out) {
    x ^= x << 13;
    x ^= x >> 17;
    x ^= x << 5;
    c = static_cast<char>(x & 0xFF);
  }
  return out;
}

std::string ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// Zips `root` into a string.
Result<ZipStats> ZipToString(const std::string& root, const ZipOptions& options,
                             std::string* archive) {
  archive->clear();
  return ZipDirectory(root, options, [archive](std::string_view chunk) {
    archive->append(chunk);
    return true;
  });
}

// Every regular file under `dir` (relative path -> content) and every directory (-> "<dir>").
std::map<std::string, std::string> Snapshot(const std::string& dir) {
  std::map<std::string, std::string> out;
  std::error_code ec;
  for (auto it = std::filesystem::recursive_directory_iterator(dir, ec);
       !ec && it != std::filesystem::recursive_directory_iterator(); it.increment(ec)) {
    const std::string rel = std::filesystem::relative(it->path(), dir).string();
    if (it->is_symlink()) {
      out[rel] = "<symlink>";
    } else if (it->is_directory()) {
      out[rel] = "<dir>";
    } else {
      out[rel] = ReadFile(it->path().string());
    }
  }
  return out;
}

// Writes `archive` to a file, checks it with `unzip -t` and `python3 -m zipfile -t`, extracts
// it with unzip and returns what was extracted.
std::map<std::string, std::string> CheckAndExtract(const std::string& archive) {
  TempDir out("ac-unzip");
  REQUIRE(!out.path().empty());
  const std::string zip = out / "a.zip";
  {
    std::ofstream f(zip, std::ios::binary);
    f.write(archive.data(), static_cast<std::streamsize>(archive.size()));
  }
  std::string log;
  CHECK_MESSAGE(Run({"unzip", "-t", "-q", zip}, &log) == 0, log);
  CHECK_MESSAGE(Run({"python3", "-m", "zipfile", "-t", zip}, &log) == 0, log);
  REQUIRE_MESSAGE(Run({"unzip", "-q", zip, "-d", out / "x"}, &log) == 0, log);
  std::error_code ec;
  if (!std::filesystem::exists(out / "x", ec)) return {};
  return Snapshot(out / "x");
}

TEST_SUITE("workspace/zip") {
  TEST_CASE("archives a tree that unzip and python's zipfile read back byte for byte") {
    TempDir dir("ac-zip");
    REQUIRE(!dir.path().empty());
    std::string binary;
    for (unsigned i = 0; i < 300000; ++i) binary.push_back(static_cast<char>((i * 7919u) % 251u));
    REQUIRE(dir.Write("README.md", "# hello\n"));
    REQUIRE(dir.Write("src/main.c", "int main(void) { return 0; }\n"));
    REQUIRE(dir.Write("src/lib/util.c", std::string(200000, 'a')));  // compresses well
    REQUIRE(dir.Write("data/blob.bin", binary));                     // several 64 KiB blocks
    REQUIRE(dir.Write("empty.txt", ""));
    REQUIRE(dir.Write("r\xC3\xA9sum\xC3\xA9/\xE6\x97\xA5\xE6\x9C\xAC.txt", "unicode"));
    REQUIRE(std::filesystem::create_directories(dir / "empty/dir"));

    std::string archive;
    auto stats = ZipToString(dir.path(), ZipOptions{}, &archive);
    REQUIRE(stats.ok());
    CHECK(stats->files == 6);
    CHECK(stats->directories == 6);  // data, empty, empty/dir, résumé, src, src/lib
    CHECK(stats->entries == 12);
    CHECK(stats->uncompressed_bytes == 8 + 29 + 200000 + 300000 + 0 + 7);
    CHECK(stats->archive_bytes == archive.size());
    CHECK(stats->skipped == 0);
    CHECK(archive.size() < 300000 + 20000);  // the 'a's compressed

    CHECK(CheckAndExtract(archive) == Snapshot(dir.path()));
  }

  TEST_CASE("keeps permission bits and modification times") {
    TempDir dir("ac-zip");
    REQUIRE(!dir.path().empty());
    REQUIRE(dir.Write("run.sh", "#!/bin/sh\necho hi\n"));
    REQUIRE(::chmod((dir / "run.sh").c_str(), 0755) == 0);
    const auto when = std::filesystem::file_time_type::clock::now() - std::chrono::hours(24 * 400);
    std::filesystem::last_write_time(dir / "run.sh", when);
    std::string archive;
    REQUIRE(ZipToString(dir.path(), ZipOptions{}, &archive).ok());
    TempDir out("ac-unzip");
    {
      std::ofstream f(out / "a.zip", std::ios::binary);
      f.write(archive.data(), static_cast<std::streamsize>(archive.size()));
    }
    REQUIRE(Run({"unzip", "-q", out / "a.zip", "-d", out / "x"}) == 0);
    struct stat st {};
    REQUIRE(::stat((out / "x/run.sh").c_str(), &st) == 0);
    CHECK((st.st_mode & 0777) == 0755);
    struct stat orig {};
    REQUIRE(::stat((dir / "run.sh").c_str(), &orig) == 0);
    CHECK(st.st_mtim.tv_sec == orig.st_mtim.tv_sec);
  }

  TEST_CASE("the same tree gives the same bytes, in sorted order") {
    TempDir dir("ac-zip");
    REQUIRE(!dir.path().empty());
    for (const char* name : {"b.txt", "a/z.txt", "a.txt", "c/d/e.txt", "A.txt"}) {
      REQUIRE(dir.Write(name, name));
    }
    std::string first;
    std::string second;
    REQUIRE(ZipToString(dir.path(), ZipOptions{}, &first).ok());
    REQUIRE(ZipToString(dir.path(), ZipOptions{}, &second).ok());
    CHECK(first == second);
    std::string listing;
    TempDir out("ac-unzip");
    {
      std::ofstream f(out / "a.zip", std::ios::binary);
      f.write(first.data(), static_cast<std::streamsize>(first.size()));
    }
    REQUIRE(Run({"zipinfo", "-1", out / "a.zip"}, &listing) == 0);
    CHECK(listing == "A.txt\na.txt\na/\na/z.txt\nb.txt\nc/\nc/d/\nc/d/e.txt\n");
  }

  TEST_CASE("an empty directory gives a valid empty archive") {
    TempDir dir("ac-zip");
    REQUIRE(!dir.path().empty());
    std::string archive;
    auto stats = ZipToString(dir.path(), ZipOptions{}, &archive);
    REQUIRE(stats.ok());
    CHECK(stats->entries == 0);
    CHECK(archive.size() == 22);  // the end record alone
    std::string log;
    TempDir out("ac-unzip");
    {
      std::ofstream f(out / "a.zip", std::ios::binary);
      f.write(archive.data(), static_cast<std::streamsize>(archive.size()));
    }
    CHECK_MESSAGE(Run({"python3", "-m", "zipfile", "-t", out / "a.zip"}, &log) == 0, log);
    // Exit status = the number of entries python finds.
    CHECK_MESSAGE(
        Run({"python3", "-c",
             "import sys, zipfile; sys.exit(len(zipfile.ZipFile(sys.argv[1]).namelist()))",
             out / "a.zip"},
            &log) == 0,
        log);
  }

  TEST_CASE("leaves out secrets by default, and whatever a custom exclude names") {
    TempDir dir("ac-zip");
    REQUIRE(!dir.path().empty());
    REQUIRE(dir.Write("app.js", "ok"));
    REQUIRE(dir.Write(".env", "TOKEN=1"));
    REQUIRE(dir.Write(".env.local", "TOKEN=2"));
    REQUIRE(dir.Write("certs/server.pem", "-----BEGIN"));
    REQUIRE(dir.Write(".git/config", "[core]"));
    REQUIRE(dir.Write(".git/objects/aa/bb", "obj"));
    REQUIRE(dir.Write("node_modules/x/index.js", "x"));

    std::string archive;
    auto stats = ZipToString(dir.path(), ZipOptions{}, &archive);
    REQUIRE(stats.ok());
    CHECK(stats->excluded == 4);  // .env, .env.local, server.pem, .git (not descended)
    auto got = CheckAndExtract(archive);
    CHECK(got == std::map<std::string, std::string>{{"app.js", "ok"},
                                                    {"certs", "<dir>"},
                                                    {"node_modules", "<dir>"},
                                                    {"node_modules/x", "<dir>"},
                                                    {"node_modules/x/index.js", "x"}});

    SUBCASE("an empty exclude function still keeps secrets out") {
      ZipOptions options;
      options.exclude = nullptr;
      REQUIRE(ZipToString(dir.path(), options, &archive).ok());
      CHECK(CheckAndExtract(archive).count(".env") == 0);
    }
    SUBCASE("a custom exclude replaces the default, directories are not descended") {
      ZipOptions options;
      std::vector<std::string> asked;
      options.exclude = [&asked](std::string_view rel) {
        asked.emplace_back(rel);
        return rel == "node_modules";
      };
      REQUIRE(ZipToString(dir.path(), options, &archive).ok());
      auto all = CheckAndExtract(archive);
      CHECK(all.count(".env") == 1);
      CHECK(all.count("node_modules") == 0);
      for (const std::string& a : asked) CHECK(a.rfind("node_modules/", 0) != 0);
    }
  }

  TEST_CASE("skips symlinks, FIFOs and sockets and never follows a symlinked directory") {
    TempDir outside("ac-zip-out");
    REQUIRE(outside.Write("secret.txt", "outside"));
    TempDir dir("ac-zip");
    REQUIRE(!dir.path().empty());
    REQUIRE(dir.Write("real.txt", "real"));
    REQUIRE(::symlink((outside / "secret.txt").c_str(), (dir / "link.txt").c_str()) == 0);
    REQUIRE(::symlink(outside.path().c_str(), (dir / "linkdir").c_str()) == 0);
    REQUIRE(::symlink("real.txt", (dir / "inside_link").c_str()) == 0);
    REQUIRE(::mkfifo((dir / "fifo").c_str(), 0600) == 0);
    const int sock = ::socket(AF_UNIX, SOCK_STREAM, 0);
    REQUIRE(sock >= 0);
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    const std::string sock_path = dir / "sock";
    REQUIRE(sock_path.size() < sizeof(addr.sun_path));
    std::memcpy(addr.sun_path, sock_path.c_str(), sock_path.size() + 1);
    REQUIRE(::bind(sock, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0);

    std::string archive;
    auto stats = ZipToString(dir.path(), ZipOptions{}, &archive);
    ::close(sock);
    REQUIRE(stats.ok());
    CHECK(stats->skipped == 5);
    CHECK(stats->entries == 1);
    CHECK(CheckAndExtract(archive) == std::map<std::string, std::string>{{"real.txt", "real"}});
  }

  TEST_CASE("refuses a tree over the byte limit before producing any byte") {
    TempDir dir("ac-zip");
    REQUIRE(!dir.path().empty());
    REQUIRE(dir.Write("a.bin", std::string(600, 'a')));
    REQUIRE(dir.Write("b/b.bin", std::string(500, 'b')));
    ZipOptions options;
    options.max_uncompressed_bytes = 1000;
    bool called = false;
    auto r = ZipDirectory(dir.path(), options, [&called](std::string_view) {
      called = true;
      return true;
    });
    REQUIRE_FALSE(r.ok());
    CHECK(r.error().code() == ErrorCode::kTooLarge);
    CHECK(r.error().message().find("1100 bytes") != std::string::npos);
    CHECK(r.error().message().find("limit of 1000 bytes") != std::string::npos);
    CHECK_FALSE(called);

    options.max_uncompressed_bytes = 1100;  // exactly at the limit is fine
    std::string archive;
    CHECK(ZipToString(dir.path(), options, &archive).ok());
  }

  TEST_CASE("refuses a tree over the entry limit before producing any byte") {
    TempDir dir("ac-zip");
    REQUIRE(!dir.path().empty());
    for (int i = 0; i < 5; ++i) REQUIRE(dir.Write("d/f" + std::to_string(i), "x"));
    ZipOptions options;
    options.max_entries = 5;  // d/ plus five files is six
    bool called = false;
    auto r = ZipDirectory(dir.path(), options, [&called](std::string_view) {
      called = true;
      return true;
    });
    REQUIRE_FALSE(r.ok());
    CHECK(r.error().code() == ErrorCode::kTooLarge);
    CHECK(r.error().message().find("more than 5 entries") != std::string::npos);
    CHECK_FALSE(called);
    options.max_entries = 6;
    std::string archive;
    CHECK(ZipToString(dir.path(), options, &archive).ok());
  }

  TEST_CASE("stops with kUnavailable when the sink refuses") {
    TempDir dir("ac-zip");
    REQUIRE(!dir.path().empty());
    const std::string noise = Noise(400000);
    REQUIRE(dir.Write("a.bin", noise));
    REQUIRE(dir.Write("b.bin", noise));
    for (int refuse_at : {1, 2, 3}) {
      CAPTURE(refuse_at);
      int calls = 0;
      auto r = ZipDirectory(dir.path(), ZipOptions{},
                            [&calls, refuse_at](std::string_view) { return ++calls < refuse_at; });
      REQUIRE_FALSE(r.ok());
      CHECK(r.error().code() == ErrorCode::kUnavailable);
      CHECK(calls == refuse_at);  // never called again after refusing
    }
  }

  TEST_CASE("archives 1,000 files") {
    TempDir dir("ac-zip");
    REQUIRE(!dir.path().empty());
    for (int i = 0; i < 1000; ++i) {
      REQUIRE(dir.Write("d" + std::to_string(i % 10) + "/file" + std::to_string(i) + ".txt",
                        "content " + std::to_string(i) + "\n"));
    }
    std::string archive;
    auto stats = ZipToString(dir.path(), ZipOptions{}, &archive);
    REQUIRE(stats.ok());
    CHECK(stats->files == 1000);
    CHECK(stats->directories == 10);
    CHECK(CheckAndExtract(archive) == Snapshot(dir.path()));
  }

  TEST_CASE("every deflate level gives a valid archive and bad levels are refused") {
    TempDir dir("ac-zip");
    REQUIRE(!dir.path().empty());
    REQUIRE(dir.Write("a.txt", std::string(100000, 'q') + "end"));
    for (int level : {0, 1, 6, 9}) {
      CAPTURE(level);
      ZipOptions options;
      options.deflate_level = level;
      std::string archive;
      REQUIRE(ZipToString(dir.path(), options, &archive).ok());
      CHECK(CheckAndExtract(archive) == Snapshot(dir.path()));
    }
    for (int level : {-1, 10}) {
      ZipOptions options;
      options.deflate_level = level;
      std::string archive;
      auto r = ZipToString(dir.path(), options, &archive);
      REQUIRE_FALSE(r.ok());
      CHECK(r.error().code() == ErrorCode::kInvalidArgument);
      CHECK(archive.empty());
    }
  }

  TEST_CASE("files that shrink, grow or vanish during the write still give a valid archive") {
    TempDir dir("ac-zip");
    REQUIRE(!dir.path().empty());
    // a_noise.bin does not compress, so the first chunk reaches the sink while it is being
    // written, before the files after it (in sorted order) are opened.
    REQUIRE(dir.Write("a_noise.bin", Noise(300000)));
    REQUIRE(dir.Write("b_shrinks.txt", std::string(1000, 's')));
    REQUIRE(dir.Write("c_grows.txt", std::string(10, 'g')));
    REQUIRE(dir.Write("d_vanishes.txt", "bye"));
    REQUIRE(dir.Write("e_last.txt", "last"));
    REQUIRE(std::filesystem::create_directory(dir / "f_dir"));
    REQUIRE(dir.Write("f_dir/g_becomes_link.txt", "was a file"));
    std::string archive;
    bool changed = false;
    auto stats = ZipDirectory(dir.path(), ZipOptions{}, [&](std::string_view chunk) {
      archive.append(chunk);
      if (!changed) {
        changed = true;
        REQUIRE(dir.Write("b_shrinks.txt", "short"));
        REQUIRE(dir.Write("c_grows.txt", std::string(100, 'G')));
        std::filesystem::remove(dir / "d_vanishes.txt");
        std::filesystem::remove(dir / "f_dir/g_becomes_link.txt");
        REQUIRE(::symlink("/etc/passwd", (dir / "f_dir/g_becomes_link.txt").c_str()) == 0);
      }
      return true;
    });
    REQUIRE(stats.ok());
    CHECK(changed);
    CHECK(stats->vanished == 2);
    CHECK(stats->files == 4);
    CHECK(stats->uncompressed_bytes == 300000 + 5 + 10 + 4);
    auto got = CheckAndExtract(archive);
    CHECK(got.count("d_vanishes.txt") == 0);
    CHECK(got.count("f_dir/g_becomes_link.txt") == 0);
    CHECK(got["b_shrinks.txt"] == "short");
    CHECK(got["c_grows.txt"] == std::string(10, 'G'));  // at most the size the walk saw
    CHECK(got["e_last.txt"] == "last");
  }

  TEST_CASE("a directory swapped for a symlink during the write is not followed") {
    TempDir outside("ac-zip-out");
    REQUIRE(outside.Write("secret.txt", "outside!"));
    TempDir dir("ac-zip");
    REQUIRE(!dir.path().empty());
    REQUIRE(dir.Write("a_noise.bin", Noise(300000)));
    REQUIRE(dir.Write("b/secret.txt", "inside"));
    std::string archive;
    bool changed = false;
    auto stats = ZipDirectory(dir.path(), ZipOptions{}, [&](std::string_view chunk) {
      archive.append(chunk);
      if (!changed) {
        changed = true;
        std::filesystem::remove_all(dir / "b");
        REQUIRE(::symlink(outside.path().c_str(), (dir / "b").c_str()) == 0);
      }
      return true;
    });
    REQUIRE(stats.ok());
    CHECK(stats->vanished == 1);
    CHECK(archive.find("outside!") == std::string::npos);
    auto got = CheckAndExtract(archive);
    CHECK(got.count("b/secret.txt") == 0);
    CHECK(got.count("b") == 1);  // the directory entry was written from the walk
  }

  TEST_CASE("a missing root is not found") {
    TempDir dir("ac-zip");
    REQUIRE(!dir.path().empty());
    REQUIRE(dir.Write("file", "x"));
    std::string archive;
    for (const std::string& root : {dir / "missing", dir / "file"}) {
      auto r = ZipToString(root, ZipOptions{}, &archive);
      REQUIRE_FALSE(r.ok());
      CHECK(r.error().code() == ErrorCode::kNotFound);
    }
  }

  // Skipped unless AGENTCORE_ZIP_BENCH is set: it prints a number, it checks nothing new.
  TEST_CASE("benchmark: zips a 50 MiB tree" *
            doctest::skip(std::getenv("AGENTCORE_ZIP_BENCH") == nullptr)) {
    TempDir dir("ac-zip-bench");
    REQUIRE(!dir.path().empty());
    // Source-like text: words from a small vocabulary, so it compresses like code does.
    const char* words[] = {"int ",   "return ",      "if (",   ") {\n", "}\n",
                           "const ", "std::string ", "value",  "name",  " = ",
                           "0;\n",   "for (",        "auto& ", "x",     "; ++i"};
    std::uint32_t seed = 1;
    std::string text;
    while (text.size() < 512 * 1024) {
      seed = seed * 1103515245u + 12345u;
      text += words[(seed >> 16) % 15];
    }
    for (int i = 0; i < 100; ++i) {
      REQUIRE(dir.Write("src/d" + std::to_string(i % 10) + "/f" + std::to_string(i) + ".cc", text));
    }
    for (int level : {1, 6}) {
      ZipOptions options;
      options.deflate_level = level;
      std::uint64_t bytes = 0;
      const auto start = std::chrono::steady_clock::now();
      auto stats = ZipDirectory(dir.path(), options, [&bytes](std::string_view c) {
        bytes += c.size();
        return true;
      });
      const double secs =
          std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
      REQUIRE(stats.ok());
      std::printf(
          "{\"bench\":\"zip_directory\",\"level\":%d,\"input_mib\":%.1f,\"output_mib\":%.1f,"
          "\"mib_per_s\":%.1f}\n",
          level, static_cast<double>(stats->uncompressed_bytes) / 1048576.0,
          static_cast<double>(bytes) / 1048576.0,
          static_cast<double>(stats->uncompressed_bytes) / 1048576.0 / secs);
    }
  }

}  // TEST_SUITE

}  // namespace
}  // namespace agentcore
