DROP TABLE idempotency_records;
DROP TABLE api_keys;
DROP TABLE teams;
