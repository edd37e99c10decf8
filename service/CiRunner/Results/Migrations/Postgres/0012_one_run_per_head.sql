-- A new head starts exactly one run, however many instances poll (see Sqlite/0012_one_run_per_head.sql).
ALTER TABLE branch_heads ADD COLUMN generation BIGINT NOT NULL DEFAULT 0;

ALTER TABLE runs ADD COLUMN head_ref TEXT NULL;
ALTER TABLE runs ADD COLUMN head_generation BIGINT NULL;

CREATE UNIQUE INDEX runs_one_per_head ON runs (module, head_ref, head_generation) WHERE head_ref IS NOT NULL;
