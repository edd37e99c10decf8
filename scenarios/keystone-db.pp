# keystone-db: Keystone's database on MariaDB exactly as the modules make it, without keystone-glance's workarounds.
# On zed (MariaDB 10.11) the second apply changes Mysql_database[keystone] (charset 'utf8mb3' -> 'utf8'): MariaDB
# reports utf8 as utf8mb3, and puppetlabs-mysql compares the names. The idempotency step names the resource, the
# property, the old and new values and the module that declared it: the finding, as a maintainer needs it. On 2024.2
# (MariaDB 11.8) the first apply already fails: the 11.8 client requires TLS and puppetlabs-mysql configures the
# server without it ("ERROR 2026 (HY000): TLS/SSL error: SSL is required, but the server does not support it").
class { 'mysql::server': }
class { 'keystone::db::mysql':
  password => 'a_big_secret',
}
