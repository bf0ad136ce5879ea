-- Issue 16, password accounts (docs/api.md "Accounts"): a user's password hash and one account
-- per email, and the invite codes registrations use.

-- Argon2id PHC string (auth/password.hpp); '' for users without a password (dev, SSO).
ALTER TABLE users ADD COLUMN password_hash text NOT NULL DEFAULT '';
-- Unique only when set: users without an email all have ''. AccountService lower-cases emails,
-- so equality here is the case-insensitive equality of the login.
CREATE UNIQUE INDEX users_email ON users (email) WHERE email <> '';

-- Only the SHA-256 of a code is kept; the code is shown once. 0 means "not yet" / "never".
CREATE TABLE invite_codes (
  id         text COLLATE "C" PRIMARY KEY,
  code_hash  text COLLATE "C" NOT NULL,
  prefix     text NOT NULL,
  created_at bigint NOT NULL,
  expires_at bigint NOT NULL,
  used_at    bigint NOT NULL,
  used_by    text COLLATE "C" NOT NULL,
  revoked    boolean NOT NULL,
  CONSTRAINT invite_codes_code_hash UNIQUE (code_hash)
);
CREATE INDEX invite_codes_created ON invite_codes (created_at, id);
