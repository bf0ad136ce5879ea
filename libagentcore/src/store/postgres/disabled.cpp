// SPDX-License-Identifier: Apache-2.0
// Built instead of the PostgreSQL store when the library is configured with
// -DAGENTCORE_WITH_POSTGRESQL=OFF (no libpq at build or run time). The factory stays in the API
// so that callers, OpenStore("postgres://...") included, get a typed answer instead of a link
// error: kNotSupported, as for any capability a build lacks.
#include <agentcore/store/store.hpp>

namespace agentcore {

Result<std::unique_ptr<Store>> OpenPostgresStore(const PostgresStoreOptions& /*options*/) {
  return NotSupported(
      "postgresql store not built: this library was configured with "
      "AGENTCORE_WITH_POSTGRESQL=OFF");
}

}  // namespace agentcore
