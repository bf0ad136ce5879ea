-- Issue 16, password accounts (docs/api.md "Accounts"): a user's password hash and one account
-- per email, and the invite codes registrations use.

-- Argon2id PHC string (auth/password.hpp); '' for users without a password (dev, SSO).
ALTER TABLE users ADD COLUMN password_hash TEXT NOT NULL DEFAULT '';
-- Unique only when set: users without an email all have ''. AccountService lower-cases emails,
-- so equality here is the case-insensitive equality of the login.
CREATE UNIQUE INDEX users_by_email ON users (email) WHERE email <> '';

-- Only the SHA-256 of a code is kept; the code is shown once. 0 means "not yet" / "never".
CREATE TABLE invite_codes (
  id TEXT PRIMARY KEY,
  code_hash TEXT NOT NULL UNIQUE,
  prefix TEXT NOT NULL,
  created_at INTEGER NOT NULL,
  expires_at INTEGER NOT NULL,
  used_at INTEGER NOT NULL,
  used_by TEXT NOT NULL,
  revoked INTEGER NOT NULL
);
CREATE INDEX invite_codes_by_created ON invite_codes (created_at, id);
