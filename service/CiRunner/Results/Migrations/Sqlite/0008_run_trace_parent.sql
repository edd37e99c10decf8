-- Schema version 8: the W3C traceparent of a run's root span ("00-<trace>-<span>-01"). The root span is exported
-- when the run is created; its jobs start minutes later, possibly in another process after a restart, and find
-- their parent here. NULL for runs made before this version, and by `cirunner run` (no tracer there).

ALTER TABLE runs ADD COLUMN trace_parent TEXT NULL;
