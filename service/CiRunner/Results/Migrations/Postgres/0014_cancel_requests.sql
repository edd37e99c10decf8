-- A running job can be cancelled through any instance's API (see Sqlite/0014_cancel_requests.sql).
ALTER TABLE jobs ADD COLUMN cancel_requested_by TEXT NULL;
