// SPDX-License-Identifier: Apache-2.0
#pragma once

// Every SQL statement the PostgreSQL store runs, as one table of named prepared statements.
// Column lists are shared with the row decoders in pg_rows.hpp: the k*Columns constants below
// and the decoders read the same positions.
//
// Each statement casts its parameters explicitly ($n::bigint, $n::json): strings are sent in
// binary format (pg_params.hpp), and an uncast parameter in a SELECT list would be typed text.

#include <span>

#include "store/postgres/pg_connection.hpp"

namespace agentcore::internal {

enum class Stmt : int {
  kBegin,
  kCommit,
  // Spaces and channels.
  kEnsureSpace,
  kGetSpace,
  kInsertChannel,
  kGetChannel,
  kFindChannelByName,
  kListChannels,
  kUpdateChannel,
  kSpaceExists,
  kChannelExists,
  kListSpaces,
  // Users.
  kInsertUser,
  kGetUser,
  kFindUserByExternalId,
  kFindUserByEmail,
  kInsertUserWithInvite,
  kClassifyInvite,
  // Invite codes.
  kInsertInviteCode,
  kGetInviteCode,
  kListInviteCodes,
  kRevokeInviteCode,
  // Costs.
  kUpsertCost,
  kListCosts,
  // Roster.
  kInsertRoster,
  kGetRoster,
  kListRoster,
  kUpdateRoster,
  kDeleteRoster,
  kRosterExists,
  // Messages.
  kInsertMessages,
  kGetMessage,
  kUpdateMessage,
  kDeleteMessage,
  kPageAfter,
  kPageBetween,
  kPageBefore,
  kPageNewest,
  // Pending deliveries.
  kEnqueuePending,
  kTakePending,
  kAckPending,
  // Runs.
  kInsertRun,
  kGetRun,
  kTransitionRun,
  kListRuns,
  kAppendRunEvent,
  kListRunEvents,
  kRunExists,
  kListRunsBefore,
  kClaimLock,
  kClaimRun,
  kRenewRunLease,
  // Projects, model prices, webhook outbox.
  kInsertProject,
  kGetProject,
  kListProjects,
  kPutModelPrice,
  kGetModelPrice,
  kListModelPrices,
  kEnqueueWebhook,
  kListDueWebhooks,
  kUpdateWebhook,
  // Sessions and teams.
  kPutSession,
  kGetSession,
  kListSessions,
  kDeleteSession,
  kFindSessions,
  kCountSessions,
  kSumSessionUsage,
  kInsertTeam,
  kGetTeam,
  kListTeams,
  kUpdateTeamSpec,
  kDeleteTeam,
  // API keys and idempotency.
  kInsertApiKey,
  kFindApiKeyByHash,
  kListApiKeys,
  kRevokeApiKey,
  kTouchApiKey,
  kPutIdempotency,
  kGetIdempotency,
  kGetIdempotencyAny,
  kPurgeIdempotency,
  // Artifacts.
  kPutArtifact,
  kGetArtifact,
  kReadArtifactBlob,
  kListArtifacts,
  kDeleteArtifact,
  // Clusters: cluster events, leases, change log retention (docs/cluster.md).
  kAppendClusterEvents,
  kAcquireLease,
  kGetLease,
  kRenewLeases,
  kReleaseLeases,
  kListLeases,
  kPurgeChangeLog,
  kCount,  // not a statement
};

/// The table, indexed by Stmt. Static storage.
std::span<const PgStatement> PostgresStatements();

inline int Index(Stmt s) { return static_cast<int>(s); }

/// Whether `s` writes rows of change_log (itself or through migration 0011's triggers): the
/// store then wakes the other listeners after it ran (pg_notifier.hpp).
bool WritesChangeLog(Stmt s);

}  // namespace agentcore::internal
