DROP TABLE invite_codes;
DROP INDEX users_by_email;
ALTER TABLE users DROP COLUMN password_hash;
