# scenario002: object storage, bare metal, messaging and telemetry on one node, after
# puppet-openstack-integration's scenario002: Glance, Cinder backups and Gnocchi keep their data in
# Swift; Ironic, Zaqar and Barbican run beside the compute services. The module classes are called
# directly (the integration repository's openstack_integration::* wrappers are not in the module set).

$password = 'a_big_secret'
$host     = '127.0.0.1'
$keystone = "http://${host}:5000"
$transport_url = "rabbit://openstack:${password}@${host}:5672/"

# Infrastructure
class { 'mysql::server': }
class { 'rabbitmq':
  delete_guest_user => true,
}
rabbitmq_user { 'openstack':
  admin    => true,
  password => $password,
}
rabbitmq_user_permissions { 'openstack@/':
  configure_permission => '.*',
  read_permission      => '.*',
  write_permission     => '.*',
}
class { 'memcached':
  listen => $host,
}
class { 'redis':
  bind => $host,
}

# Identity
class { 'keystone::db::mysql':
  password => $password,
}
class { 'keystone::db':
  database_connection => "mysql+pymysql://keystone:${password}@${host}/keystone",
}
class { 'keystone':
  service_name => 'httpd',
}
class { 'keystone::wsgi::apache':
  ssl => false,
}
class { 'keystone::bootstrap':
  password   => $password,
  public_url => $keystone,
  admin_url  => $keystone,
}

# Object storage: one proxy and all storage servers with a one-replica ring
class { 'swift':
  swift_hash_path_suffix => 'cirunner_scenario002',
}
class { 'swift::keystone::auth':
  password => $password,
}
class { 'swift::proxy':
  proxy_local_net_ip => $host,
  pipeline           => ['catch_errors', 'healthcheck', 'cache', 'authtoken', 'keystone', 'proxy-logging', 'proxy-server'],
}
include swift::proxy::catch_errors
include swift::proxy::healthcheck
include swift::proxy::cache
include swift::proxy::proxy_logging
class { 'swift::proxy::authtoken':
  password => $password,
}
class { 'swift::proxy::keystone':
  operator_roles => ['member', 'admin', 'SwiftOperator'],
}
class { 'swift::storage::all':
  storage_local_net_ip => $host,
  mount_check          => false,
}
class { 'swift::ringbuilder':
  part_power     => 10,
  replicas       => 1,
  min_part_hours => 1,
}
ring_object_device { "${host}:6000/1":
  zone   => 1,
  weight => 1,
}
ring_container_device { "${host}:6001/1":
  zone   => 1,
  weight => 1,
}
ring_account_device { "${host}:6002/1":
  zone   => 1,
  weight => 1,
}

# Image, in Swift
class { 'glance::db::mysql':
  password => $password,
}
class { 'glance::keystone::auth':
  password => $password,
}
class { 'glance::api::db':
  database_connection => "mysql+pymysql://glance:${password}@${host}/glance",
}
class { 'glance::api::authtoken':
  password => $password,
}
class { 'glance::api': }
glance::backend::multistore::swift { 'swift':
  swift_store_user         => 'services:glance',
  swift_store_key          => $password,
  swift_store_auth_address => "${keystone}/v3",
}

# Block storage, backed up to Swift
class { 'cinder::db::mysql':
  password => $password,
}
class { 'cinder::keystone::auth':
  password => $password,
}
class { 'cinder::db':
  database_connection => "mysql+pymysql://cinder:${password}@${host}/cinder",
}
class { 'cinder':
  default_transport_url => $transport_url,
}
class { 'cinder::keystone::authtoken':
  password => $password,
}
class { 'cinder::api': }
class { 'cinder::scheduler': }
class { 'cinder::volume': }
cinder::backend::iscsi { 'lvm':
  target_ip_address => $host,
}
class { 'cinder::backends':
  enabled_backends => ['lvm'],
}
class { 'cinder::backup': }
class { 'cinder::backup::swift': }

# Key manager
class { 'barbican::db::mysql':
  password => $password,
}
class { 'barbican::keystone::auth':
  password => $password,
}
class { 'barbican::db':
  database_connection => "mysql+pymysql://barbican:${password}@${host}/barbican",
}
class { 'barbican::api':
  default_transport_url => $transport_url,
  host_href             => "http://${host}:9311",
}
class { 'barbican::keystone::authtoken':
  password => $password,
}
class { 'barbican::wsgi::apache':
  ssl => false,
}

# Bare metal
class { 'ironic::db::mysql':
  password => $password,
}
class { 'ironic::keystone::auth':
  password => $password,
}
class { 'ironic::db':
  database_connection => "mysql+pymysql://ironic:${password}@${host}/ironic",
}
class { 'ironic':
  default_transport_url => $transport_url,
}
class { 'ironic::api::authtoken':
  password => $password,
}
class { 'ironic::api': }
class { 'ironic::wsgi::apache':
  ssl => false,
}
class { 'ironic::conductor': }

