-- Runs with their append-only event logs, sessions and teams.

CREATE TABLE runs (
  id               text COLLATE "C" PRIMARY KEY,
  project_id       text COLLATE "C" NOT NULL,
  state            text NOT NULL,
  attempts         bigint NOT NULL DEFAULT 0,
  input            json NOT NULL,
  result           json NOT NULL,
  error            text NOT NULL,
  lease_expires_at bigint,
  worker_id        text NOT NULL,
  created_at       bigint NOT NULL,
  updated_at       bigint NOT NULL,
  -- The seq of the newest event: AppendRunEvent raises it in the same statement that inserts
  -- the event, so concurrent appends serialize on the run's row and seqs have no gaps.
  last_event_seq   bigint NOT NULL DEFAULT 0
);
CREATE INDEX runs_created ON runs (created_at DESC, id DESC);
CREATE INDEX runs_project_created ON runs (project_id, created_at DESC, id DESC);
CREATE INDEX runs_lease ON runs (lease_expires_at) WHERE lease_expires_at IS NOT NULL;

CREATE TABLE run_events (
  run_id     text COLLATE "C" NOT NULL REFERENCES runs (id) ON DELETE CASCADE,
  seq        bigint NOT NULL,
  type       text NOT NULL,
  data       json NOT NULL,
  created_at bigint NOT NULL,
  PRIMARY KEY (run_id, seq)
);

CREATE TABLE sessions (
  id           text COLLATE "C" PRIMARY KEY,
  owner_id     text COLLATE "C" NOT NULL,
  state        text NOT NULL,
  generation   bigint NOT NULL,
  image        text NOT NULL,
  container_id text NOT NULL,
  metadata     json NOT NULL,
  created_at   bigint NOT NULL,
  updated_at   bigint NOT NULL
);
CREATE INDEX sessions_owner_created ON sessions (owner_id, created_at, id);

CREATE TABLE teams (
  id         text COLLATE "C" PRIMARY KEY,
  space_id   text COLLATE "C" NOT NULL,
  name       text NOT NULL,
  spec       json NOT NULL,
  created_at bigint NOT NULL,
  updated_at bigint NOT NULL,
  CONSTRAINT teams_space_name UNIQUE (space_id, name)
);
CREATE INDEX teams_space_created ON teams (space_id, created_at, id);
