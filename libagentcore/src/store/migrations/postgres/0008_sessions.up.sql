-- Issue 16 (docs/sessions.md "Model"): what the session service keeps of a session.
ALTER TABLE sessions
  ADD COLUMN api_key_id text COLLATE "C" NOT NULL DEFAULT '',
  ADD COLUMN instance   text COLLATE "C" NOT NULL DEFAULT '',
  ADD COLUMN spec       json,
  ADD COLUMN exit_code  bigint,
  ADD COLUMN reason     text NOT NULL DEFAULT '',
  ADD COLUMN started_at bigint,
  ADD COLUMN stopped_at bigint,
  ADD COLUMN running_ms bigint NOT NULL DEFAULT 0,
  ADD COLUMN cpu_millis bigint NOT NULL DEFAULT 0,
  ADD COLUMN memory_mb  bigint NOT NULL DEFAULT 0;
-- FindSessions pages a space's sessions newest first by id; caps count a key's running ones;
-- usage sums a key's sessions; Start() finds its instance's live ones.
CREATE INDEX sessions_by_owner_id ON sessions (owner_id, id);
CREATE INDEX sessions_by_key ON sessions (api_key_id, state);
CREATE INDEX sessions_live_by_instance ON sessions (instance)
  WHERE state IN ('creating', 'running');
