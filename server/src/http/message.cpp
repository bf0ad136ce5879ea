// SPDX-License-Identifier: Apache-2.0
#include "http/message.hpp"

#include <charconv>

#include <agentcore/json_writer.hpp>

namespace agentcore::server {
namespace {

char Lower(char c) { return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c; }

int HexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

}  // namespace

bool EqualsIgnoreCase(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i) {
    if (Lower(a[i]) != Lower(b[i])) return false;
  }
  return true;
}

std::optional<std::string> UrlDecode(std::string_view text, bool plus_is_space) {
  std::string out;
  out.reserve(text.size());
  for (std::size_t i = 0; i < text.size(); ++i) {
    char c = text[i];
    if (c == '%') {
      if (i + 2 >= text.size()) return std::nullopt;
      int hi = HexValue(text[i + 1]);
      int lo = HexValue(text[i + 2]);
      if (hi < 0 || lo < 0) return std::nullopt;
      out.push_back(static_cast<char>(hi * 16 + lo));
      i += 2;
    } else if (c == '+' && plus_is_space) {
      out.push_back(' ');
    } else {
      out.push_back(c);
    }
  }
  return out;
}

std::optional<std::string_view> Request::Find(std::string_view name) const {
  for (const Header& h : headers) {
    if (EqualsIgnoreCase(h.name, name)) return std::string_view(h.value);
  }
  return std::nullopt;
}

std::optional<std::string> Request::Query(std::string_view name) const {
  std::string_view rest = query;
  while (!rest.empty()) {
    std::size_t amp = rest.find('&');
    std::string_view pair = rest.substr(0, amp);
    rest = amp == std::string_view::npos ? std::string_view() : rest.substr(amp + 1);
    std::size_t eq = pair.find('=');
    std::string_view key = pair.substr(0, eq);
    std::optional<std::string> decoded_key = UrlDecode(key, true);
    if (!decoded_key || *decoded_key != name) continue;
    if (eq == std::string_view::npos) return std::string();
    return UrlDecode(pair.substr(eq + 1), true);
  }
  return std::nullopt;
}

std::string_view StatusText(int status) {
  // RFC 9110 §15 reason phrases.
  switch (status) {
    case 100: return "Continue";
    case 101: return "Switching Protocols";
    case 200: return "OK";
    case 201: return "Created";
    case 202: return "Accepted";
    case 203: return "Non-Authoritative Information";
    case 204: return "No Content";
    case 205: return "Reset Content";
    case 206: return "Partial Content";
    case 300: return "Multiple Choices";
    case 301: return "Moved Permanently";
    case 302: return "Found";
    case 303: return "See Other";
    case 304: return "Not Modified";
    case 307: return "Temporary Redirect";
    case 308: return "Permanent Redirect";
    case 400: return "Bad Request";
    case 401: return "Unauthorized";
    case 402: return "Payment Required";
    case 403: return "Forbidden";
    case 404: return "Not Found";
    case 405: return "Method Not Allowed";
    case 406: return "Not Acceptable";
    case 407: return "Proxy Authentication Required";
    case 408: return "Request Timeout";
    case 409: return "Conflict";
    case 410: return "Gone";
    case 411: return "Length Required";
    case 412: return "Precondition Failed";
    case 413: return "Content Too Large";
    case 414: return "URI Too Long";
    case 415: return "Unsupported Media Type";
    case 416: return "Range Not Satisfiable";
    case 417: return "Expectation Failed";
    case 421: return "Misdirected Request";
    case 422: return "Unprocessable Content";
    case 426: return "Upgrade Required";
    case 428: return "Precondition Required";
    case 429: return "Too Many Requests";
    case 431: return "Request Header Fields Too Large";
    case 500: return "Internal Server Error";
    case 501: return "Not Implemented";
    case 502: return "Bad Gateway";
    case 503: return "Service Unavailable";
    case 504: return "Gateway Timeout";
    case 505: return "HTTP Version Not Supported";
    default: return "Unknown";
  }
}

void AppendResponse(const Response& response, bool keep_alive, std::string* out) {
  char digits[24];
  out->append("HTTP/1.1 ");
  auto [end, ec] = std::to_chars(digits, digits + sizeof digits, response.status);
  (void)ec;
  out->append(digits, end);
  out->push_back(' ');
  out->append(StatusText(response.status));
  out->append("\r\n");
  if (!response.content_type.empty()) {
    out->append("Content-Type: ").append(response.content_type).append("\r\n");
  }
  for (const Header& h : response.headers) {
    out->append(h.name).append(": ").append(h.value).append("\r\n");
  }
  out->append("Content-Length: ");
  auto length = std::to_chars(digits, digits + sizeof digits, response.body.size());
  out->append(digits, length.ptr);
  out->append(keep_alive ? "\r\n\r\n" : "\r\nConnection: close\r\n\r\n");
  out->append(response.body);
}

Response JsonResponse(int status, std::string body) {
  Response r;
  r.status = status;
  r.body = std::move(body);
  return r;
}

Response CastError(int status, std::string_view text) {
  std::string body;
  JsonWriter(&body).BeginObject().Field("error", text).EndObject();
  return JsonResponse(status, std::move(body));
}

Response CodedError(int status, std::string_view code, std::string_view message) {
  std::string body;
  JsonWriter(&body).BeginObject().Field("error", code).Field("message", message).EndObject();
  return JsonResponse(status, std::move(body));
}

Response ErrorWithCode(int status, std::string_view message, std::string_view code) {
  std::string body;
  JsonWriter(&body).BeginObject().Field("error", message).Field("code", code).EndObject();
  return JsonResponse(status, std::move(body));
}

int HttpStatusFor(ErrorCode code) {
  switch (code) {
    case ErrorCode::kOk: return 200;
    case ErrorCode::kInvalidArgument: return 400;
    case ErrorCode::kUnauthenticated: return 401;
    case ErrorCode::kPermissionDenied: return 403;
    case ErrorCode::kNotFound: return 404;
    case ErrorCode::kAlreadyExists: return 409;
    case ErrorCode::kConflict: return 409;
    case ErrorCode::kTooLarge: return 413;
    case ErrorCode::kRateLimited: return 429;
    case ErrorCode::kInternal: return 500;
    case ErrorCode::kNotSupported: return 501;
    case ErrorCode::kUnavailable: return 503;
    case ErrorCode::kDeadlineExceeded: return 504;
    case ErrorCode::kUnknownOutcome: return 503;
  }
  return 500;
}

Response StatusError(const Status& status) {
  return CodedError(HttpStatusFor(status.code()), ErrorCodeName(status.code()), status.message());
}

}  // namespace agentcore::server
