-- API keys' limits and role (issue 16): a tier name (empty: none), the key's own requests per
-- minute and running-session cap (0: the tier's, else the server's defaults), admin.
ALTER TABLE api_keys ADD COLUMN tier TEXT NOT NULL DEFAULT '';
ALTER TABLE api_keys ADD COLUMN requests_per_minute INTEGER NOT NULL DEFAULT 0;
ALTER TABLE api_keys ADD COLUMN max_running_sessions INTEGER NOT NULL DEFAULT 0;
ALTER TABLE api_keys ADD COLUMN admin INTEGER NOT NULL DEFAULT 0;
