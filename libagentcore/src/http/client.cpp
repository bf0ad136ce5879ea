// SPDX-License-Identifier: Apache-2.0
#include <agentcore/http/client.hpp>

#include <algorithm>
#include <cassert>
#include <cstring>
#include <exception>
#include <mutex>
#include <utility>

#include <curl/curl.h>
#include <fmt/format.h>

namespace agentcore {

HttpClient::~HttpClient() = default;

namespace {

bool EqualsIgnoreCase(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i) {
    char x = a[i];
    char y = b[i];
    if (x >= 'A' && x <= 'Z') x = static_cast<char>(x - 'A' + 'a');
    if (y >= 'A' && y <= 'Z') y = static_cast<char>(y - 'A' + 'a');
    if (x != y) return false;
  }
  return true;
}

std::string_view Trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() &&
         (s.back() == ' ' || s.back() == '\t' || s.back() == '\r' || s.back() == '\n')) {
    s.remove_suffix(1);
  }
  return s;
}

// curl_global_init is not thread-safe and must run before any other curl call. It is never
// undone: curl_global_cleanup would race with other users of libcurl in the process.
CURLcode GlobalInit() {
  static std::once_flag once;
  static CURLcode result = CURLE_OK;
  std::call_once(once, [] { result = curl_global_init(CURL_GLOBAL_DEFAULT); });
  return result;
}

struct SlistDeleter {
  void operator()(curl_slist* list) const { curl_slist_free_all(list); }
};
using Slist = std::unique_ptr<curl_slist, SlistDeleter>;

// The state of one call, shared with the curl callbacks through their userdata pointer.
struct Transfer {
  HttpResponse response;
  std::size_t max_body = 0;
  const HttpChunkSource* source = nullptr;  // SendStreaming only
  const HttpBodySink* sink = nullptr;       // SendWithBodyCallback only
  const std::function<bool(const HttpResponse&)>* on_head = nullptr;  // once the head is in
  std::string chunk;                        // the producer's current chunk
  std::size_t chunk_sent = 0;               // bytes of `chunk` already handed to curl
  bool stopped = false;                     // the sink returned false
  bool too_large = false;
  const std::function<bool()>* cancelled = nullptr;  // HttpRequest::cancelled, when set
  bool was_cancelled = false;
  std::exception_ptr error;  // thrown by a callback; rethrown after cleanup
  char errbuf[CURL_ERROR_SIZE] = {};
};

// libcurl calls it about once a second while idle and whenever data moves: the one place a
// silent stream can be abandoned.
int OnProgress(void* userdata, curl_off_t, curl_off_t, curl_off_t, curl_off_t) {
  auto* t = static_cast<Transfer*>(userdata);
  try {
    if ((*t->cancelled)()) {
      t->was_cancelled = true;
      return 1;
    }
  } catch (...) {
    t->error = std::current_exception();
    return 1;
  }
  return 0;
}

// Header lines arrive one per call, status lines included. A status line starts a new
// response: interim responses (100 Continue) must not leave their fields behind.
std::size_t OnHeader(char* data, std::size_t size, std::size_t nitems, void* userdata) {
  auto* t = static_cast<Transfer*>(userdata);
  const std::size_t n = size * nitems;
  try {
    std::string_view line(data, n);
    if (line.starts_with("HTTP/")) {
      t->response.headers.clear();
      t->response.status = 0;
      const std::size_t sp = line.find(' ');
      if (sp != std::string_view::npos) {
        int code = 0;
        for (std::size_t i = sp + 1; i < line.size() && line[i] >= '0' && line[i] <= '9'; ++i) {
          code = code * 10 + (line[i] - '0');
          if (code > 999) break;
        }
        t->response.status = code;
      }
      return n;
    }
    const std::size_t colon = line.find(':');
    if (colon == std::string_view::npos) {  // the blank line ending the header
      // The final response's head is complete (an interim 1xx is not): before any body byte.
      if (t->on_head != nullptr && t->response.status >= 200) {
        const auto* on_head = std::exchange(t->on_head, nullptr);  // once
        if (!(*on_head)(t->response)) {
          t->stopped = true;
          return 0;
        }
      }
      return n;
    }
    t->response.headers.emplace_back(std::string(Trim(line.substr(0, colon))),
                                     std::string(Trim(line.substr(colon + 1))));
    return n;
  } catch (...) {
    t->error = std::current_exception();
    return 0;  // anything but n aborts the transfer
  }
}

