-- Issue 17, clusters (docs/cluster.md "Leases"): who drives a named thing until when. SQLite
-- serves one server, so its leases are only ever held by that server's node; the table is here
-- so that the Store calls behave alike on both backends. Times are the callers' clocks.
CREATE TABLE leases (
  key TEXT PRIMARY KEY,
  owner TEXT NOT NULL,
  expires_at INTEGER NOT NULL
) WITHOUT ROWID;
CREATE INDEX leases_by_owner ON leases (owner);
