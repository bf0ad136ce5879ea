-- Issue 15 (docs/runs.md): the run queue, projects, model prices and the webhook outbox.

-- A queued run is not claimed before available_at (retry backoff; 0: at once).
ALTER TABLE runs ADD COLUMN available_at bigint NOT NULL DEFAULT 0;
-- ClaimRun walks the queued runs in (created_at, id) order through runs_queue, and asks
-- runs_active whether a project is busy and runs_queue_project whether an older run of the
-- project waits; all three stay as small as the queue.
CREATE INDEX runs_queue ON runs (created_at, id) WHERE state = 'queued';
CREATE INDEX runs_queue_project ON runs (project_id, created_at, id) WHERE state = 'queued';
CREATE INDEX runs_active ON runs (project_id) WHERE state IN ('planning', 'building');

CREATE TABLE projects (
  space_id   text COLLATE "C" NOT NULL,
  id         text COLLATE "C" NOT NULL,
  name       text NOT NULL,
  channel_id text COLLATE "C" NOT NULL,
  settings   json NOT NULL,
  created_at bigint NOT NULL,
  updated_at bigint NOT NULL,
  PRIMARY KEY (space_id, id)
);

CREATE TABLE model_prices (
  provider            text COLLATE "C" NOT NULL,
  model               text COLLATE "C" NOT NULL,
  input_usd_per_mtok  float8 NOT NULL,
  output_usd_per_mtok float8 NOT NULL,
  active              boolean NOT NULL,
  updated_at          bigint NOT NULL,
  PRIMARY KEY (provider, model)
);

CREATE TABLE webhook_deliveries (
  id              text COLLATE "C" PRIMARY KEY,
  run_id          text COLLATE "C" NOT NULL,
  url             text NOT NULL,
  body            text NOT NULL,
  attempts        bigint NOT NULL,
  next_attempt_at bigint NOT NULL,
  delivered_at    bigint,
  gave_up         boolean NOT NULL,
  last_error      text NOT NULL,
  created_at      bigint NOT NULL
);
-- ListDueWebhooks: only the pending deliveries are in the index.
CREATE INDEX webhook_deliveries_due ON webhook_deliveries (next_attempt_at, id)
  WHERE delivered_at IS NULL AND NOT gave_up;
