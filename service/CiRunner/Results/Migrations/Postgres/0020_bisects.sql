-- Bisects (see Sqlite/0020_bisects.sql).

CREATE TABLE bisects
(
    id              BIGSERIAL PRIMARY KEY,
    run_id BIGINT NOT NULL REFERENCES runs (id) ON DELETE CASCADE,
    module          TEXT    NOT NULL,
    branch          TEXT    NOT NULL,
    cell_key        TEXT    NOT NULL,
    target_module   TEXT    NOT NULL,
    good_sha        TEXT    NOT NULL,
    bad_sha         TEXT    NOT NULL,
    good_job_id     BIGINT REFERENCES jobs (id) ON DELETE SET NULL,
    bad_job_id      BIGINT REFERENCES jobs (id) ON DELETE SET NULL,
    check_good      BIGINT  NOT NULL,
    max_jobs        BIGINT  NOT NULL,
    retries         BIGINT  NOT NULL,
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
    bisect_id BIGINT NOT NULL REFERENCES bisects (id) ON DELETE CASCADE,
    position  BIGINT  NOT NULL,
    sha       TEXT    NOT NULL,
    author    TEXT    NOT NULL,
    subject   TEXT    NOT NULL,
    PRIMARY KEY (bisect_id, position)
);

CREATE TABLE bisect_steps
(
    job_id    BIGINT  NOT NULL PRIMARY KEY REFERENCES jobs (id) ON DELETE CASCADE,
    bisect_id BIGINT NOT NULL REFERENCES bisects (id) ON DELETE CASCADE,
    position  BIGINT  NOT NULL
);

CREATE INDEX bisect_steps_bisect ON bisect_steps (bisect_id);

-- A red cell's request for a bisect, written in the transaction that finished the red job; the service's bisect
-- starter reads the commit history (which needs git, never inside a transaction) and turns it into a bisect.
CREATE TABLE bisect_requests
(
    bad_job_id  BIGINT  NOT NULL PRIMARY KEY REFERENCES jobs (id) ON DELETE CASCADE,
    good_job_id BIGINT NOT NULL REFERENCES jobs (id) ON DELETE CASCADE,
    created_at  TEXT    NOT NULL
);
