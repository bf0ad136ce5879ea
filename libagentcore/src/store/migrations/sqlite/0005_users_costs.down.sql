DROP TABLE cost_records;
DROP INDEX spaces_by_created;
DROP INDEX spaces_by_owner;
ALTER TABLE spaces DROP COLUMN owner_id;
DROP TABLE users;
