-- The serving instances of this store and which one runs each job (see Sqlite/0011_instances.sql).
CREATE TABLE instances
(
    id              TEXT   NOT NULL PRIMARY KEY,
    host            TEXT   NOT NULL,
    pid             BIGINT NOT NULL,
    started_at      TEXT   NOT NULL,
    last_checkin_at TEXT   NOT NULL,
    stopped_at      TEXT   NULL
);

ALTER TABLE jobs ADD COLUMN instance_id TEXT NULL;
