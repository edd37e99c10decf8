-- The phase snapshots of each job (see Sqlite/0018_job_phase_snapshots.sql).
CREATE TABLE job_phase_snapshots
(
    job_id        BIGINT NOT NULL REFERENCES jobs (id) ON DELETE CASCADE,
    phase         TEXT   NOT NULL,
    role          TEXT   NOT NULL,
    image_id      TEXT   NOT NULL,
    snapshot_key  TEXT   NOT NULL,
    source_run_id BIGINT NOT NULL,
    source_job_id BIGINT NOT NULL,
    PRIMARY KEY (job_id, phase, role)
);
