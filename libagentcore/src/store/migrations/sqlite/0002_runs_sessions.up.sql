-- Runs with their append-only event logs (Platform Agent) and sessions (Octo, execbox).

CREATE TABLE runs (
  id TEXT PRIMARY KEY,
  project_id TEXT NOT NULL,
  state TEXT NOT NULL,
  attempts INTEGER NOT NULL,
  input TEXT,
  result TEXT,
  error TEXT NOT NULL,
  lease_expires_at INTEGER,
  worker_id TEXT NOT NULL,
  last_event_seq INTEGER NOT NULL,
  created_at INTEGER NOT NULL,
  updated_at INTEGER NOT NULL
);
CREATE INDEX runs_by_project ON runs (project_id, created_at DESC);
CREATE INDEX runs_by_lease ON runs (lease_expires_at) WHERE lease_expires_at IS NOT NULL;

CREATE TABLE run_events (
  run_id TEXT NOT NULL REFERENCES runs (id) ON DELETE CASCADE,
  seq INTEGER NOT NULL,
  type TEXT NOT NULL,
  data TEXT,
  created_at INTEGER NOT NULL,
  PRIMARY KEY (run_id, seq)
);

CREATE TABLE sessions (
  id TEXT PRIMARY KEY,
  owner_id TEXT NOT NULL,
  state TEXT NOT NULL,
  generation INTEGER NOT NULL,
  image TEXT NOT NULL,
  container_id TEXT NOT NULL,
  metadata TEXT,
  created_at INTEGER NOT NULL,
  updated_at INTEGER NOT NULL
);
CREATE INDEX sessions_by_owner ON sessions (owner_id, created_at);
