-- Issue 15 (docs/runs.md): the run queue, projects, model prices and the webhook outbox.

-- A queued run is not claimed before available_at (retry backoff; 0: at once).
ALTER TABLE runs ADD COLUMN available_at INTEGER NOT NULL DEFAULT 0;
-- ClaimRun walks the queued runs in (created_at, id) order through runs_queue, and asks
-- runs_active whether each one's project is busy; both stay as small as the queue.
CREATE INDEX runs_queue ON runs (created_at, id) WHERE state = 'queued';
CREATE INDEX runs_active ON runs (project_id) WHERE state IN ('planning', 'building');
-- ListRuns pages newest first by (created_at, id).
CREATE INDEX runs_by_created ON runs (created_at, id);

CREATE TABLE projects (
  space_id TEXT NOT NULL,
  id TEXT NOT NULL,
  name TEXT NOT NULL,
  channel_id TEXT NOT NULL,
  settings TEXT,
  created_at INTEGER NOT NULL,
  updated_at INTEGER NOT NULL,
  PRIMARY KEY (space_id, id)
) WITHOUT ROWID;

CREATE TABLE model_prices (
  provider TEXT NOT NULL,
  model TEXT NOT NULL,
  input_usd_per_mtok REAL NOT NULL,
  output_usd_per_mtok REAL NOT NULL,
  active INTEGER NOT NULL,
  updated_at INTEGER NOT NULL,
  PRIMARY KEY (provider, model)
) WITHOUT ROWID;

CREATE TABLE webhook_deliveries (
  id TEXT PRIMARY KEY,
  run_id TEXT NOT NULL,
  url TEXT NOT NULL,
  body TEXT NOT NULL,
  attempts INTEGER NOT NULL,
  next_attempt_at INTEGER NOT NULL,
  delivered_at INTEGER,
  gave_up INTEGER NOT NULL,
  last_error TEXT NOT NULL,
  created_at INTEGER NOT NULL
);
-- ListDueWebhooks: only the pending deliveries are in the index.
CREATE INDEX webhook_deliveries_due ON webhook_deliveries (next_attempt_at, id)
  WHERE delivered_at IS NULL AND gave_up = 0;
