-- Schema version 21: the CI health page (/health, GET /api/health) reads the jobs and reports of the last 14 days by
-- when they finished or settled; without these indexes each read scans every job and report ever kept.
CREATE INDEX jobs_finished_at ON jobs (finished_at);
CREATE INDEX run_reports_updated_at ON run_reports (updated_at);
