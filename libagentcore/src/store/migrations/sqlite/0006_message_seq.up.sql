-- Messages get a server-assigned sequence (issue 13): `seq`, the table's rowid. Pages and
-- cursors follow seq, never the id an agent chose. The insert assigns it, in the same
-- statement, as one more than the larger of the greatest seq in the table and
-- message_seq_floor, which a delete raises to the seq it deleted: so the seq of a deleted
-- message is never handed out again. (Not AUTOINCREMENT: its sqlite_sequence row is one more
-- page written per commit, and the WAL checkpoints fell behind under load.) SQLite cannot add a rowid alias to a table,
-- so the table is rebuilt; existing rows get seq 1..n in id order. pending_deliveries refers to
-- messages (ON DELETE CASCADE, and foreign keys are on), so its rows are set aside and the
-- table dropped first: dropping or renaming the parent under it would delete or re-point them.
-- (In a plain table: a TEMP one would leave a temp database on the writer's connection, which
-- made the WAL checkpoints fall behind under load.)

CREATE TABLE pending_keep AS SELECT * FROM pending_deliveries;
DROP TABLE pending_deliveries;

CREATE TABLE messages_seq (
  seq INTEGER PRIMARY KEY,
  id TEXT NOT NULL UNIQUE,
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
INSERT INTO messages_seq (seq, id, space_id, channel_id, sender, sender_type, type, content,
                          timestamp, is_complete, addressed_agents, metadata, state)
  SELECT row_number() OVER (ORDER BY id), id, space_id, channel_id, sender, sender_type, type,
         content, timestamp, is_complete, addressed_agents, metadata, state
  FROM messages;
DROP TABLE messages;
ALTER TABLE messages_seq RENAME TO messages;
-- Page reads walk messages_by_channel (keyset pagination on seq, never OFFSET).
CREATE INDEX messages_by_channel ON messages (channel_id, seq);
CREATE INDEX messages_by_state ON messages (channel_id, type, state) WHERE state IS NOT NULL;

CREATE TABLE message_seq_floor (
  id INTEGER PRIMARY KEY CHECK (id = 1),
  seq INTEGER NOT NULL
);
INSERT INTO message_seq_floor (id, seq) VALUES (1, 0);

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