std::size_t OnBody(char* data, std::size_t size, std::size_t nmemb, void* userdata) {
  auto* t = static_cast<Transfer*>(userdata);
  const std::size_t n = size * nmemb;
  try {
    if (t->sink != nullptr) {
      if (!(*t->sink)(std::string_view(data, n))) {
        t->stopped = true;
        return 0;  // CURLE_WRITE_ERROR, which Finish() turns back into OK
      }
      return n;
    }
    if (t->response.body.size() + n > t->max_body) {
      t->too_large = true;
      return 0;
    }
    t->response.body.append(data, n);
    return n;
  } catch (...) {
    t->error = std::current_exception();
    return 0;
  }
}

// Hands curl at most `size * nitems` bytes of the producer's current chunk. curl frames what
// it gets as one HTTP chunk and writes it before calling again, so returning as soon as any
// bytes are ready (never waiting to fill the buffer) is what puts each chunk on the wire at
// once. Returning 0 ends the body; an empty chunk from the producer is therefore skipped.
std::size_t OnRead(char* buffer, std::size_t size, std::size_t nitems, void* userdata) {
  auto* t = static_cast<Transfer*>(userdata);
  try {
    while (t->chunk_sent == t->chunk.size()) {
      std::optional<std::string> next = (*t->source)();
      if (!next.has_value()) return 0;
      t->chunk = std::move(*next);
      t->chunk_sent = 0;
    }
    const std::size_t n = std::min(size * nitems, t->chunk.size() - t->chunk_sent);
    std::memcpy(buffer, t->chunk.data() + t->chunk_sent, n);
    t->chunk_sent += n;
    return n;
  } catch (...) {
    t->error = std::current_exception();
    return CURL_READFUNC_ABORT;
  }
}

bool HasHeader(const HttpHeaders& headers, std::string_view name) {
  return std::any_of(headers.begin(), headers.end(),
                     [&](const auto& h) { return EqualsIgnoreCase(h.first, name); });
}

// The URL without query or fragment, for error messages: a query may carry a token.
std::string_view UrlForMessage(std::string_view url) {
  return url.substr(0, url.find_first_of("?#"));
}

Status CheckHeaders(const HttpRequest& req) {
  for (const auto& [name, value] : req.headers) {
    // A CR or LF would let a caller-supplied value inject header lines (or a second request).
    if (name.empty() || name.find_first_of("\r\n:") != std::string::npos ||
        value.find_first_of("\r\n") != std::string::npos) {
      return InvalidArgument(fmt::format("http header \"{}\" for {} {} has a bad name or value",
                                         name.substr(0, 64), req.method, UrlForMessage(req.url)));
    }
  }
  return Status();
}

// Builds the header list. libcurl adds some headers of its own; a line "Name:" removes one
// and "Name;" sends a header with an empty value.
Result<Slist> BuildHeaders(const HttpRequest& req, bool chunked) {
  Slist owner;
  auto add = [&](const std::string& line) -> bool {
    // Returns the list's head, which changes only on the first append.
    curl_slist* head = curl_slist_append(owner.get(), line.c_str());
    if (head == nullptr) return false;
    if (!owner) owner.reset(head);
    return true;
  };
  bool ok = true;
  for (const auto& [name, value] : req.headers) {
    ok = ok && add(value.empty() ? name + ";" : name + ": " + value);
  }
  // curl sends `Expect: 100-continue` before large or chunked bodies and then waits up to a
  // second for the interim response, which most servers never send.
  if (!HasHeader(req.headers, "Expect")) ok = ok && add("Expect:");
  // curl labels every POST body application/x-www-form-urlencoded unless told otherwise.
  if (!HasHeader(req.headers, "Content-Type")) ok = ok && add("Content-Type:");
  if (chunked && !HasHeader(req.headers, "Transfer-Encoding")) {
    ok = ok && add("Transfer-Encoding: chunked");
  }
  if (!ok) return Internal("curl_slist_append failed");
  return owner;
}

class CurlHttpClient final : public HttpClient {
 public:
  ~CurlHttpClient() override {
    for (CURL* h : idle_) curl_easy_cleanup(h);
  }

  Result<HttpResponse> Send(const HttpRequest& req) override { return Run(req, nullptr, nullptr); }

  Result<HttpResponse> SendStreaming(const HttpRequest& req, HttpChunkSource next_chunk) override {
    assert(next_chunk);
    return Run(req, &next_chunk, nullptr);
  }

  Result<HttpResponse> SendWithBodyCallback(const HttpRequest& req, HttpBodySink on_data) override {
    assert(on_data);
    return Run(req, nullptr, &on_data);
  }

