// SPDX-License-Identifier: Apache-2.0
#pragma once

// Artifact blobs as files. A blob is written to "<name>.tmp", fsynced, renamed to "<name>" and
// the directory fsynced, all before the transaction that references it commits: a committed
// row therefore always names a complete, durable file. Names are made by the store (a ULID plus
// ".blob"), never taken from user input, so no slug or channel id reaches the file system.

#include <agentcore/result.hpp>
#include <agentcore/status.hpp>
#include <string>
#include <string_view>

namespace agentcore::internal::sqlite {

// kUnavailable when the file system refuses.
Status WriteBlobFile(const std::string& dir, const std::string& name, std::string_view data);
// kNotFound when the file does not exist; kUnavailable on other errors.
Result<std::string> ReadBlobFile(const std::string& dir, const std::string& name);
// Best effort: a file left behind is an orphan no row references (docs/storage.md).
void RemoveBlobFile(const std::string& dir, const std::string& name);

}  // namespace agentcore::internal::sqlite
