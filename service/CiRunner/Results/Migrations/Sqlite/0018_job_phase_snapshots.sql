-- Schema version 18: the phase snapshots of each job (Snapshots), part of its lockfile. role 'used': the job's
-- container started from the image another job (source_job_id of source_run_id) committed after the phase, which
-- this job therefore did not run; role 'made': this job committed its container after the phase ended green.
-- snapshot_key hashes what the phase was (release image id, module commits, scenario content, steps, package snapshot).

CREATE TABLE job_phase_snapshots
(
    job_id        INTEGER NOT NULL REFERENCES jobs (id) ON DELETE CASCADE,
    phase         TEXT    NOT NULL,
    role          TEXT    NOT NULL,
    image_id      TEXT    NOT NULL,
    snapshot_key  TEXT    NOT NULL,
    source_run_id INTEGER NOT NULL,
    source_job_id INTEGER NOT NULL,
    PRIMARY KEY (job_id, phase, role)
);
