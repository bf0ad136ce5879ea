DROP TABLE cost_records;
DROP INDEX spaces_created;
DROP INDEX spaces_owner_created;
ALTER TABLE spaces DROP COLUMN owner_id;
DROP TABLE users;
