-- The change feed: every committed change of a message, a roster entry or a run's event log
-- sends a NOTIFY on channel agentcore_changes. The triggers run inside the writing transaction,
-- so a notification is delivered only if that transaction commits, and whoever writes (this
-- library or a psql session) is covered.
--
-- Payload: <kind>|<seq>|<octets of channel_id>|<channel_id><id>
--   kind: c message created, u message updated, d message deleted, r roster changed,
--         e run event (channel_id and id are then both the run id);
--   seq: the run event's seq, else 0.
-- The length prefix lets ids contain any character, '|' included, without escaping. Ids are at
-- most kMaxKeyBytes (255) bytes, so a payload stays far below NOTIFY's 8000-byte limit.
--
-- The trigger functions call only pg_catalog functions, so they work whatever the writing
-- session's search_path (the store may live in a schema of its own). The channel is one per
-- database: two stores in two schemas of one database would see each other's notifications.

CREATE FUNCTION agentcore_messages_changed() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF TG_OP = 'INSERT' THEN
    PERFORM pg_notify('agentcore_changes', 'c|0|' || octet_length(NEW.channel_id) || '|' ||
                      NEW.channel_id || NEW.id);
  ELSIF TG_OP = 'UPDATE' THEN
    PERFORM pg_notify('agentcore_changes', 'u|0|' || octet_length(NEW.channel_id) || '|' ||
                      NEW.channel_id || NEW.id);
  ELSE
    PERFORM pg_notify('agentcore_changes', 'd|0|' || octet_length(OLD.channel_id) || '|' ||
                      OLD.channel_id || OLD.id);
  END IF;
  RETURN NULL;
END
$$;
CREATE TRIGGER messages_changed AFTER INSERT OR UPDATE OR DELETE ON messages
  FOR EACH ROW EXECUTE FUNCTION agentcore_messages_changed();

CREATE FUNCTION agentcore_roster_changed() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF TG_OP = 'DELETE' THEN
    PERFORM pg_notify('agentcore_changes', 'r|0|' || octet_length(OLD.channel_id) || '|' ||
                      OLD.channel_id || OLD.callsign);
  ELSE
    PERFORM pg_notify('agentcore_changes', 'r|0|' || octet_length(NEW.channel_id) || '|' ||
                      NEW.channel_id || NEW.callsign);
  END IF;
  RETURN NULL;
END
$$;
CREATE TRIGGER roster_changed AFTER INSERT OR UPDATE OR DELETE ON roster
  FOR EACH ROW EXECUTE FUNCTION agentcore_roster_changed();

CREATE FUNCTION agentcore_run_event_added() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  PERFORM pg_notify('agentcore_changes', 'e|' || NEW.seq || '|' || octet_length(NEW.run_id) ||
                    '|' || NEW.run_id || NEW.run_id);
  RETURN NULL;
END
$$;
CREATE TRIGGER run_event_added AFTER INSERT ON run_events
  FOR EACH ROW EXECUTE FUNCTION agentcore_run_event_added();
