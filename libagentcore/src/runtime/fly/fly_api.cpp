// SPDX-License-Identifier: Apache-2.0
#include "runtime/fly/fly_api.hpp"

#include <algorithm>
#include <cmath>
#include <limits>
#include <utility>

#include <agentcore/json.hpp>

namespace agentcore::internal {
namespace {

std::optional<FlyMachine> DecodeMachine(const Json& v) {
  if (!v.is_object()) return std::nullopt;
  const std::string* id = v.FindString("id");
  if (id == nullptr || id->empty()) return std::nullopt;
  FlyMachine m;
  m.id = *id;
  if (const std::string* s = v.FindString("state")) m.state = *s;
  if (const std::string* s = v.FindString("region")) m.region = *s;
  if (const std::string* s = v.FindString("instance_id")) m.instance_id = *s;
  if (const Json* config = v.Find("config"); config != nullptr && config->is_object()) {
    if (const Json* md = config->Find("metadata"); md != nullptr && md->is_object()) {
      for (const JsonMember& kv : md->as_object()) {
        if (kv.value.is_string()) m.metadata[kv.key] = kv.value.as_string();
      }
    }
  }
  // The newest exit event: Fly lists events newest first, but order by timestamp to be sure.
  double newest = -std::numeric_limits<double>::infinity();
  if (const Json* events = v.Find("events"); events != nullptr && events->is_array()) {
    for (const Json& e : events->as_array()) {
      if (!e.is_object()) continue;
      const std::string* type = e.FindString("type");
      if (type == nullptr || *type != "exit") continue;
      const Json* request = e.Find("request");
      const Json* exit_event =
          request != nullptr && request->is_object() ? request->Find("exit_event") : nullptr;
      if (exit_event == nullptr || !exit_event->is_object()) continue;
      const Json* code = exit_event->Find("exit_code");
      if (code == nullptr || !code->is_number()) continue;
      const double c = code->as_number();
      if (!(c >= -1'000'000 && c <= 1'000'000)) continue;  // NaN and nonsense
      double ts = 0;
      if (const Json* t = e.Find("timestamp"); t != nullptr && t->is_number()) ts = t->as_number();
      if (m.exit_code && !(ts > newest)) continue;
      newest = ts;
      m.exit_code = static_cast<int>(c);
      m.exit_signal = 0;
      if (const Json* sig = exit_event->Find("signal"); sig != nullptr && sig->is_number()) {
        const double s = sig->as_number();
        if (s > 0 && s < 128) m.exit_signal = static_cast<int>(s);
      }
    }
  }
  return m;
}

}  // namespace

Result<FlyMachine> ParseFlyMachine(std::string_view body) {
  Result<Json> v = ParseJson(body);
  if (!v.ok()) return InvalidArgument("not a machine: " + v.status().message());
  std::optional<FlyMachine> m = DecodeMachine(*v);
  if (!m) return InvalidArgument("not a machine: no \"id\"");
  return *std::move(m);
}

Result<std::vector<FlyMachine>> ParseFlyMachineList(std::string_view body) {
  Result<Json> v = ParseJson(body);
  if (!v.ok()) return InvalidArgument("not a machine list: " + v.status().message());
  if (!v->is_array()) return InvalidArgument("not a machine list: not a JSON array");
  std::vector<FlyMachine> out;
  for (const Json& e : v->as_array()) {
    if (std::optional<FlyMachine> m = DecodeMachine(e)) out.push_back(*std::move(m));
  }
  return out;
}

std::string FlyErrorText(int status, std::string_view body) {
  std::string message;
  if (Result<Json> v = ParseJson(body); v.ok() && v->is_object()) {
    if (const std::string* e = v->FindString("error")) message = *e;
  }
  if (message.empty()) message = std::string(body);
  if (message.size() > 200) message.resize(200);
  for (char& c : message) {
    if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) c = ' ';
  }
  while (!message.empty() && message.back() == ' ') message.pop_back();
  std::string out = std::to_string(status);
  if (!message.empty()) out += " " + message;
  return out;
}

std::optional<std::chrono::milliseconds> ParseRetryAfter(std::string_view value) {
  while (!value.empty() && (value.front() == ' ' || value.front() == '\t')) value.remove_prefix(1);
  while (!value.empty() && (value.back() == ' ' || value.back() == '\t')) value.remove_suffix(1);
  if (value.empty() || value.size() > 9) return std::nullopt;  // 9 digits: ~31 years
  std::int64_t seconds = 0;
  for (char c : value) {
    if (c < '0' || c > '9') return std::nullopt;
    seconds = seconds * 10 + (c - '0');
  }
  return std::chrono::milliseconds(seconds * 1000);
}

std::chrono::milliseconds FlyBackoff(int retry, std::chrono::milliseconds base,
                                     std::chrono::milliseconds cap,
                                     std::optional<std::chrono::milliseconds> retry_after,
                                     std::uint64_t random) {
  using std::chrono::milliseconds;
  const std::int64_t cap_ms = std::max<std::int64_t>(0, cap.count());
  std::int64_t ceiling = std::max<std::int64_t>(0, base.count());
  for (int i = 1; i < retry && ceiling < cap_ms; ++i) ceiling *= 2;
  ceiling = std::min(ceiling, cap_ms);
  std::int64_t delay = static_cast<std::int64_t>(random % static_cast<std::uint64_t>(ceiling + 1));
  if (retry_after) delay = std::max<std::int64_t>(delay, retry_after->count());
  return milliseconds(std::min(delay, cap_ms));
}

}  // namespace agentcore::internal
