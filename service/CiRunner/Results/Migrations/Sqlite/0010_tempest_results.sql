-- Schema version 10: every test a tempest step ran (Debian's `tempest run` against the deployed services), so that the
-- job page, `cirunner show`, the API and the JUnit report can list each one, and a failed one with its traceback. One
-- row per test per step: an upgrade job runs Tempest after its deploy phase and again after its upgrade phase.
-- phase and step_ordinal repeat the step's, so the rows read on their own in the sqlite3 shell.

CREATE TABLE tempest_tests
(
    id           INTEGER PRIMARY KEY,
    job_id       INTEGER NOT NULL REFERENCES jobs (id) ON DELETE CASCADE,
    step_id      INTEGER NOT NULL REFERENCES steps (id) ON DELETE CASCADE,
    phase        TEXT    NOT NULL,
    step_ordinal INTEGER NOT NULL,
    -- Tempest's id: tempest.api.identity.v3.test_domains.DefaultDomainTestJSON.test_default_domain_exists[id-...,smoke],
    -- or 'setUpClass (tempest.api....Class)' for a class that failed or was skipped as a whole.
    test_id      TEXT    NOT NULL,
    class_name   TEXT    NOT NULL,
    -- passed, failed or skipped
    status       TEXT    NOT NULL,
    duration_ms  INTEGER NOT NULL,
    traceback    TEXT    NULL,
    skip_reason  TEXT    NULL
);

CREATE INDEX tempest_tests_by_job ON tempest_tests (job_id, step_id);
