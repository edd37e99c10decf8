-- A new head starts exactly one run, however many instances poll the same remote: every change of a branch head
-- gets the next generation number, a run started for a head records the ref and generation it was started for, and
-- the unique index below refuses a second run for the same generation. The losing instance's whole transaction
-- (its run, its jobs, its head update) rolls back; it learns the head was already taken and starts nothing.
ALTER TABLE branch_heads ADD COLUMN generation INTEGER NOT NULL DEFAULT 0;

ALTER TABLE runs ADD COLUMN head_ref TEXT NULL;
ALTER TABLE runs ADD COLUMN head_generation INTEGER NULL;

CREATE UNIQUE INDEX runs_one_per_head ON runs (module, head_ref, head_generation) WHERE head_ref IS NOT NULL;
