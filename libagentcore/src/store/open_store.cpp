// SPDX-License-Identifier: Apache-2.0
// OpenStore(url): picks the backend from the URL's scheme.
#include "store/store_url.hpp"

#include <fmt/format.h>

#include <agentcore/store/store.hpp>

namespace agentcore {

namespace internal {

namespace {

bool StartsWith(std::string_view s, std::string_view prefix) {
  return s.substr(0, prefix.size()) == prefix;
}

}  // namespace

bool IsPostgresStoreUrl(std::string_view url) {
  return StartsWith(url, "postgres://") || StartsWith(url, "postgresql://");
}

Result<SqliteStoreOptions> SqliteStoreOptionsFromUrl(std::string_view url) {
  if (url.empty()) return InvalidArgument("store url is empty");
  SqliteStoreOptions options;
  if (url == "sqlite::memory:") {
    options.path = ":memory:";
  } else if (StartsWith(url, "sqlite://")) {
    // "sqlite:///abs/path" keeps its leading slash; "sqlite://rel/path" is relative to the
    // working directory (the common, if informal, SQLAlchemy-style reading). One query
    // parameter: "?synchronous=full" (fsync every commit) or "=normal" (the default).
    std::string_view rest = url.substr(9);
    const std::size_t query = rest.find('?');
    if (query != std::string_view::npos) {
      const std::string_view param = rest.substr(query + 1);
      if (param == "synchronous=full") {
        options.synchronous_full = true;
      } else if (param != "synchronous=normal") {
        return InvalidArgument(fmt::format(
            "store url \"{}\": unknown parameter \"{}\" (expected synchronous=normal or "
            "synchronous=full)",
            url, param));
      }
      rest = rest.substr(0, query);
    }
    options.path = std::string(rest);
    if (options.path.empty() || options.path == "/") {
      return InvalidArgument(fmt::format("store url \"{}\" names no database file", url));
    }
  } else if (StartsWith(url, "sqlite:")) {
    return InvalidArgument(fmt::format(
        "store url \"{}\": expected sqlite:///abs/path, sqlite://rel/path or sqlite::memory:",
        url));
  } else if (url.find("://") != std::string_view::npos) {
    return InvalidArgument(fmt::format(
        "store url \"{}\" has an unsupported scheme (expected sqlite or postgres)", url));
  } else {
    options.path = std::string(url);  // a plain path, or ":memory:"
  }
  return options;
}

}  // namespace internal

Result<std::unique_ptr<Store>> OpenStore(std::string_view url) {
  if (url.empty()) return InvalidArgument("store url is empty");
  if (internal::IsPostgresStoreUrl(url)) {
    PostgresStoreOptions options;
    options.url = std::string(url);
    return OpenPostgresStore(options);
  }
  AGENTCORE_ASSIGN_OR_RETURN(SqliteStoreOptions options, internal::SqliteStoreOptionsFromUrl(url));
  return OpenSqliteStore(options);
}

}  // namespace agentcore
