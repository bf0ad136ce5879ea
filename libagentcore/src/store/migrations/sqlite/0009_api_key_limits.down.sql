ALTER TABLE api_keys DROP COLUMN admin;
ALTER TABLE api_keys DROP COLUMN max_running_sessions;
ALTER TABLE api_keys DROP COLUMN requests_per_minute;
ALTER TABLE api_keys DROP COLUMN tier;
