-- Each instance's engine and capacity (see Sqlite/0015_instance_engine.sql).
ALTER TABLE instances ADD COLUMN engine TEXT NULL;
ALTER TABLE instances ADD COLUMN capacity INTEGER NULL;
