DROP TABLE pending_deliveries;
DROP TABLE messages;
DROP TABLE roster;
DROP TABLE channels;
DROP TABLE spaces;
