-- The flake ledger: reruns on the same lockfile and failure signatures (see Sqlite/0022_flakes.sql).
ALTER TABLE jobs ADD COLUMN rerun_of BIGINT NULL REFERENCES jobs (id);
ALTER TABLE jobs ADD COLUMN failure_signature TEXT NULL;
CREATE INDEX jobs_failure_signature ON jobs (failure_signature) WHERE failure_signature IS NOT NULL;
