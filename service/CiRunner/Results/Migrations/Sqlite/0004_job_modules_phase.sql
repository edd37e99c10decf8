-- Schema version 4: an upgrade job installs a module set per phase (deploy at the from-release, upgrade with the
-- commit under test, rollback), so the lockfile is kept per phase. SQLite cannot change a primary key in place:
-- the table is rebuilt, and every existing row was a deploy job's single phase.

CREATE TABLE job_modules_by_phase
(
    job_id     INTEGER NOT NULL REFERENCES jobs (id) ON DELETE CASCADE,
    phase      TEXT    NOT NULL DEFAULT 'deploy',
    module     TEXT    NOT NULL,
    git_url    TEXT    NOT NULL,
    ref        TEXT    NULL,
    commit_sha TEXT    NOT NULL,
    PRIMARY KEY (job_id, phase, module)
) WITHOUT ROWID;

INSERT INTO job_modules_by_phase (job_id, phase, module, git_url, ref, commit_sha)
SELECT job_id, 'deploy', module, git_url, ref, commit_sha FROM job_modules;

DROP TABLE job_modules;

ALTER TABLE job_modules_by_phase RENAME TO job_modules;
