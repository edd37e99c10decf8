-- Schema version 9: the package snapshot an upgrade job moved its node onto (Releases[].PackageSnapshot) is part of
-- the job's lockfile, beside the module commits: the release whose image it was frozen from, the Docker volume that
-- held it, its id ("sha256:" and the hash of its package list and upgrade script, the same for the same packages)
-- and how many packages it holds. NULL for jobs that used none, and for jobs from before this version.

ALTER TABLE jobs ADD COLUMN package_snapshot_release TEXT NULL;
ALTER TABLE jobs ADD COLUMN package_snapshot_volume TEXT NULL;
ALTER TABLE jobs ADD COLUMN package_snapshot_id TEXT NULL;
ALTER TABLE jobs ADD COLUMN package_snapshot_packages INTEGER NULL;
