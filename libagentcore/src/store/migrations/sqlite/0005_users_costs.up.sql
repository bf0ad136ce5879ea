-- Users (Cast's logins), the owning user of a space, and cost records: one row of running
-- totals per agent and channel, replaced by each report (cast.md §6).

CREATE TABLE users (
  id TEXT PRIMARY KEY,
  external_id TEXT NOT NULL,
  callsign TEXT NOT NULL,
  email TEXT NOT NULL,
  avatar_url TEXT NOT NULL,
  disclaimer_accepted_version TEXT NOT NULL,
  created_at INTEGER NOT NULL,
  updated_at INTEGER NOT NULL
);
-- Unique only when set: users without a login provider id all have ''.
CREATE UNIQUE INDEX users_by_external_id ON users (external_id) WHERE external_id <> '';
CREATE INDEX users_by_callsign ON users (callsign);

-- A label, not a foreign key: it may be empty, and spaces predate their owners' rows.
ALTER TABLE spaces ADD COLUMN owner_id TEXT NOT NULL DEFAULT '';
CREATE INDEX spaces_by_owner ON spaces (owner_id, created_at);
CREATE INDEX spaces_by_created ON spaces (created_at, id);

CREATE TABLE cost_records (
  channel_id TEXT NOT NULL REFERENCES channels (id),
  callsign TEXT NOT NULL,
  space_id TEXT NOT NULL,
  cost_usd REAL NOT NULL,
  duration_ms INTEGER NOT NULL,
  num_turns INTEGER NOT NULL,
  usage TEXT,
  model_usage TEXT,
  updated_at INTEGER NOT NULL,
  PRIMARY KEY (channel_id, callsign)
) WITHOUT ROWID;
