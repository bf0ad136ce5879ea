-- Spaces, channels, roster, messages and pending deliveries (Cast's schema, cast.md §6).
-- Times are Unix milliseconds; JSON columns hold JSON text (NULL when unset).

CREATE TABLE spaces (
  id TEXT PRIMARY KEY,
  name TEXT NOT NULL,
  owner_callsign TEXT NOT NULL,
  created_at INTEGER NOT NULL
);

CREATE TABLE channels (
  id TEXT PRIMARY KEY,
  space_id TEXT NOT NULL REFERENCES spaces (id),
  name TEXT NOT NULL,
  tagline TEXT NOT NULL,
  mission TEXT NOT NULL,
  archived INTEGER NOT NULL,
  created_at INTEGER NOT NULL,
  updated_at INTEGER NOT NULL,
  last_active_at INTEGER NOT NULL,
  UNIQUE (space_id, name)
);
CREATE INDEX channels_by_space ON channels (space_id, archived, created_at DESC);

CREATE TABLE roster (
  id TEXT PRIMARY KEY,
  channel_id TEXT NOT NULL REFERENCES channels (id),
  callsign TEXT NOT NULL,
  agent_type TEXT NOT NULL,
  status TEXT NOT NULL,
  created_at INTEGER NOT NULL,
  callback_url TEXT,
  readmark TEXT,
  last_heartbeat INTEGER,
  last_message_routed_at INTEGER,
  route_hints TEXT,
  current TEXT,
  props TEXT,
  runtime_id TEXT NOT NULL,
  container_token_hash TEXT NOT NULL,
  UNIQUE (channel_id, callsign)
);

-- Page reads walk messages_by_channel (keyset pagination on id, never OFFSET).
CREATE TABLE messages (
  id TEXT PRIMARY KEY,
  space_id TEXT NOT NULL,
  channel_id TEXT NOT NULL REFERENCES channels (id),
  sender TEXT NOT NULL,
  sender_type TEXT NOT NULL,
  type TEXT NOT NULL,
  content TEXT NOT NULL,
  timestamp INTEGER NOT NULL,
  is_complete INTEGER NOT NULL,
  addressed_agents TEXT,
  metadata TEXT,
  state TEXT
);
CREATE INDEX messages_by_channel ON messages (channel_id, id);
CREATE INDEX messages_by_state ON messages (channel_id, type, state) WHERE state IS NOT NULL;

-- Deleting a message or a roster entry drops its deliveries (the cascades need the index on
-- message_id and the primary key's prefix).
CREATE TABLE pending_deliveries (
  channel_id TEXT NOT NULL,
  callsign TEXT NOT NULL,
  message_id TEXT NOT NULL REFERENCES messages (id) ON DELETE CASCADE,
  enqueued_at INTEGER NOT NULL,
  attempts INTEGER NOT NULL,
  PRIMARY KEY (channel_id, callsign, message_id),
  FOREIGN KEY (channel_id, callsign) REFERENCES roster (channel_id, callsign) ON DELETE CASCADE
) WITHOUT ROWID;
CREATE INDEX pending_by_message ON pending_deliveries (message_id);
