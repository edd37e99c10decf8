-- Schema version 5: reporting. A transactional outbox, so that no finished run goes unreported (Gerrit, JUnit,
-- webhooks), even when a reporter's server is down or the service restarts; and what the recheck poller has read
-- of Gerrit's change messages, so that a restart neither repeats nor misses a recheck.

-- Written in the transaction that finishes a run (JobStore): the run still has to be handed to the reporters.
-- The report dispatcher turns each row into one run_reports row per reporter that applies, then deletes it.
CREATE TABLE report_requests
(
    run_id       INTEGER NOT NULL PRIMARY KEY REFERENCES runs (id) ON DELETE CASCADE,
    requested_at TEXT    NOT NULL
);

-- One delivery per run and reporter ('junit', 'gerrit', 'webhook:<name>').
-- state: pending (due at next_attempt_at), sent, held (the compliance rules say not to post; the operator decides),
-- failed (refused for good, e.g. an unknown change), skipped (nothing to report).
-- last_error and detail never hold a secret: reporters redact before they return.
CREATE TABLE run_reports
(
    run_id          INTEGER NOT NULL REFERENCES runs (id) ON DELETE CASCADE,
    reporter        TEXT    NOT NULL,
    state           TEXT    NOT NULL,
    attempts        INTEGER NOT NULL DEFAULT 0,
    next_attempt_at TEXT    NULL,
    last_error      TEXT    NULL,
    detail          TEXT    NULL,
    created_at      TEXT    NOT NULL,
    updated_at      TEXT    NOT NULL,
    PRIMARY KEY (run_id, reporter)
) WITHOUT ROWID;

CREATE INDEX ix_run_reports_due ON run_reports (state, reporter, next_attempt_at);

-- Per Gerrit project: when the recheck poller first read it (messages older than baseline_at never start a run,
-- so turning recheck on does not replay old comments), the newest change update it has seen (Gerrit's clock; the
-- next query asks only for changes updated since), and the last error.
CREATE TABLE recheck_projects
(
    project        TEXT NOT NULL PRIMARY KEY,
    baseline_at    TEXT NOT NULL,
    last_updated   TEXT NULL,
    last_polled_at TEXT NOT NULL,
    last_error     TEXT NULL
) WITHOUT ROWID;

-- Per change: the date of the newest message already read (Gerrit's fixed-width timestamps, so text order is time order).
CREATE TABLE recheck_cursors
(
    change_number   INTEGER NOT NULL PRIMARY KEY,
    project         TEXT    NOT NULL,
    last_message_at TEXT    NOT NULL,
    updated_at      TEXT    NOT NULL
);
