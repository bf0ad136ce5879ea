DROP TABLE pending_deliveries;
DROP TABLE messages;
DROP FUNCTION agentcore_touch_channels();
DROP TABLE roster;
DROP TABLE channels;
DROP TABLE spaces;
