-- Schema version 22: the flake ledger (Flakes). A failed or timed-out cell runs again on the same lockfile before its
-- run is reported: rerun_of names the job whose lockfile the attempt runs again (its retries keep it). A job that did
-- not pass keeps its failure signature (the failing step and its first error line, normalised), which the ledger
-- counts per cell over the cell's recent runs.
ALTER TABLE jobs ADD COLUMN rerun_of INTEGER NULL REFERENCES jobs (id);
ALTER TABLE jobs ADD COLUMN failure_signature TEXT NULL;
CREATE INDEX jobs_failure_signature ON jobs (failure_signature) WHERE failure_signature IS NOT NULL;
