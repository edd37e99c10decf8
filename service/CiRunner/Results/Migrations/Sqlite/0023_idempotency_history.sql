-- Schema version 23: idempotency drift. The changes of every idempotency step stay as data across runs: retention
-- prunes a job's steps and log, not its changes, so a cell's history can say which resources changed, in which phase,
-- since when. A change therefore keeps its step's phase and name itself, and its step_id becomes NULL when retention
-- deletes the step. SQLite cannot relax a NOT NULL column or change a foreign key in place: the table is rebuilt, the
-- new columns last (as PostgreSQL's ALTER TABLE adds them), and every existing change still has its step.

CREATE TABLE idempotency_changes_kept
(
    id             INTEGER PRIMARY KEY,
    job_id         INTEGER NOT NULL REFERENCES jobs (id) ON DELETE CASCADE,
    step_id        INTEGER NULL REFERENCES steps (id) ON DELETE SET NULL,
    resource_type  TEXT    NOT NULL,
    title          TEXT    NOT NULL,
    property       TEXT    NOT NULL,
    previous_value TEXT    NULL,
    desired_value  TEXT    NULL,
    module         TEXT    NULL,
    manifest_file  TEXT    NULL,
    line           INTEGER NULL,
    phase          TEXT    NOT NULL,
    step_name      TEXT    NOT NULL
);

INSERT INTO idempotency_changes_kept
    (id, job_id, step_id, resource_type, title, property, previous_value, desired_value, module, manifest_file, line, phase, step_name)
SELECT idempotency_changes.id, idempotency_changes.job_id, idempotency_changes.step_id, idempotency_changes.resource_type,
       idempotency_changes.title, idempotency_changes.property, idempotency_changes.previous_value, idempotency_changes.desired_value,
       idempotency_changes.module, idempotency_changes.manifest_file, idempotency_changes.line, steps.phase, steps.name
FROM idempotency_changes
JOIN steps ON steps.id = idempotency_changes.step_id;

DROP TABLE idempotency_changes;

ALTER TABLE idempotency_changes_kept RENAME TO idempotency_changes;

CREATE INDEX ix_idempotency_changes_job ON idempotency_changes (job_id);
CREATE INDEX ix_idempotency_changes_step ON idempotency_changes (step_id);

-- A cell's history and the matrix's strips read one cell's jobs newest first.
CREATE INDEX ix_jobs_cell_finished ON jobs (cell_key, finished_at);
