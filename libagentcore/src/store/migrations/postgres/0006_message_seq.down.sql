DROP INDEX messages_channel_seq;
CREATE INDEX messages_channel_id ON messages (channel_id, id);
-- Drops the sequence too (OWNED BY).
ALTER TABLE messages DROP COLUMN seq;
