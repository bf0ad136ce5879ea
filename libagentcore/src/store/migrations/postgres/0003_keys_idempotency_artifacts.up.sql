-- API keys (hashes only), idempotency records and artifacts.

CREATE TABLE api_keys (
  id           text COLLATE "C" PRIMARY KEY,
  space_id     text COLLATE "C" NOT NULL,
  name         text NOT NULL,
  key_hash     text COLLATE "C" NOT NULL,
  prefix       text NOT NULL,
  created_at   bigint NOT NULL,
  last_used_at bigint,
  revoked      boolean NOT NULL DEFAULT false
);
CREATE UNIQUE INDEX api_keys_hash ON api_keys (key_hash);
CREATE INDEX api_keys_space_created ON api_keys (space_id, created_at, id);

CREATE TABLE idempotency_records (
  scope         text COLLATE "C" NOT NULL,
  key           text COLLATE "C" NOT NULL,
  request_hash  text NOT NULL,
  status_code   bigint NOT NULL,
  response_body text NOT NULL,
  created_at    bigint NOT NULL,
  expires_at    bigint NOT NULL,
  PRIMARY KEY (scope, key)
);
CREATE INDEX idempotency_records_expires ON idempotency_records (expires_at);

-- The blob lives in the row as bytea (TOASTed out of line when large), not as a large object:
-- a large object outlives the row that names it unless every delete path unlinks it, while a
-- bytea column goes with its row, in the same transaction.
CREATE TABLE artifacts (
  id           text COLLATE "C" PRIMARY KEY,
  channel_id   text COLLATE "C" NOT NULL REFERENCES channels (id),
  slug         text COLLATE "C" NOT NULL,
  type         text NOT NULL,
  title        text NOT NULL,
  tldr         text NOT NULL,
  status       text NOT NULL,
  content_type text NOT NULL,
  size         bigint NOT NULL,
  version      bigint NOT NULL,
  props        json NOT NULL,
  created_at   bigint NOT NULL,
  updated_at   bigint NOT NULL,
  blob         bytea NOT NULL,
  CONSTRAINT artifacts_channel_slug UNIQUE (channel_id, slug)
);
