-- Back to messages keyed and ordered by id (migration 1's table); seq is dropped.
DROP TABLE message_seq_floor;
CREATE TABLE pending_keep AS SELECT * FROM pending_deliveries;
DROP TABLE pending_deliveries;

CREATE TABLE messages_by_id (
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
INSERT INTO messages_by_id (id, space_id, channel_id, sender, sender_type, type, content,
                            timestamp, is_complete, addressed_agents, metadata, state)
  SELECT id, space_id, channel_id, sender, sender_type, type, content, timestamp, is_complete,
         addressed_agents, metadata, state
  FROM messages ORDER BY seq;
DROP TABLE messages;
ALTER TABLE messages_by_id RENAME TO messages;
CREATE INDEX messages_by_channel ON messages (channel_id, id);
CREATE INDEX messages_by_state ON messages (channel_id, type, state) WHERE state IS NOT NULL;

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
INSERT INTO pending_deliveries SELECT * FROM pending_keep;
DROP TABLE pending_keep;
