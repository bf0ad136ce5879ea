DROP TABLE teams;
DROP TABLE sessions;
DROP TABLE run_events;
DROP TABLE runs;
