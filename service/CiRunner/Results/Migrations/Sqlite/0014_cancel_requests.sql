-- A running job can be cancelled through any instance's API: the instance asked writes who asked here, and the
-- instance running the job (jobs.instance_id) sees it within a second and stops the job's container.
ALTER TABLE jobs ADD COLUMN cancel_requested_by TEXT NULL;
