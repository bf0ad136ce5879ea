-- Spaces, channels, the roster, messages and pending deliveries.
-- Times are bigint Unix milliseconds (UnixMillis), exactly what the API carries. JSON columns
-- are `json`, not `jsonb`: json keeps the text as written, so objects keep their member order
-- and a value reads back equal to what was stored (jsonb would reorder keys). Ids compare
-- byte-wise (COLLATE "C"), as ULIDs and the SQLite store do, whatever the database's locale.
-- Listings order by created_at with the id as tie-break, as the SQLite store does; only the
-- roster, listed "in creation order", keeps an insertion counter (`ord`) for equal times.

CREATE TABLE spaces (
  id             text COLLATE "C" PRIMARY KEY,
  name           text NOT NULL,
  owner_callsign text NOT NULL,
  created_at     bigint NOT NULL
);

CREATE TABLE channels (
  id             text COLLATE "C" PRIMARY KEY,
  space_id       text COLLATE "C" NOT NULL REFERENCES spaces (id),
  name           text NOT NULL,
  tagline        text NOT NULL,
  mission        text NOT NULL,
  archived       boolean NOT NULL DEFAULT false,
  created_at     bigint NOT NULL,
  updated_at     bigint NOT NULL,
  last_active_at bigint NOT NULL,
  CONSTRAINT channels_space_name UNIQUE (space_id, name)
);
CREATE INDEX channels_space_created ON channels (space_id, created_at DESC, id DESC);

CREATE TABLE roster (
  id                     text COLLATE "C" PRIMARY KEY,
  ord                    bigint GENERATED ALWAYS AS IDENTITY,
  channel_id             text COLLATE "C" NOT NULL REFERENCES channels (id),
  callsign               text COLLATE "C" NOT NULL,
  agent_type             text NOT NULL,
  status                 text NOT NULL,
  created_at             bigint NOT NULL,
  callback_url           text,
  readmark               text,
  last_heartbeat         bigint,
  last_message_routed_at bigint,
  route_hints            json NOT NULL,
  "current"              json NOT NULL,
  props                  json NOT NULL,
  runtime_id             text NOT NULL,
  container_token_hash   text NOT NULL,
  CONSTRAINT roster_channel_callsign UNIQUE (channel_id, callsign)
);
CREATE INDEX roster_channel_created ON roster (channel_id, created_at, ord);

-- No foreign key on channel_id: the store inserts messages only through a join with channels
-- (INSERT ... SELECT ... JOIN channels), and nothing deletes a channel (they are archived), so
-- the key could only catch hand-written SQL, while its per-row check (a query per inserted row)
-- was a third of the server's time per message in a group commit.
CREATE TABLE messages (
  id               text COLLATE "C" NOT NULL,
  space_id         text COLLATE "C" NOT NULL,
  channel_id       text COLLATE "C" NOT NULL,
  sender           text NOT NULL,
  sender_type      text NOT NULL,
  type             text NOT NULL,
  content          json NOT NULL,
  "timestamp"      bigint NOT NULL,
  is_complete      boolean NOT NULL,
  addressed_agents text[],
  metadata         json NOT NULL,
  state            text
);
-- Pages are keyset scans of messages_channel_id: WHERE channel_id = $1 AND id > $2 ORDER BY id.
-- The id's unique index uses text_pattern_ops (the same byte order, another operator family) so
-- that it cannot serve ORDER BY id: with an ordinary primary key, the generic plan of a prepared
-- page query on a database where one channel dominates walks the id index and filters on the
-- channel, reading the big channel's rows to fill a small channel's page. Equality (lookups,
-- ON CONFLICT (id), the foreign key below) works with either operator family.
CREATE UNIQUE INDEX messages_id ON messages (id text_pattern_ops);
CREATE INDEX messages_channel_id ON messages (channel_id, id);
CREATE INDEX messages_asks ON messages (channel_id, type, state) WHERE state IS NOT NULL;

-- Channel::last_active_at is the newest timestamp of the messages appended to the channel.
-- Kept by a statement trigger over the inserted rows (the transition table), so that it counts
-- exactly the rows that went in (not a batch's duplicates) and never scans `messages`: a group
-- commit's query over messages was planned once, while the table was empty, and then read the
-- whole table for every batch. Channels are touched one at a time in id order, so two writers
-- that touch the same channels lock them in the same order and cannot deadlock. search_path is
-- pinned so that any session, whatever its own search_path, can insert.
CREATE FUNCTION agentcore_touch_channels() RETURNS trigger LANGUAGE plpgsql
SET search_path FROM CURRENT AS $$
DECLARE
  touched record;
BEGIN
  FOR touched IN SELECT channel_id, max("timestamp") AS newest FROM added
                 GROUP BY channel_id ORDER BY channel_id LOOP
    UPDATE channels SET last_active_at = GREATEST(last_active_at, touched.newest)
      WHERE id = touched.channel_id;
  END LOOP;
  RETURN NULL;
END
$$;
CREATE TRIGGER messages_touch_channels AFTER INSERT ON messages REFERENCING NEW TABLE AS added
  FOR EACH STATEMENT EXECUTE FUNCTION agentcore_touch_channels();

CREATE TABLE pending_deliveries (
  channel_id  text COLLATE "C" NOT NULL,
  callsign    text COLLATE "C" NOT NULL,
  message_id  text COLLATE "C" NOT NULL REFERENCES messages (id) ON DELETE CASCADE,
  enqueued_at bigint NOT NULL,
  attempts    bigint NOT NULL DEFAULT 0,
  PRIMARY KEY (channel_id, callsign, message_id),
  FOREIGN KEY (channel_id, callsign) REFERENCES roster (channel_id, callsign) ON DELETE CASCADE
);
CREATE INDEX pending_deliveries_message ON pending_deliveries (message_id);
