-- The rest of each job's lockfile and the replay link (see Sqlite/0019_job_lockfiles.sql).
CREATE TABLE lockfile_texts
(
    hash TEXT NOT NULL PRIMARY KEY,
    text TEXT NOT NULL
);

CREATE TABLE job_lockfiles
(
    job_id                 BIGINT NOT NULL PRIMARY KEY REFERENCES jobs (id) ON DELETE CASCADE,
    scenario               TEXT   NOT NULL,
    image                  TEXT   NOT NULL,
    image_release          TEXT,
    network_mode           TEXT   NOT NULL,
    init_system            TEXT   NOT NULL,
    package_snapshot_release TEXT,
    package_snapshot_image TEXT,
    phases                 TEXT   NOT NULL
);

CREATE TABLE job_scenario_files
(
    job_id BIGINT NOT NULL REFERENCES jobs (id) ON DELETE CASCADE,
    path   TEXT   NOT NULL,
    role   TEXT   NOT NULL,
    hash   TEXT   NOT NULL REFERENCES lockfile_texts (hash),
    PRIMARY KEY (job_id, path)
);

ALTER TABLE jobs ADD COLUMN replay_of BIGINT REFERENCES jobs (id);
