# keystone-glance: the identity and image core of puppet-openstack-integration's scenario001 on one node, deployed
# for real in a container that boots systemd: MariaDB, Memcached, Keystone under Apache (mod_wsgi) with its bootstrap,
# and Glance's API with a file store, registered in Keystone. The same manifest serves the zed module set (21.0.0,
# Debian 12) and the 2024.2 one (25.0.0, Debian 13), so an upgrade cell applies it before and after the packages move.
#
# Every workaround below is for a bug this scenario found in the real module set or in Debian's packaging, with the
# log line that showed it; everything else the job reports as it finds it.

$password = 'a_big_secret'
$host     = '127.0.0.1'

# Debian 13's OpenStack units (glance-api.service among them) say Wants=keystone.service: every glance-api (re)start
# also starts Debian's own keystone, under uwsgi on :5000, which takes the port from Apache, where puppet-keystone
# runs keystone here (service_name => 'httpd'): "(98)Address already in use: AH00072: make_sock: could not bind to
# address 0.0.0.0:5000". A condition that never holds keeps the packaged unit from starting, whoever asks for it.
# (Masking it instead breaks the keystone package's upgrade: "Failed to enable unit: Unit
# /etc/systemd/system/keystone.service is masked" / "dpkg: error processing package keystone (--configure)".)
file { '/etc/systemd/system/keystone.service.d':
  ensure => directory,
}
file { '/etc/systemd/system/keystone.service.d/cirunner-keystone-under-apache.conf':
  content => "[Unit]\nConditionPathExists=/nonexistent/keystone-runs-under-apache\n",
  before  => [Service['keystone'], Service['glance-api']],
}

# puppetlabs-mysql writes `ssl = false` for the server, and MariaDB 11.8's client (Debian 13) requires TLS even on the
# local socket: once the server restarts with that configuration (the package upgrade restarts it), every mysql_*
# provider fails: "ERROR 2026 (HY000): TLS/SSL error: SSL is required, but the server does not support it". The
# client is told not to ask for TLS on this one-node, loopback-only database (MariaDB 10.11's client takes it too).
class { 'mysql::server':
  override_options => { 'client' => { 'skip-ssl' => true } },
}

# Both memcached module versions listen on 127.0.0.1 by default (zed's 3.1.0 calls the parameter listen_ip, 8.x listen).
class { 'memcached': }

# Debian's puppetlabs-apache asks for libapache2-mod-wsgi, which Debian no longer ships; mod_wsgi for Python 3 is
# libapache2-mod-wsgi-py3.
class { 'apache::mod::wsgi':
  package_name => 'libapache2-mod-wsgi-py3',
  mod_path     => '/usr/lib/apache2/modules/mod_wsgi.so',
}

# MariaDB 10.11 and 11.8 name utf8 'utf8mb3', so with the modules' default charset 'utf8' every run "changes"
# Mysql_database[keystone] and [glance] (the idempotency step: charset 'utf8mb3' -> 'utf8', collate
# 'utf8mb3_general_ci' -> 'utf8_general_ci'), which on zed also re-runs db_sync and the bootstrap. Asking for utf8mb3
# by that name is the same character set, and stable. The scenario keystone-db shows the finding itself.
$db_charset = { 'charset' => 'utf8mb3', 'collate' => 'utf8mb3_general_ci' }

# Keystone's first db_sync runs its initial migration's "ALTER DATABASE keystone DEFAULT CHARACTER SET utf8"
# (keystone/common/sql/migrations/versions/27e647c0fad4_initial_version.py). MariaDB 10.11 (Debian 12) gives utf8mb3
# the collation utf8mb3_general_ci, MariaDB 11.8 (Debian 13) utf8mb3_uca1400_ai_ci; so on a fresh 2024.2 node every
# later run "changes" it back, which re-runs db_sync and the bootstrap and restarts keystone and Apache (the
# idempotency step: "Mysql_database[keystone] collate: utf8mb3_uca1400_ai_ci -> utf8mb3_general_ci (module
# openstacklib)"). Ask there for what the migration leaves.
$keystone_db_charset = $facts['os']['release']['major'] ? {
  '12'    => $db_charset,
  default => $db_charset + { 'collate' => 'utf8mb3_uca1400_ai_ci' },
}

# The admin credentials in /root/openrc, as puppet-openstack-integration writes them (openstack_extras::auth_file).
# Without them, the zed keystone module's providers validate every Keystone_user's password against an empty auth URL
# (keystone.rb looks up configs['auth.auth_url'], a string key in a hash of symbols; 2024.2's has configs[:'auth.auth_url']):
# "Missing value auth-url required for auth plugin password", so each run "changes" each password (the idempotency
# step: Keystone_user[admin] password: absent -> (redacted)). The providers read OS_AUTH_URL from this file first.
file { '/root/openrc':
  mode    => '0600',
  content => @("OPENRC"),
    export OS_AUTH_URL=http://${host}:5000/v3
    export OS_USERNAME=admin
    export OS_PASSWORD=${password}
    export OS_PROJECT_NAME=admin
    export OS_USER_DOMAIN_NAME=Default
    export OS_PROJECT_DOMAIN_NAME=Default
    export OS_IDENTITY_API_VERSION=3
    export OS_INTERFACE=public
    | OPENRC
}
File['/root/openrc'] -> Keystone_user <| |>

# Identity
class { 'keystone::db::mysql':
  password => $password,
  *        => $keystone_db_charset,
}
class { 'keystone::db':
  database_connection => "mysql+pymysql://keystone:${password}@${host}/keystone",
}
class { 'keystone':
  service_name => 'httpd',
}
class { 'keystone::cache':
  backend          => 'dogpile.cache.pymemcache',
  enabled          => true,
  memcache_servers => ["${host}:11211"],
}
class { 'keystone::wsgi::apache':
  ssl => false,
}
class { 'keystone::bootstrap':
  password     => $password,
  public_url   => "http://${host}:5000",
  admin_url    => "http://${host}:5000",
  internal_url => "http://${host}:5000",
}

# Image
class { 'glance::db::mysql':
  password => $password,
  *        => $db_charset,
}
class { 'glance::keystone::auth':
  password     => $password,
  public_url   => "http://${host}:9292",
  admin_url    => "http://${host}:9292",
  internal_url => "http://${host}:9292",
}
class { 'glance::api::db':
  database_connection => "mysql+pymysql://glance:${password}@${host}/glance",
}
class { 'glance::api::authtoken':
  password             => $password,
  www_authenticate_uri => "http://${host}:5000",
  auth_url             => "http://${host}:5000",
  memcached_servers    => ["${host}:11211"],
}
class { 'glance::api':
  enabled_backends => ['file:file'],
  default_backend  => 'file',
  bind_host        => $host,
}
glance::backend::multistore::file { 'file': }
