# keystone-db: Keystone's database on MariaDB exactly as the modules make it, without keystone-glance's workaround.
# The second apply is expected to change Mysql_database[keystone] (charset 'utf8mb3' -> 'utf8'): MariaDB 10.11 and
# 11.8 report utf8 as utf8mb3, and puppetlabs-mysql compares the names. The idempotency step names the resource, the
# property, the old and new values and the module that declared it: the finding, as a maintainer needs it.
class { 'mysql::server': }
class { 'keystone::db::mysql':
  password => 'a_big_secret',
}
