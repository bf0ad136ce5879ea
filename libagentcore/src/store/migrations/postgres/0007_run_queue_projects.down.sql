DROP TABLE webhook_deliveries;
DROP TABLE model_prices;
DROP TABLE projects;
DROP INDEX runs_active;
DROP INDEX runs_queue_project;
DROP INDEX runs_queue;
ALTER TABLE runs DROP COLUMN available_at;
