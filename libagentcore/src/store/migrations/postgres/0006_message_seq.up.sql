-- Messages get a server-assigned sequence (issue 13): `seq`, taken from a sequence by the
-- insert itself (a column default, returned by RETURNING: no extra round trip). Pages and
-- cursors follow seq, never the id an agent chose. Existing rows get 1..n in id order, and
-- the sequence continues after them. A sequence never hands a value out twice; transactions
-- of concurrent writers may commit out of seq order (docs/storage.md, "Message order").
ALTER TABLE messages ADD COLUMN seq bigint;
UPDATE messages SET seq = numbered.n
  FROM (SELECT id, row_number() OVER (ORDER BY id) AS n FROM messages) AS numbered
  WHERE messages.id = numbered.id;
CREATE SEQUENCE messages_seq OWNED BY messages.seq;
SELECT setval('messages_seq', coalesce((SELECT max(seq) FROM messages), 0) + 1, false);
ALTER TABLE messages ALTER COLUMN seq SET DEFAULT nextval('messages_seq'),
                     ALTER COLUMN seq SET NOT NULL;
-- Pages are keyset scans of messages_channel_seq: WHERE channel_id = $1 AND seq > $2 ORDER BY
-- seq. A cursor id is resolved through messages_id (text_pattern_ops: the ~<=~ operators).
DROP INDEX messages_channel_id;
CREATE INDEX messages_channel_seq ON messages (channel_id, seq);