# Messaging
class { 'zaqar::db::mysql':
  password => $password,
}
class { 'zaqar::keystone::auth':
  password => $password,
}
class { 'zaqar::keystone::authtoken':
  password => $password,
}
class { 'zaqar::management::sqlalchemy':
  uri => "mysql+pymysql://zaqar:${password}@${host}/zaqar",
}
class { 'zaqar::messaging::swift':
  uri => "swift://zaqar:${password}@/services",
}
class { 'zaqar': }
class { 'zaqar::server': }

# Placement and compute
class { 'placement::db::mysql':
  password => $password,
}
class { 'placement::keystone::auth':
  password => $password,
}
class { 'placement::db':
  database_connection => "mysql+pymysql://placement:${password}@${host}/placement",
}
class { 'placement::keystone::authtoken':
  password => $password,
}
class { 'placement': }
class { 'placement::api': }
class { 'placement::wsgi::apache':
  ssl => false,
}
class { 'nova::db::mysql':
  password => $password,
}
class { 'nova::db::mysql_api':
  password => $password,
}
class { 'nova::keystone::auth':
  password => $password,
}
class { 'nova::db':
  database_connection     => "mysql+pymysql://nova:${password}@${host}/nova",
  api_database_connection => "mysql+pymysql://nova_api:${password}@${host}/nova_api",
}
class { 'nova':
  default_transport_url => $transport_url,
}
class { 'nova::keystone::authtoken':
  password => $password,
}
class { 'nova::api':
  api_bind_address => $host,
}
class { 'nova::placement':
  password => $password,
}
class { 'nova::cinder':
  password => $password,
}
class { 'nova::conductor': }
class { 'nova::scheduler': }

# Networking, with metering for the telemetry services
class { 'neutron::db::mysql':
  password => $password,
}
class { 'neutron::keystone::auth':
  password => $password,
}
class { 'neutron':
  default_transport_url => $transport_url,
  core_plugin           => 'ml2',
  service_plugins       => ['router', 'metering'],
}
class { 'neutron::db':
  database_connection => "mysql+pymysql://neutron:${password}@${host}/neutron",
}
class { 'neutron::keystone::authtoken':
  password => $password,
}
class { 'neutron::server':
  sync_db => true,
}
class { 'neutron::plugins::ml2':
  type_drivers         => ['flat', 'vxlan'],
  tenant_network_types => ['vxlan'],
  mechanism_drivers    => ['openvswitch', 'baremetal'],
}
class { 'neutron::agents::metering': }
class { 'neutron::server::notifications::nova':
  password => $password,
}

# Telemetry: Ceilometer publishes to Gnocchi, which keeps its measures in Swift and Redis; Aodh alarms on them
class { 'gnocchi::db::mysql':
  password => $password,
}
class { 'gnocchi::keystone::auth':
  password => $password,
}
class { 'gnocchi::db':
  database_connection => "mysql+pymysql://gnocchi:${password}@${host}/gnocchi",
}
class { 'gnocchi': }
class { 'gnocchi::keystone::authtoken':
  password => $password,
}
class { 'gnocchi::api': }
class { 'gnocchi::wsgi::apache':
  ssl => false,
}
class { 'gnocchi::metricd': }
class { 'gnocchi::storage::swift':
  swift_user    => 'services:gnocchi',
  swift_key     => $password,
  swift_authurl => "${keystone}/v3",
}
class { 'gnocchi::storage::incoming::redis':
  redis_url => "redis://${host}:6379",
}
class { 'ceilometer':
  telemetry_secret      => $password,
  default_transport_url => $transport_url,
}
class { 'ceilometer::keystone::auth':
  password => $password,
}
class { 'ceilometer::agent::service_credentials':
  password => $password,
  auth_url => $keystone,
}
class { 'ceilometer::agent::notification': }
class { 'ceilometer::agent::polling': }
class { 'aodh::db::mysql':
  password => $password,
}
class { 'aodh::keystone::auth':
  password => $password,
}
class { 'aodh::db':
  database_connection => "mysql+pymysql://aodh:${password}@${host}/aodh",
}
class { 'aodh':
  default_transport_url => $transport_url,
}
class { 'aodh::keystone::authtoken':
  password => $password,
}
class { 'aodh::api': }
class { 'aodh::wsgi::apache':
  ssl => false,
}
class { 'aodh::service_credentials':
  password => $password,
  auth_url => $keystone,
}
class { 'aodh::evaluator': }
class { 'aodh::notifier': }
class { 'aodh::listener': }
