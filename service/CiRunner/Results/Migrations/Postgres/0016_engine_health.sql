-- What each instance's check-in says of its engine (see Sqlite/0016_engine_health.sql).
ALTER TABLE instances ADD COLUMN engine_up INTEGER NULL;
ALTER TABLE instances ADD COLUMN engine_error TEXT NULL;
ALTER TABLE instances ADD COLUMN engine_error_at TEXT NULL;
ALTER TABLE instances ADD COLUMN engine_errors BIGINT NULL;
