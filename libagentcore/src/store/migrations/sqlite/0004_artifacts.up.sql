-- Artifact metadata; each blob is a file under the store's blob directory, named by blob_file
-- (a name the store makes, never one derived from user input).

CREATE TABLE artifacts (
  id TEXT PRIMARY KEY,
  channel_id TEXT NOT NULL REFERENCES channels (id),
  slug TEXT NOT NULL,
  type TEXT NOT NULL,
  title TEXT NOT NULL,
  tldr TEXT NOT NULL,
  status TEXT NOT NULL,
  content_type TEXT NOT NULL,
  size INTEGER NOT NULL,
  version INTEGER NOT NULL,
  props TEXT,
  blob_file TEXT NOT NULL,
  created_at INTEGER NOT NULL,
  updated_at INTEGER NOT NULL,
  UNIQUE (channel_id, slug)
);
