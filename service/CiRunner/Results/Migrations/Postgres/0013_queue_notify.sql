-- Every instance sharing the database LISTENs on cirunner_queue: a job inserted (always queued) wakes them at the
-- commit, so one with a free slot claims it at once instead of at its next read of the queue. A statement-level
-- trigger, so a run with twenty jobs is one notification (PostgreSQL also folds identical ones per transaction).
CREATE FUNCTION cirunner_notify_queued() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_notify('cirunner_queue', '');
    RETURN NULL;
END;
$$;

CREATE TRIGGER jobs_queued AFTER INSERT ON jobs FOR EACH STATEMENT EXECUTE FUNCTION cirunner_notify_queued();
