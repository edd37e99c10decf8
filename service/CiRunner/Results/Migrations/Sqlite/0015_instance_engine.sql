-- Each instance's engine and capacity (Docker:Endpoint, Docker:ParallelJobs), written at every check-in: shown with
-- the instances, and where a live instance looks for a dead one's containers besides its own engine.
ALTER TABLE instances ADD COLUMN engine TEXT NULL;
ALTER TABLE instances ADD COLUMN capacity INTEGER NULL;
