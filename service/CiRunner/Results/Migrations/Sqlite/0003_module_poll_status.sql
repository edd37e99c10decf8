-- Schema version 3: how polling each module went, for `cirunner status` and the dashboard. One row per module,
-- written after every poll. The error text is redacted before it is stored: remotes' logins never reach here.

CREATE TABLE module_poll_status
(
    module               TEXT    NOT NULL PRIMARY KEY,
    last_poll_at         TEXT    NOT NULL,
    last_success_at      TEXT    NULL,
    last_error           TEXT    NULL,
    last_error_at        TEXT    NULL,
    -- Failed polls in a row (0 after a success) and failed polls in all; retries inside one poll count once.
    consecutive_failures INTEGER NOT NULL DEFAULT 0,
    total_failures       INTEGER NOT NULL DEFAULT 0
) WITHOUT ROWID;
