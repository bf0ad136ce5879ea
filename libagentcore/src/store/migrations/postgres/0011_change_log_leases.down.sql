-- Back to migration 0004: the trigger functions call pg_notify again (their bodies as 0004
-- wrote them, without the pinned search_path), and the log and the leases go.
DROP TABLE leases;
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

CREATE OR REPLACE FUNCTION agentcore_messages_changed() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  PERFORM agentcore_notify_entries(ARRAY(
    SELECT TG_ARGV[0] || '|0|' || octet_length(channel_id) || '|' || octet_length(id) || '|' ||
           channel_id || id FROM changed));
  RETURN NULL;
END
$$;

CREATE OR REPLACE FUNCTION agentcore_roster_changed() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  PERFORM agentcore_notify_entries(ARRAY(
    SELECT 'r|0|' || octet_length(channel_id) || '|' || octet_length(callsign) || '|' ||
           channel_id || callsign FROM changed));
  RETURN NULL;
END
$$;

CREATE OR REPLACE FUNCTION agentcore_run_events_added() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  PERFORM agentcore_notify_entries(ARRAY(
    SELECT 'e|' || seq || '|' || octet_length(run_id) || '|' || octet_length(run_id) || '|' ||
           run_id || run_id FROM changed));
  RETURN NULL;
END
$$;

DROP TABLE change_log;
