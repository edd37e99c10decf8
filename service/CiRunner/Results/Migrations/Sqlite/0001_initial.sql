-- Schema version 1: runs, their jobs and what each job did, and the poller's branch heads.
--
-- Conventions every later migration keeps:
-- * Times are UTC ISO-8601 text, 'YYYY-MM-DDTHH:MM:SS.fffZ'. The width is fixed, so text order is time order
--   and the sqlite3 shell shows readable values.
-- * Enumerations (cause, kind, state, result) are lower-case text checked by the code rather than by CHECK
--   constraints: SQLite can change a CHECK only by rebuilding the table, and the enums gain members.
-- * AUTOINCREMENT on run and job ids: they name log folders and appear in review comments, so an id
--   must never be handed out twice, even after old rows are pruned.

CREATE TABLE runs
(
    id           INTEGER PRIMARY KEY AUTOINCREMENT,
    cause        TEXT    NOT NULL,
    module       TEXT    NOT NULL,
    branch       TEXT    NOT NULL,
    commit_sha   TEXT    NOT NULL,
    -- Gerrit's refs/changes/NN/CHANGE/PATCHSET for patch set and recheck runs; NULL for branch commits.
    change_ref   TEXT    NULL,
    patch_set    INTEGER NULL,
    requested_by TEXT    NULL,
    created_at   TEXT    NOT NULL,
    started_at   TEXT    NULL,
    finished_at  TEXT    NULL,
    result       TEXT    NULL
);

CREATE TABLE jobs
(
    id           INTEGER PRIMARY KEY AUTOINCREMENT,
    run_id       INTEGER NOT NULL REFERENCES runs (id) ON DELETE CASCADE,
    cell_key     TEXT    NOT NULL,
    kind         TEXT    NOT NULL,
    release      TEXT    NOT NULL,
    from_release TEXT    NULL,
    scenario     TEXT    NOT NULL,
    priority     INTEGER NOT NULL DEFAULT 0,
    state        TEXT    NOT NULL,
    result       TEXT    NULL,
    summary      TEXT    NULL,
    image_id     TEXT    NULL,
    queued_at    TEXT    NOT NULL,
    started_at   TEXT    NULL,
    finished_at  TEXT    NULL,
    duration_ms  INTEGER NULL,
    -- Absolute, or relative to the data directory.
    log_path     TEXT    NULL,
    attempt      INTEGER NOT NULL DEFAULT 1
);

-- The job's lockfile: the exact commit of every module it installed.
CREATE TABLE job_modules
(
    job_id     INTEGER NOT NULL REFERENCES jobs (id) ON DELETE CASCADE,
    module     TEXT    NOT NULL,
    git_url    TEXT    NOT NULL,
    ref        TEXT    NULL,
    commit_sha TEXT    NOT NULL,
    PRIMARY KEY (job_id, module)
) WITHOUT ROWID;

CREATE TABLE steps
(
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    job_id      INTEGER NOT NULL REFERENCES jobs (id) ON DELETE CASCADE,
    ordinal     INTEGER NOT NULL,
    phase       TEXT    NOT NULL,
    name        TEXT    NOT NULL,
    kind        TEXT    NOT NULL,
    started_at  TEXT    NOT NULL,
    finished_at TEXT    NOT NULL,
    duration_ms INTEGER NOT NULL,
    exit_code   INTEGER NULL,
    result      TEXT    NOT NULL,
    UNIQUE (job_id, ordinal)
);

-- One row per resource property that changed on an idempotency apply.
CREATE TABLE idempotency_changes
(
    id             INTEGER PRIMARY KEY,
    job_id         INTEGER NOT NULL REFERENCES jobs (id) ON DELETE CASCADE,
    step_id        INTEGER NOT NULL REFERENCES steps (id) ON DELETE CASCADE,
    resource_type  TEXT    NOT NULL,
    title          TEXT    NOT NULL,
    property       TEXT    NOT NULL,
    previous_value TEXT    NULL,
    desired_value  TEXT    NULL,
    module         TEXT    NULL,
    manifest_file  TEXT    NULL,
    line           INTEGER NULL
);

-- What the poller last saw on each tracked branch; survives restarts so no commit is missed or run twice.
CREATE TABLE branch_heads
(
    module     TEXT NOT NULL,
    branch     TEXT NOT NULL,
    commit_sha TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    deleted_at TEXT NULL,
    PRIMARY KEY (module, branch)
) WITHOUT ROWID;
