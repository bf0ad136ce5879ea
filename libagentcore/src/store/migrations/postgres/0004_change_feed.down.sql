DROP TRIGGER run_event_added ON run_events;
DROP FUNCTION agentcore_run_event_added();
DROP TRIGGER roster_changed ON roster;
DROP FUNCTION agentcore_roster_changed();
DROP TRIGGER messages_changed ON messages;
DROP FUNCTION agentcore_messages_changed();
