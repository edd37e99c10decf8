-- The serving instances of this store and which one runs each job: the ground for several instances on one
-- database (a dead instance is one whose check-in is old; its running jobs are the ones that carry its id).
CREATE TABLE instances
(
    id              TEXT    NOT NULL PRIMARY KEY,
    host            TEXT    NOT NULL,
    pid             INTEGER NOT NULL,
    started_at      TEXT    NOT NULL,
    last_checkin_at TEXT    NOT NULL,
    stopped_at      TEXT    NULL
) WITHOUT ROWID;

-- The Service:InstanceId of the serve that started the job; NULL for jobs of `cirunner run` and jobs from before.
ALTER TABLE jobs ADD COLUMN instance_id TEXT NULL;
