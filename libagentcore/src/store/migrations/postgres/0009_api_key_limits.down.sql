ALTER TABLE api_keys
  DROP COLUMN admin,
  DROP COLUMN max_running_sessions,
  DROP COLUMN requests_per_minute,
  DROP COLUMN tier;
