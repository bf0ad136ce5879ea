// SPDX-License-Identifier: Apache-2.0
#pragma once

// RAII owners for libpq's two heap objects, so that no path (error returns included) leaks a
// connection or a result.

#include <memory>

#include <libpq-fe.h>

namespace agentcore::internal {

struct PgConnDeleter {
  void operator()(PGconn* conn) const { PQfinish(conn); }
};
struct PgResultDeleter {
  void operator()(PGresult* result) const { PQclear(result); }
};

using PgConnPtr = std::unique_ptr<PGconn, PgConnDeleter>;
using PgResultPtr = std::unique_ptr<PGresult, PgResultDeleter>;

}  // namespace agentcore::internal
