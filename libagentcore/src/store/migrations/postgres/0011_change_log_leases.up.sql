-- Issue 17, clusters (docs/cluster.md): the change log replaces migration 0004's NOTIFYs, and
-- the leases table.
--
-- Why: a transaction that sends NOTIFY takes a database-wide lock at commit and holds it until
-- its commit record is flushed, so notifying writers committed strictly one at a time; and a
-- notification is lost to a listener that is not connected at that moment. Now the facts go
-- into change_log, inside the writing transaction (one row per changed row: no lock at
-- commit), and the store sends a payload-less NOTIFY agentcore_wake after its own commits,
-- outside them, coalesced (store/postgres/pg_notifier.hpp). Readers read the log with an xid
-- cursor (store/postgres/pg_listener.hpp), so a missed wake-up or a reconnect delays, never
-- loses.
--
-- kind: c message created, u message updated, d message deleted, r roster changed
--       (channel_id, ref_id = the message id or callsign); e run event (channel_id = ref_id =
--       the run id, seq = the event's seq); l cluster lines, w cluster agent wake
--       (Store::AppendClusterEvents: origin, channel_id, ref_id = the key, payload).
-- created_at: the database's clock in Unix milliseconds, for retention
-- (PostgresStore::PurgeChangeLog).
CREATE TABLE change_log (
  id bigserial NOT NULL,
  xid xid8 NOT NULL DEFAULT pg_current_xact_id(),
  kind "char" NOT NULL,
  channel_id text NOT NULL,
  ref_id text NOT NULL,
  seq bigint NOT NULL DEFAULT 0,
  origin text NOT NULL DEFAULT '',
  payload text NOT NULL DEFAULT '',
  created_at bigint NOT NULL
    DEFAULT (extract(epoch FROM clock_timestamp()) * 1000)::bigint
);
-- The readers' order and cursor. No primary key: ids are unique by construction and a third
-- index would only cost the writers.
CREATE INDEX change_log_by_xid ON change_log (xid, id);
-- Retention deletes by age; rows are appended in roughly created_at order, which is what a
-- BRIN index needs, and it costs the writers next to nothing.
CREATE INDEX change_log_by_age ON change_log USING brin (created_at);

-- The triggers of 0004 keep their names and their statements; their functions now insert log
-- rows instead of calling pg_notify. `SET search_path FROM CURRENT` pins the schema the
-- migration runs in, so a write from a session with another search_path (psql) still logs
-- into this schema's change_log.
CREATE OR REPLACE FUNCTION agentcore_messages_changed() RETURNS trigger LANGUAGE plpgsql
SET search_path FROM CURRENT AS $$
BEGIN
  INSERT INTO change_log (kind, channel_id, ref_id)
    SELECT TG_ARGV[0]::"char", channel_id, id FROM changed ORDER BY seq;
  RETURN NULL;
END
$$;

CREATE OR REPLACE FUNCTION agentcore_roster_changed() RETURNS trigger LANGUAGE plpgsql
SET search_path FROM CURRENT AS $$
BEGIN
  INSERT INTO change_log (kind, channel_id, ref_id)
    SELECT 'r', channel_id, callsign FROM changed;
  RETURN NULL;
END
$$;

CREATE OR REPLACE FUNCTION agentcore_run_events_added() RETURNS trigger LANGUAGE plpgsql
SET search_path FROM CURRENT AS $$
BEGIN
  INSERT INTO change_log (kind, channel_id, ref_id, seq)
    SELECT 'e', run_id, run_id, seq FROM changed ORDER BY seq;
  RETURN NULL;
END
$$;

DROP FUNCTION agentcore_notify_entries(text[]);

-- docs/cluster.md "Leases". Keys compare bytewise (COLLATE "C"), so ListLeases' prefix scan is
-- an index range and its order is the same as SQLite's. Times are the callers' clocks.
CREATE TABLE leases (
  key text COLLATE "C" PRIMARY KEY,
  owner text NOT NULL,
  expires_at bigint NOT NULL
);
CREATE INDEX leases_by_owner ON leases (owner);
