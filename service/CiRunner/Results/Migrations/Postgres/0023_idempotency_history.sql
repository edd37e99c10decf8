-- Idempotency drift: changes outlive their steps and keep the step's phase and name (see Sqlite/0023_idempotency_history.sql).
ALTER TABLE idempotency_changes ADD COLUMN phase TEXT NULL;
ALTER TABLE idempotency_changes ADD COLUMN step_name TEXT NULL;
UPDATE idempotency_changes SET phase = steps.phase, step_name = steps.name FROM steps WHERE steps.id = idempotency_changes.step_id;
ALTER TABLE idempotency_changes ALTER COLUMN phase SET NOT NULL;
ALTER TABLE idempotency_changes ALTER COLUMN step_name SET NOT NULL;

ALTER TABLE idempotency_changes ALTER COLUMN step_id DROP NOT NULL;
ALTER TABLE idempotency_changes DROP CONSTRAINT idempotency_changes_step_id_fkey;
ALTER TABLE idempotency_changes ADD CONSTRAINT idempotency_changes_step_id_fkey FOREIGN KEY (step_id) REFERENCES steps (id) ON DELETE SET NULL;

CREATE INDEX ix_jobs_cell_finished ON jobs (cell_key, finished_at);
