-- Issue 16 (docs/sessions.md "Model"): what the session service keeps of a session.
ALTER TABLE sessions ADD COLUMN api_key_id TEXT NOT NULL DEFAULT '';
ALTER TABLE sessions ADD COLUMN instance TEXT NOT NULL DEFAULT '';
ALTER TABLE sessions ADD COLUMN spec TEXT;
ALTER TABLE sessions ADD COLUMN exit_code INTEGER;
ALTER TABLE sessions ADD COLUMN reason TEXT NOT NULL DEFAULT '';
ALTER TABLE sessions ADD COLUMN started_at INTEGER;
ALTER TABLE sessions ADD COLUMN stopped_at INTEGER;
ALTER TABLE sessions ADD COLUMN running_ms INTEGER NOT NULL DEFAULT 0;
ALTER TABLE sessions ADD COLUMN cpu_millis INTEGER NOT NULL DEFAULT 0;
ALTER TABLE sessions ADD COLUMN memory_mb INTEGER NOT NULL DEFAULT 0;
-- FindSessions pages a space's sessions newest first by id; caps count a key's running ones;
-- usage sums a key's sessions; Start() finds its instance's live ones.
CREATE INDEX sessions_by_owner_id ON sessions (owner_id, id);
CREATE INDEX sessions_by_key ON sessions (api_key_id, state);
CREATE INDEX sessions_live_by_instance ON sessions (instance)
  WHERE state IN ('creating', 'running');
