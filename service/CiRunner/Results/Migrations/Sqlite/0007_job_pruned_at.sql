-- Schema version 7: when retention pruned a job's log and details (Retention:MaxAge), so that its page, the API and
-- `cirunner logs` say the log expired rather than that there never was one. NULL for jobs never pruned; jobs pruned
-- before this version show as jobs without a log.

ALTER TABLE jobs ADD COLUMN pruned_at TEXT NULL;