 private:
  static constexpr std::size_t kMaxIdleHandles = 8;

  // Each easy handle keeps its own connection cache, so a handle taken back from idle_ brings
  // its kept-alive connection with it, and concurrent calls never share one.
  Result<CURL*> Acquire() {
    {
      std::lock_guard<std::mutex> lock(mu_);
      if (!idle_.empty()) {
        CURL* h = idle_.back();
        idle_.pop_back();
        return h;
      }
    }
    if (CURLcode rc = GlobalInit(); rc != CURLE_OK) {
      return Internal(fmt::format("curl_global_init failed: {}", curl_easy_strerror(rc)));
    }
    CURL* h = curl_easy_init();
    if (h == nullptr) return Internal("curl_easy_init failed");
    return h;
  }

  void Release(CURL* h) {
    // Drop the pointers into this call's Transfer and header list; the connection stays.
    curl_easy_reset(h);
    {
      std::lock_guard<std::mutex> lock(mu_);
      if (idle_.size() < kMaxIdleHandles) {
        idle_.push_back(h);
        return;
      }
    }
    curl_easy_cleanup(h);
  }

  Result<HttpResponse> Run(const HttpRequest& req, const HttpChunkSource* source,
                           const HttpBodySink* sink) {
    AGENTCORE_RETURN_IF_ERROR(CheckHeaders(req));
    AGENTCORE_ASSIGN_OR_RETURN(Slist headers, BuildHeaders(req, source != nullptr));
    AGENTCORE_ASSIGN_OR_RETURN(CURL * h, Acquire());

    Transfer t;
    t.max_body = req.max_response_bytes;
    t.source = source;
    t.sink = sink;
    if (sink != nullptr && req.on_response_head) t.on_head = &req.on_response_head;
    const CURLcode rc = Configure(h, req, headers.get(), &t);
    const CURLcode result = rc == CURLE_OK ? curl_easy_perform(h) : rc;
    Release(h);
    if (t.error) std::rethrow_exception(t.error);
    return Finish(req, result, std::move(t));
  }

  static CURLcode Configure(CURL* h, const HttpRequest& req, curl_slist* headers, Transfer* t) {
    CURLcode rc = CURLE_OK;
    auto set = [&](CURLoption opt, auto value) {
      if (rc == CURLE_OK) rc = curl_easy_setopt(h, opt, value);
    };
    set(CURLOPT_ERRORBUFFER, t->errbuf);
    // Without it curl uses SIGALRM for resolver timeouts, which is unsafe with threads.
    set(CURLOPT_NOSIGNAL, 1L);
    set(CURLOPT_URL, req.url.c_str());
    // Callback URLs come from agents: never let one reach file://, gopher:// and the like.
    set(CURLOPT_PROTOCOLS_STR, "http,https");
    set(CURLOPT_HTTP_VERSION, static_cast<long>(CURL_HTTP_VERSION_1_1));
    set(CURLOPT_TIMEOUT_MS, static_cast<long>(req.timeout.count()));
    set(CURLOPT_CONNECTTIMEOUT_MS, static_cast<long>(req.connect_timeout.count()));
    if (!req.unix_socket_path.empty()) {
      set(CURLOPT_UNIX_SOCKET_PATH, req.unix_socket_path.c_str());
    }
    if (!req.ca_file.empty()) set(CURLOPT_CAINFO, req.ca_file.c_str());
    if (!req.ca_pem.empty()) {
      // The blob is copied by libcurl (CURL_BLOB_COPY), so the request may go away.
      curl_blob blob{const_cast<char*>(req.ca_pem.data()), req.ca_pem.size(), CURL_BLOB_COPY};
      set(CURLOPT_CAINFO_BLOB, &blob);
    }
    if (!req.client_cert_pem.empty()) {
      curl_blob cert{const_cast<char*>(req.client_cert_pem.data()), req.client_cert_pem.size(),
                     CURL_BLOB_COPY};
      set(CURLOPT_SSLCERT_BLOB, &cert);
      set(CURLOPT_SSLCERTTYPE, "PEM");
    }
    if (!req.client_key_pem.empty()) {
      curl_blob key{const_cast<char*>(req.client_key_pem.data()), req.client_key_pem.size(),
                    CURL_BLOB_COPY};
      set(CURLOPT_SSLKEY_BLOB, &key);
      set(CURLOPT_SSLKEYTYPE, "PEM");
    }
    if (req.insecure_skip_tls_verify) {
      set(CURLOPT_SSL_VERIFYPEER, 0L);
      set(CURLOPT_SSL_VERIFYHOST, 0L);
    }
    if (req.cancelled) {
      t->cancelled = &req.cancelled;
      set(CURLOPT_XFERINFOFUNCTION, &OnProgress);
      set(CURLOPT_XFERINFODATA, static_cast<void*>(t));
      set(CURLOPT_NOPROGRESS, 0L);
    }
    set(CURLOPT_HTTPHEADER, headers);
    set(CURLOPT_HEADERFUNCTION, &OnHeader);
    set(CURLOPT_HEADERDATA, static_cast<void*>(t));
    set(CURLOPT_WRITEFUNCTION, &OnBody);
    set(CURLOPT_WRITEDATA, static_cast<void*>(t));

    const bool custom_method = req.method != "POST";
    if (t->source != nullptr) {
      // POST with a read callback and no size: curl sends the body chunked. The upload buffer
      // size (CURLOPT_UPLOAD_BUFFERSIZE, 64 KiB by default) only caps how much of one producer
      // chunk goes into one HTTP chunk; it never delays sending, see OnRead.
      set(CURLOPT_POST, 1L);
      set(CURLOPT_READFUNCTION, &OnRead);
      set(CURLOPT_READDATA, static_cast<void*>(t));
      if (custom_method) set(CURLOPT_CUSTOMREQUEST, req.method.c_str());
    } else if (req.method == "HEAD") {
      set(CURLOPT_NOBODY, 1L);
    } else if (!req.body.empty() || req.method == "POST" || req.method == "PUT" ||
               req.method == "PATCH") {
      set(CURLOPT_POST, 1L);
      set(CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(req.body.size()));
      set(CURLOPT_POSTFIELDS, req.body.data());
      if (custom_method) set(CURLOPT_CUSTOMREQUEST, req.method.c_str());
    } else {
      set(CURLOPT_HTTPGET, 1L);
      if (req.method != "GET") set(CURLOPT_CUSTOMREQUEST, req.method.c_str());
    }
    return rc;
  }

