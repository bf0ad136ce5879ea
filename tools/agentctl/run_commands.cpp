// SPDX-License-Identifier: Apache-2.0
// `runs`: projects' runs (docs/runs.md, docs/api.md "Projects and runs"). A run is created in
// a project, which `runs create` makes on first use; its events are an SSE stream that resumes
// with Last-Event-ID; its workspace downloads as a zip.
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <memory>
#include <string>

#include <agentcore/json_writer.hpp>
#include <agentcore/ulid.hpp>

#include "commands.hpp"

namespace agentcore::ctl {
namespace {

struct RunArgs {
  std::string project;
  std::string run;
  std::string prompt;
  std::string idempotency_key;
  std::string cursor;
  std::string output;
  int max_attempts = 0;
  int limit = 20;
  bool wait = false;
};

std::string RunPath(const RunArgs& a) {
  return "/v1/projects/" + Seg(a.project) + "/runs/" + Seg(a.run);
}

// Prints a run's events until `done` or `error`; returns whether it succeeded. Tokens are
// written as they come (the builder's text); everything else is one line; a terminal also
// gets a progress line with the run's phase and how long it has been going.
bool FollowRun(Ctl& ctl, const RunArgs& a) {
  const Output& out = ctl.out();
  ProgressLine progress(out);
  const auto start = std::chrono::steady_clock::now();
  std::string phase = "waiting";
  bool mid_line = false;  // tokens were written without a newline yet
  bool succeeded = false;
  auto line = [&](const std::string& text) {
    if (mid_line) std::fputc('\n', stdout);
    mid_line = false;
    out.Line(text);
  };
  ctl.api().FollowEvents(
      RunPath(a) + "/stream", "",
      [&](const SseEvent& e) {
        progress.Clear();
        auto data = ParseJson(e.data);
        const Json event = data.ok() ? *data : Json(e.data);
        if (e.type == "done") succeeded = Text(event, "status", "") == "succeeded";
        if (out.json) {
          std::string text;
          JsonWriter(&text).BeginObject().Field("id", e.seq).Field("event", e.type)
              .Field("data", event).EndObject();
          out.Line(text);
        } else if (e.type == "token") {
          const std::string t = Text(event, "text", "");
          std::fwrite(t.data(), 1, t.size(), stdout);
          std::fflush(stdout);
          mid_line = !t.empty() && t.back() != '\n';
        } else if (e.type == "status") {
          phase = Text(event, "status", phase);
          if (phase != "usage" && phase != "message") line(out.Paint("· " + Cell(phase), Colour::kDim));
        } else if (e.type == "tool") {
          if (Text(event, "phase", "") == "start") line(out.Paint("⚙ " + Cell(Text(event, "name")), Colour::kDim));
        } else if (e.type == "done") {
          line("run " + out.State(Cell(Text(event, "status"))));
        } else if (e.type == "error") {
          line("run " + out.State("failed") + ": " + Cell(Text(event, "error")) + ": " +
               Cell(Text(event, "message")));
        }
        if (e.type == "done" || e.type == "error") return false;
        if (!out.json && !mid_line) {
          const long secs = std::chrono::duration_cast<std::chrono::seconds>(
                                std::chrono::steady_clock::now() - start).count();
          progress.Show("run " + a.run + ": " + phase + " · " + std::to_string(secs) + " s");
        }
        return true;
      },
      [&](const std::string& notice) { std::fprintf(stderr, "agentctl: %s\n", notice.c_str()); });
  return succeeded;
}

void PrintRunLine(Ctl& ctl, const Json& run) {
  ctl.out().Line("run " + Text(run, "id") + " " + ctl.out().State(Cell(Text(run, "status"))));
}

// download.zip: streamed to the file (through a temporary beside it), with bytes and rate on
// a terminal.
void Download(Ctl& ctl, const RunArgs& a) {
  std::string target = a.output;
  std::unique_ptr<std::ofstream> file;
  const bool to_stdout = target == "-";
  std::string tmp;
  ProgressLine progress(ctl.out());
  const auto start = std::chrono::steady_clock::now();
  auto last_shown = start;
  std::uint64_t bytes = 0;
  ctl.api().Stream(RunPath(a) + "/download.zip", {{"Accept", "application/zip"}},
                   [&](const HttpResponse& head, std::string_view data) {
    if (!to_stdout && !file) {
      if (target.empty()) {
        target = a.project + "-" + a.run + ".zip";
        const std::string cd(head.Header("Content-Disposition").value_or(""));
        const std::size_t at = cd.find("filename=\"");
        if (at != std::string::npos) {
          const std::string name = cd.substr(at + 10, cd.find('"', at + 10) - at - 10);
          // Only a plain file name: never a path from the server.
          if (!name.empty() && name.find('/') == std::string::npos && name != "." && name != "..") {
            target = name;
          }
        }
      }
      tmp = target + ".part";
      file = std::make_unique<std::ofstream>(tmp, std::ios::binary | std::ios::trunc);
      if (!*file) throw CtlError(kExitUsage, "cannot write " + tmp);
    }
    if (to_stdout) {
      std::fwrite(data.data(), 1, data.size(), stdout);
    } else {
      file->write(data.data(), static_cast<std::streamsize>(data.size()));
    }
    bytes += data.size();
    const auto now = std::chrono::steady_clock::now();
    if (now - last_shown > std::chrono::milliseconds(100)) {
      last_shown = now;
      const double secs = std::chrono::duration<double>(now - start).count();
      progress.Show("downloading " + HumanBytes(static_cast<double>(bytes)) + " at " +
                    HumanBytes(static_cast<double>(bytes) / std::max(secs, 0.001)) + "/s");
    }
    return true;
  });
  progress.Clear();
  if (to_stdout) {
    std::fflush(stdout);
    return;
  }
  if (!file) {  // an empty body: still a file
    if (target.empty()) target = a.project + "-" + a.run + ".zip";
    tmp = target + ".part";
    file = std::make_unique<std::ofstream>(tmp, std::ios::binary | std::ios::trunc);
  }
  file->close();
  if (!*file) throw CtlError(kExitUsage, "cannot write " + tmp);
  std::filesystem::rename(tmp, target);
  const double secs =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  if (ctl.out().json) {
    std::string text;
    JsonWriter(&text).BeginObject().Field("file", target).Field("bytes", bytes).EndObject();
    ctl.out().Line(text);
  } else {
    ctl.out().Line("saved " + target + " (" + HumanBytes(static_cast<double>(bytes)) + " in " +
                   std::to_string(static_cast<int>(secs * 1000)) + " ms)");
  }
}

}  // namespace

void AddRunCommands(CLI::App& app, Ctl& ctl) {
  CLI::App* g = Group(app, "runs", "Runs of a project's builder (docs/runs.md)");
  auto project_and_run = [](CLI::App* c, const std::shared_ptr<RunArgs>& a) {
    c->add_option("project", a->project, "Project id")->required();
    c->add_option("run", a->run, "Run id")->required();
  };

  auto a = std::make_shared<RunArgs>();
  CLI::App* create = Command(g, ctl, "create", "Start a run (the project is created if new)", [&ctl, a] {
    std::string project;
    JsonWriter(&project).BeginObject().Field("id", a->project).EndObject();
    ctl.api().Call("POST", "/v1/projects", project);
    std::string body;
    JsonWriter w(&body);
    w.BeginObject().Field("prompt", a->prompt);
    if (a->max_attempts > 0) w.Field("maxAttempts", a->max_attempts);
    w.EndObject();
    // A retried command with the same key gets the same run, never a second one.
    const std::string key = a->idempotency_key.empty() ? NewUlid() : a->idempotency_key;
    HttpResponse r = ctl.api().Call("POST", "/v1/projects/" + Seg(a->project) + "/runs", body,
                                    {{"Idempotency-Key", key}});
    Json run = Body(r);
    a->run = Text(run, "id", "");
    if (!a->wait) {
      if (!PrintedJson(ctl, r.body)) PrintRunLine(ctl, run);
      return;
    }
    if (!ctl.out().json) PrintRunLine(ctl, run);
    if (!FollowRun(ctl, *a)) throw CtlError(kExitServerError, "run " + a->run + " did not succeed");
  });
  create->add_option("project", a->project, "Project id")->required();
  create->add_option("prompt", a->prompt, "What to build")->required();
  create->add_option("--idempotency-key", a->idempotency_key,
                     "Retry-safe key (default: a new one each time)");
  create->add_option("--max-attempts", a->max_attempts, "Attempts before the run fails");
  create->add_flag("--wait", a->wait, "Follow the run's events until it ends (as `runs stream`)");

  a = std::make_shared<RunArgs>();
  CLI::App* list = Command(g, ctl, "list", "A project's runs, newest first", [&ctl, a] {
    std::string path = "/v1/projects/" + Seg(a->project) + "/runs?limit=" + std::to_string(a->limit);
    if (!a->cursor.empty()) path += "&cursor=" + Seg(a->cursor);
    HttpResponse r = ctl.api().Call("GET", path);
    if (PrintedJson(ctl, r.body)) return;
    Json body = Body(r);
    Table t({"ID", "STATUS", "ATTEMPTS", "CREATED", "PROMPT"});
    for (const Json& run : Items(body, "runs")) {
      t.Row({Text(run, "id"), ctl.out().State(Cell(Text(run, "status"))), Text(run, "attempts"),
             Text(run, "createdAt"), Cell(Text(run, "prompt"), 60)});
    }
    t.Print(ctl.out());
    if (const std::string next = Text(body, "nextCursor", ""); !next.empty()) {
      ctl.out().Line(ctl.out().Paint("more: --cursor " + Cell(next), Colour::kDim));
    }
  });
  list->add_option("project", a->project, "Project id")->required();
  list->add_option("--limit", a->limit, "Runs per page")->check(CLI::Range(1, 1000));
  list->add_option("--cursor", a->cursor, "Continue after a previous page");

  a = std::make_shared<RunArgs>();
  CLI::App* show = Command(g, ctl, "show", "A run's envelope", [&ctl, a] {
    HttpResponse r = ctl.api().Call("GET", RunPath(*a));
    if (!PrintedJson(ctl, r.body)) PrintFields(ctl.out(), Body(r));
  });
  project_and_run(show, a);

  a = std::make_shared<RunArgs>();
  CLI::App* stream = Command(g, ctl, "stream", "A run's events, history then live, until it ends",
                             [&ctl, a] {
    if (!FollowRun(ctl, *a)) throw CtlError(kExitServerError, "run " + a->run + " did not succeed");
  });
  project_and_run(stream, a);

  a = std::make_shared<RunArgs>();
  CLI::App* cancel = Command(g, ctl, "cancel", "Cancel a run", [&ctl, a] {
    HttpResponse r = ctl.api().Call("POST", RunPath(*a) + "/cancel");
    if (!PrintedJson(ctl, r.body)) PrintRunLine(ctl, Body(r));
  });
  project_and_run(cancel, a);

  a = std::make_shared<RunArgs>();
  CLI::App* download = Command(g, ctl, "download", "The run's workspace as a zip", [&ctl, a] {
    Download(ctl, *a);
  });
  project_and_run(download, a);
  download->add_option("-o,--output", a->output,
                       "File to write (default: the server's name; - for stdout)");
}

}  // namespace agentcore::ctl
