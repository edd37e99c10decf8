-- Each instance's pool of Docker engines (Docker:Engines), one row per engine as its latest check-in saw it: the
-- instances row keeps only the pool's aggregate (first endpoint, total capacity, all up, summed errors), which cannot
-- say which engine of a pool is down. A check-in rewrites its instance's rows in the same transaction as the instance
-- row; an engine gone from the pool loses its row. ordinal is the engine's place in the pool (lists show pool order).
CREATE TABLE instance_engines
(
    instance_id   TEXT    NOT NULL REFERENCES instances (id) ON DELETE CASCADE,
    name          TEXT    NOT NULL,
    ordinal       INTEGER NOT NULL,
    endpoint      TEXT    NOT NULL,
    capacity      INTEGER NOT NULL,
    running       INTEGER NOT NULL,
    up            INTEGER NOT NULL,
    last_error    TEXT    NULL,
    last_error_at TEXT    NULL,
    errors        INTEGER NOT NULL,
    PRIMARY KEY (instance_id, name)
) WITHOUT ROWID;

-- The pool engine (its name in Docker:Engines) a job ran on; NULL for jobs from before pools and jobs not yet started.
ALTER TABLE jobs ADD COLUMN engine TEXT NULL;
