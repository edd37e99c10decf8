-- Schema version 6: a job that ended interrupted (the service died) or with a transient infrastructure error is
-- queued again as a new job row of the same run: the same cell, attempt + 1. retry_of links the new attempt to the
-- one it replaces, so "the latest attempt of each cell" (what a run's result, its counts and the exit code of
-- `cirunner run` read) is a job that no other job retries. Every existing job is its cell's only attempt.

ALTER TABLE jobs ADD COLUMN retry_of INTEGER NULL REFERENCES jobs (id) ON DELETE SET NULL;

-- "Is this job retried?" is asked for every job a run summary counts.
CREATE INDEX ix_jobs_retry_of ON jobs (retry_of) WHERE retry_of IS NOT NULL;
