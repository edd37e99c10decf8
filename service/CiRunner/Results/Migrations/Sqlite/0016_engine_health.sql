-- What each instance's check-in says of its engine: whether it answers, its last error and when, and how many
-- errors it had (outages begun, jobs that lost it) since the instance started.
ALTER TABLE instances ADD COLUMN engine_up INTEGER NULL;
ALTER TABLE instances ADD COLUMN engine_error TEXT NULL;
ALTER TABLE instances ADD COLUMN engine_error_at TEXT NULL;
ALTER TABLE instances ADD COLUMN engine_errors INTEGER NULL;
