-- The CI health page reads jobs and reports of the last 14 days by finish and settle time (see Sqlite/0021_health_indexes.sql).
CREATE INDEX jobs_finished_at ON jobs (finished_at);
CREATE INDEX run_reports_updated_at ON run_reports (updated_at);
