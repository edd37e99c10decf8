-- Each instance's pool of Docker engines and the engine each job ran on (see Sqlite/0017_instance_engines.sql).
CREATE TABLE instance_engines
(
    instance_id   TEXT   NOT NULL REFERENCES instances (id) ON DELETE CASCADE,
    name          TEXT   NOT NULL,
    ordinal       BIGINT NOT NULL,
    endpoint      TEXT   NOT NULL,
    capacity      BIGINT NOT NULL,
    running       BIGINT NOT NULL,
    up            BIGINT NOT NULL,
    last_error    TEXT   NULL,
    last_error_at TEXT   NULL,
    errors        BIGINT NOT NULL,
    PRIMARY KEY (instance_id, name)
);

ALTER TABLE jobs ADD COLUMN engine TEXT NULL;
