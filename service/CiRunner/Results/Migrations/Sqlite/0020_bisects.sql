-- Schema version 20: bisects, the search for the first commit that turned a cell red.
--
-- bisects: one search. module/branch/cell_key name the cell; target_module is the module whose commits are searched
-- (the module under test, or a dependency whose commit moved while it did not); good_sha and bad_sha bound the
-- search. bad_job_id is the red job every step replays, with target_module's commit changed (for cirunner bisect:
-- the search's first job); good_job_id the last green job, when the service started it. run_id is the bisect's run
-- (cause 'bisect'): its jobs are the steps. state is 'running' or 'finished'; verdict 'culprit', 'notreproducible',
-- 'notinrange', 'inconclusive', 'error' or 'cancelled' once finished; culprit_* name the first bad commit.
-- max_jobs and retries are Bisect:MaxJobs and Bisect:Retries as the search started.
-- bisect_commits: the first-parent history searched, position 0 the good commit, the highest the bad one.
-- bisect_steps: which job ran which position.

CREATE TABLE bisects
(
    id              INTEGER NOT NULL PRIMARY KEY AUTOINCREMENT,
    run_id          INTEGER NOT NULL REFERENCES runs (id) ON DELETE CASCADE,
    module          TEXT    NOT NULL,
    branch          TEXT    NOT NULL,
    cell_key        TEXT    NOT NULL,
    target_module   TEXT    NOT NULL,
    good_sha        TEXT    NOT NULL,
    bad_sha         TEXT    NOT NULL,
    good_job_id     INTEGER REFERENCES jobs (id) ON DELETE SET NULL,
    bad_job_id      INTEGER REFERENCES jobs (id) ON DELETE SET NULL,
    check_good      INTEGER NOT NULL,
    max_jobs        INTEGER NOT NULL,
    retries         INTEGER NOT NULL,
    state           TEXT    NOT NULL,
    verdict         TEXT,
    culprit_sha     TEXT,
    culprit_author  TEXT,
    culprit_subject TEXT,
    summary         TEXT,
    created_at      TEXT    NOT NULL,
    finished_at     TEXT
);

CREATE INDEX bisects_bad_job ON bisects (bad_job_id);
CREATE INDEX bisects_cell ON bisects (module, branch, cell_key);

CREATE TABLE bisect_commits
(
    bisect_id INTEGER NOT NULL REFERENCES bisects (id) ON DELETE CASCADE,
    position  INTEGER NOT NULL,
    sha       TEXT    NOT NULL,
    author    TEXT    NOT NULL,
    subject   TEXT    NOT NULL,
    PRIMARY KEY (bisect_id, position)
);

CREATE TABLE bisect_steps
(
    job_id    INTEGER NOT NULL PRIMARY KEY REFERENCES jobs (id) ON DELETE CASCADE,
    bisect_id INTEGER NOT NULL REFERENCES bisects (id) ON DELETE CASCADE,
    position  INTEGER NOT NULL
);

CREATE INDEX bisect_steps_bisect ON bisect_steps (bisect_id);

-- A red cell's request for a bisect, written in the transaction that finished the red job; the service's bisect
-- starter reads the commit history (which needs git, never inside a transaction) and turns it into a bisect.
CREATE TABLE bisect_requests
(
    bad_job_id  INTEGER NOT NULL PRIMARY KEY REFERENCES jobs (id) ON DELETE CASCADE,
    good_job_id INTEGER NOT NULL REFERENCES jobs (id) ON DELETE CASCADE,
    created_at  TEXT    NOT NULL
);
