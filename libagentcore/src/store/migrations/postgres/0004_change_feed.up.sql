-- The change feed: every committed change of a message, a roster entry or a run's event log
-- sends a NOTIFY on channel agentcore_changes. The triggers run inside the writing transaction,
-- so a notification is delivered only if that transaction commits, and whoever writes (this
-- library or a psql session) is covered.
--
-- The triggers are per statement, over the statement's transition table, so a group commit of
-- 64 messages (one INSERT) sends one notification, not 64: cheaper for the writer (no trigger
-- call per row) and for every listening server (one message to read). A payload is a run of
-- entries, each
--   <kind>|<seq>|<octets of channel_id>|<octets of id>|<channel_id><id>
--   kind: c message created, u message updated, d message deleted, r roster changed,
--         e run event (channel_id and id are then both the run id);
--   seq: the run event's seq, else 0.
-- The length prefixes let ids contain any character, '|' included, without escaping. Entries
-- are packed into payloads of at most 7,500 bytes (an entry is at most about 530, ids being
-- at most 255 bytes), below NOTIFY's 8,000-byte limit.
--
-- The functions call only pg_catalog functions, so they work whatever the writing session's
-- search_path (the store may live in a schema of its own). The channel is one per database: two
-- stores in two schemas of one database would see each other's notifications.

-- Sends `entries` in order, packed into as few payloads as fit. plpgsql, not sql: a sql
-- function is planned again on every call, and this runs once per writing statement.
CREATE FUNCTION agentcore_notify_entries(entries text[]) RETURNS void LANGUAGE plpgsql AS $$
DECLARE
  payload text := '';
  entry text;
BEGIN
  FOREACH entry IN ARRAY entries LOOP
    IF octet_length(payload) + octet_length(entry) > 7500 THEN
      PERFORM pg_notify('agentcore_changes', payload);
      payload := '';
    END IF;
    payload := payload || entry;
  END LOOP;
  IF payload <> '' THEN
    PERFORM pg_notify('agentcore_changes', payload);
  END IF;
END
$$;

-- TG_ARGV[0]: the kind. The transition table is called `changed` for every event.
CREATE FUNCTION agentcore_messages_changed() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  PERFORM agentcore_notify_entries(ARRAY(
    SELECT TG_ARGV[0] || '|0|' || octet_length(channel_id) || '|' || octet_length(id) || '|' ||
           channel_id || id FROM changed));
  RETURN NULL;
END
$$;
CREATE TRIGGER messages_inserted AFTER INSERT ON messages REFERENCING NEW TABLE AS changed
  FOR EACH STATEMENT EXECUTE FUNCTION agentcore_messages_changed('c');
CREATE TRIGGER messages_updated AFTER UPDATE ON messages REFERENCING NEW TABLE AS changed
  FOR EACH STATEMENT EXECUTE FUNCTION agentcore_messages_changed('u');
CREATE TRIGGER messages_deleted AFTER DELETE ON messages REFERENCING OLD TABLE AS changed
  FOR EACH STATEMENT EXECUTE FUNCTION agentcore_messages_changed('d');

CREATE FUNCTION agentcore_roster_changed() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  PERFORM agentcore_notify_entries(ARRAY(
    SELECT 'r|0|' || octet_length(channel_id) || '|' || octet_length(callsign) || '|' ||
           channel_id || callsign FROM changed));
  RETURN NULL;
END
$$;
CREATE TRIGGER roster_inserted AFTER INSERT ON roster REFERENCING NEW TABLE AS changed
  FOR EACH STATEMENT EXECUTE FUNCTION agentcore_roster_changed();
CREATE TRIGGER roster_updated AFTER UPDATE ON roster REFERENCING NEW TABLE AS changed
  FOR EACH STATEMENT EXECUTE FUNCTION agentcore_roster_changed();
CREATE TRIGGER roster_deleted AFTER DELETE ON roster REFERENCING OLD TABLE AS changed
  FOR EACH STATEMENT EXECUTE FUNCTION agentcore_roster_changed();

CREATE FUNCTION agentcore_run_events_added() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  PERFORM agentcore_notify_entries(ARRAY(
    SELECT 'e|' || seq || '|' || octet_length(run_id) || '|' || octet_length(run_id) || '|' ||
           run_id || run_id FROM changed));
  RETURN NULL;
END
$$;
CREATE TRIGGER run_events_added AFTER INSERT ON run_events REFERENCING NEW TABLE AS changed
  FOR EACH STATEMENT EXECUTE FUNCTION agentcore_run_events_added();
