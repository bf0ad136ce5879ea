-- API keys' limits and role (issue 16): a tier name (empty: none), the key's own requests per
-- minute and running-session cap (0: the tier's, else the server's defaults), admin.
ALTER TABLE api_keys
  ADD COLUMN tier                 text NOT NULL DEFAULT '',
  ADD COLUMN requests_per_minute  bigint NOT NULL DEFAULT 0,
  ADD COLUMN max_running_sessions bigint NOT NULL DEFAULT 0,
  ADD COLUMN admin                boolean NOT NULL DEFAULT false;
