-- Schema version 2: the latest result per matrix cell (the dashboard grid and the last-result metric read it
-- on every request, so it is kept up to date when a job finishes instead of being computed from all jobs),
-- and indexes for the reads that happen most.

CREATE TABLE cell_results
(
    module      TEXT    NOT NULL,
    branch      TEXT    NOT NULL,
    cell_key    TEXT    NOT NULL,
    job_id      INTEGER NOT NULL REFERENCES jobs (id) ON DELETE CASCADE,
    result      TEXT    NOT NULL,
    commit_sha  TEXT    NOT NULL,
    finished_at TEXT    NOT NULL,
    PRIMARY KEY (module, branch, cell_key)
) WITHOUT ROWID;

-- Fill it from the history a version-1 database already holds, by the rule JobStore applies when a job
-- finishes (CellResultPolicy): only verdicts count, and only runs of branch commits, not proposed changes.
INSERT INTO cell_results (module, branch, cell_key, job_id, result, commit_sha, finished_at)
SELECT module, branch, cell_key, job_id, result, commit_sha, finished_at
FROM
(
    SELECT runs.module,
           runs.branch,
           jobs.cell_key,
           jobs.id AS job_id,
           jobs.result,
           runs.commit_sha,
           jobs.finished_at,
           ROW_NUMBER() OVER (PARTITION BY runs.module, runs.branch, jobs.cell_key
                              ORDER BY jobs.finished_at DESC, jobs.id DESC) AS newest
    FROM jobs
    JOIN runs ON runs.id = jobs.run_id
    WHERE jobs.state = 'finished'
      AND jobs.finished_at IS NOT NULL
      AND jobs.result IN ('success', 'failure', 'error', 'timeout', 'interrupted')
      AND runs.change_ref IS NULL
)
WHERE newest = 1;

-- Recent runs, overall and per module and branch.
CREATE INDEX ix_runs_created ON runs (created_at DESC, id DESC);
CREATE INDEX ix_runs_module_branch_created ON runs (module, branch, created_at DESC, id DESC);
CREATE INDEX ix_runs_branch_created ON runs (branch, created_at DESC, id DESC);

-- A run's jobs; jobs waiting or running (the queue, crash recovery).
CREATE INDEX ix_jobs_run ON jobs (run_id);
CREATE INDEX ix_jobs_state ON jobs (state);

-- A job's idempotency changes; the step index also serves cascading deletes of steps.
CREATE INDEX ix_idempotency_changes_job ON idempotency_changes (job_id);
CREATE INDEX ix_idempotency_changes_step ON idempotency_changes (step_id);

-- Cascading deletes of jobs reach cell_results through job_id.
CREATE INDEX ix_cell_results_job ON cell_results (job_id);
