// SPDX-License-Identifier: Apache-2.0
#include "config.hpp"

#include <sys/stat.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>

#include <agentcore/json.hpp>

namespace agentcore::ctl {
namespace {

std::string Env(const char* name) {
  const char* v = std::getenv(name);
  return v != nullptr ? std::string(v) : std::string();
}

// The file's JSON object; an empty object when there is no file.
Json ReadConfigFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return Json::Object();
  std::stringstream text;
  text << in.rdbuf();
  if (text.str().size() > 64 * 1024) throw CtlError(kExitUsage, path + ": larger than 64 KiB");
  auto parsed = ParseJson(text.str());
  if (!parsed.ok() || !parsed->is_object()) {
    throw CtlError(kExitUsage, path + ": not a JSON object (" +
                                   (parsed.ok() ? std::string("another value")
                                                : parsed.status().message()) + ")");
  }
  for (const auto& member : parsed->as_object()) {
    if (!member.value.is_string()) {
      throw CtlError(kExitUsage, path + ": \"" + member.key + "\" must be a string");
    }
  }
  return *std::move(parsed);
}

void Pick(const std::string& flag, const char* env, const Json& file, const char* file_key,
          std::string* value, std::string* source) {
  if (!flag.empty()) {
    *value = flag;
    *source = "flag";
  } else if (std::string e = Env(env); !e.empty()) {
    *value = e;
    *source = "env";
  } else if (const std::string* f = file.FindString(file_key); f != nullptr && !f->empty()) {
    *value = *f;
    *source = "file";
  }
}

}  // namespace

std::string ConfigPath(const GlobalFlags& flags) {
  if (!flags.config_path.empty()) return flags.config_path;
  std::string base = Env("XDG_CONFIG_HOME");
  if (base.empty()) base = Env("HOME") + "/.config";
  return base + "/agentctl/config";
}

Settings ResolveSettings(const GlobalFlags& flags) {
  const Json file = ReadConfigFile(ConfigPath(flags));
  Settings s{kDefaultUrl, "", "default", "none"};
  Pick(flags.url, "AGENTCORE_URL", file, "url", &s.url, &s.url_source);
  Pick(flags.api_key, "AGENTCORE_API_KEY", file, "apiKey", &s.api_key, &s.api_key_source);
  while (s.url.ends_with('/')) s.url.pop_back();
  if (!s.url.starts_with("http://") && !s.url.starts_with("https://")) {
    throw CtlError(kExitUsage, "the server URL must start with http:// or https:// (from " +
                                   s.url_source + "): " + s.url);
  }
  return s;
}

void WriteConfigValue(const std::string& path, const std::string& name, const std::string& value) {
  const char* key = name == "url" ? "url" : name == "api-key" ? "apiKey" : nullptr;
  if (key == nullptr) throw CtlError(kExitUsage, "unknown setting \"" + name + "\" (url, api-key)");
  Json config = ReadConfigFile(path);
  config.Set(key, value);
  std::error_code ec;
  std::filesystem::create_directories(std::filesystem::path(path).parent_path(), ec);
  const std::string tmp = path + ".tmp";
  {
    // Created owner-only before a byte of the key is written.
    const mode_t old = ::umask(077);
    std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
    ::umask(old);
    out << ToJson(config) << '\n';
    if (!out.flush()) throw CtlError(kExitUsage, "cannot write " + tmp + ": " + std::strerror(errno));
  }
  std::filesystem::rename(tmp, path, ec);
  if (ec) throw CtlError(kExitUsage, "cannot write " + path + ": " + ec.message());
}

}  // namespace agentcore::ctl