  static Result<HttpResponse> Finish(const HttpRequest& req, CURLcode rc, Transfer t) {
    if (rc == CURLE_OK || (rc == CURLE_WRITE_ERROR && t.stopped)) {
      return std::move(t.response);
    }
    const std::string_view url = UrlForMessage(req.url);
    if (t.was_cancelled) return Unavailable(fmt::format("{} {}: cancelled", req.method, url));
    if (t.too_large) {
      return TooLarge(fmt::format("response to {} {} is over {} bytes", req.method, url,
                                  req.max_response_bytes));
    }
    const std::string detail =
        t.errbuf[0] != '\0' ? std::string(t.errbuf) : std::string(curl_easy_strerror(rc));
    std::string msg = fmt::format("{} {}: {}", req.method, url, detail);
    // Not a switch: CURLcode has about a hundred values and -Wswitch-enum wants them all.
    if (rc == CURLE_COULDNT_RESOLVE_HOST || rc == CURLE_COULDNT_RESOLVE_PROXY ||
        rc == CURLE_COULDNT_CONNECT || rc == CURLE_GOT_NOTHING || rc == CURLE_SEND_ERROR ||
        rc == CURLE_RECV_ERROR || rc == CURLE_PARTIAL_FILE) {
      return Unavailable(std::move(msg));
    }
    if (rc == CURLE_OPERATION_TIMEDOUT) {
      return Status(ErrorCode::kDeadlineExceeded, std::move(msg));
    }
    if (rc == CURLE_URL_MALFORMAT || rc == CURLE_UNSUPPORTED_PROTOCOL) {
      return InvalidArgument(std::move(msg));
    }
    return Internal(std::move(msg));
  }

  std::mutex mu_;
  // Guarded by mu_.
  std::vector<CURL*> idle_;
};

}  // namespace

std::optional<std::string_view> HttpResponse::Header(std::string_view name) const {
  for (const auto& [key, value] : headers) {
    if (EqualsIgnoreCase(key, name)) return std::string_view(value);
  }
  return std::nullopt;
}

std::unique_ptr<HttpClient> NewHttpClient() { return std::make_unique<CurlHttpClient>(); }

std::string UrlEncodeComponent(std::string_view s) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  out.reserve(s.size());
  for (unsigned char c : s) {
    if ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' ||
        c == '_' || c == '.' || c == '~') {
      out += static_cast<char>(c);
    } else {
      out += '%';
      out += kHex[c >> 4];
      out += kHex[c & 15];
    }
  }
  return out;
}

}  // namespace agentcore
