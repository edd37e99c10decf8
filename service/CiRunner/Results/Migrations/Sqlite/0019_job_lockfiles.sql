-- Schema version 19: the rest of each job's lockfile, so a job can be replayed from the store alone, without today's
-- configuration or scenarios directory (cirunner replay). job_modules (0004) already holds every module commit and
-- jobs.image_id the image the engine resolved; this adds what rebuilds the spec around them.
--
-- lockfile_texts: a scenario's files (its YAML, its manifest, the files it copies in), each kept once per content
-- hash ('sha256:' and the hex of the UTF-8 text): the nightly runs the same scenario hundreds of times.
-- job_lockfiles: the spec as run. image is the reference the job asked for (a release image tag), image_release
-- its release; phases is JSON, each phase's name, manifest and steps as run (kind, name, command, timeout).
-- job_scenario_files: which texts the job had, by path under /cirunner/scenario (role 'scenario' for the YAML,
-- which is not copied in, 'manifest', 'file').
-- jobs.replay_of: the job a replay job re-runs; its run's cause is 'replay'.

CREATE TABLE lockfile_texts
(
    hash TEXT NOT NULL PRIMARY KEY,
    text TEXT NOT NULL
);

CREATE TABLE job_lockfiles
(
    job_id                 INTEGER NOT NULL PRIMARY KEY REFERENCES jobs (id) ON DELETE CASCADE,
    scenario               TEXT    NOT NULL,
    image                  TEXT    NOT NULL,
    image_release          TEXT,
    network_mode           TEXT    NOT NULL,
    init_system            TEXT    NOT NULL,
    package_snapshot_release TEXT,
    package_snapshot_image TEXT,
    phases                 TEXT    NOT NULL
);

CREATE TABLE job_scenario_files
(
    job_id INTEGER NOT NULL REFERENCES jobs (id) ON DELETE CASCADE,
    path   TEXT    NOT NULL,
    role   TEXT    NOT NULL,
    hash   TEXT    NOT NULL REFERENCES lockfile_texts (hash),
    PRIMARY KEY (job_id, path)
);

ALTER TABLE jobs ADD COLUMN replay_of INTEGER REFERENCES jobs (id);
