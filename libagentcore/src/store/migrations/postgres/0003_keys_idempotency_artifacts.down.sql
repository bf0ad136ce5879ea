DROP TABLE artifacts;
DROP TABLE idempotency_records;
DROP TABLE api_keys;
