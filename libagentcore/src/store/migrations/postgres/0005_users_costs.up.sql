-- Users (Cast's logins), the owning user of a space, and cost records: one row of running
-- totals per agent and channel, replaced by each report (cast.md section 6).

CREATE TABLE users (
  id                          text COLLATE "C" PRIMARY KEY,
  external_id                 text COLLATE "C" NOT NULL,
  callsign                    text COLLATE "C" NOT NULL,
  email                       text NOT NULL,
  avatar_url                  text NOT NULL,
  disclaimer_accepted_version text NOT NULL,
  created_at                  bigint NOT NULL,
  updated_at                  bigint NOT NULL
);
-- Unique only when set: users without a login provider id all have ''.
CREATE UNIQUE INDEX users_external_id ON users (external_id) WHERE external_id <> '';
CREATE INDEX users_callsign ON users (callsign);

-- A label, not a foreign key: it may be empty, and spaces predate their owners' rows.
ALTER TABLE spaces ADD COLUMN owner_id text COLLATE "C" NOT NULL DEFAULT '';
CREATE INDEX spaces_owner_created ON spaces (owner_id, created_at DESC);
CREATE INDEX spaces_created ON spaces (created_at, id);

-- ListCosts reads a channel's few rows through the primary key and sorts them.
CREATE TABLE cost_records (
  channel_id  text COLLATE "C" NOT NULL REFERENCES channels (id),
  callsign    text COLLATE "C" NOT NULL,
  space_id    text COLLATE "C" NOT NULL,
  cost_usd    double precision NOT NULL,
  duration_ms bigint NOT NULL,
  num_turns   bigint NOT NULL,
  usage       json NOT NULL,
  model_usage json NOT NULL,
  updated_at  bigint NOT NULL,
  PRIMARY KEY (channel_id, callsign)
);
