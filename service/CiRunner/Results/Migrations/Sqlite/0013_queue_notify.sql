-- Nothing on SQLite: one instance serves a SQLite store, and it queues its jobs itself. PostgreSQL's 0013 adds the
-- notification that wakes the other instances sharing a database; the number is kept in step so both schemas
-- carry one version.
SELECT 1;
