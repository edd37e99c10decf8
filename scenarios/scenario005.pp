# scenario005: OVN networking and shared file systems, after puppet-openstack-integration's
# scenario005: Neutron with OVN, Octavia with its OVN provider, Cinder with Glance storing images in
# volumes, Manila, Horizon, and Redis for coordination.

$password = 'a_big_secret'
$host     = '127.0.0.1'
$keystone = "http://${host}:5000"
$transport_url = "rabbit://openstack:${password}@${host}:5672/"
$ovn_nb = "tcp:${host}:6641"
$ovn_sb = "tcp:${host}:6642"

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

# OVN: the northbound and southbound databases and the chassis controller on Open vSwitch
class { 'vswitch::ovs': }
class { 'ovn::northd':
  dbs_listen_ip => $host,
}
class { 'ovn::controller':
  ovn_remote   => $ovn_sb,
  ovn_encap_ip => $host,
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

# Block storage
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

# Image, stored in Cinder volumes
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
glance::backend::multistore::cinder { 'cinder':
  cinder_store_auth_address => "${keystone}/v3",
  cinder_store_user_name    => 'glance',
  cinder_store_password     => $password,
  cinder_store_project_name => 'services',
}

# Networking with OVN
class { 'neutron::db::mysql':
  password => $password,
}
class { 'neutron::keystone::auth':
  password => $password,
}
class { 'neutron':
  default_transport_url => $transport_url,
  core_plugin           => 'ml2',
  service_plugins       => ['ovn-router'],
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
  type_drivers         => ['flat', 'geneve'],
  tenant_network_types => ['geneve'],
  mechanism_drivers    => ['ovn'],
}
class { 'neutron::plugins::ml2::ovn':
  ovn_nb_connection => $ovn_nb,
  ovn_sb_connection => $ovn_sb,
}
class { 'neutron::server::notifications::nova':
  password => $password,
}

# Placement and compute, with volumes from Cinder
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

# Load balancing with the OVN provider
class { 'octavia::db::mysql':
  password => $password,
}
class { 'octavia::keystone::auth':
  password => $password,
}
class { 'octavia::db':
  database_connection => "mysql+pymysql://octavia:${password}@${host}/octavia",
}
class { 'octavia':
  default_transport_url => $transport_url,
}
class { 'octavia::keystone::authtoken':
  password => $password,
}
class { 'octavia::api':
  enabled_provider_drivers => { 'ovn' => 'Octavia OVN driver' },
  default_provider_driver  => 'ovn',
}
class { 'octavia::provider::ovn':
  ovn_nb_connection => $ovn_nb,
  ovn_sb_connection => $ovn_sb,
}

# Shared file systems
class { 'manila::db::mysql':
  password => $password,
}
class { 'manila::keystone::auth':
  password => $password,
}
class { 'manila::db':
  database_connection => "mysql+pymysql://manila:${password}@${host}/manila",
}
class { 'manila':
  default_transport_url => $transport_url,
}
class { 'manila::keystone::authtoken':
  password => $password,
}
class { 'manila::api': }
class { 'manila::scheduler': }
class { 'manila::share': }

# Dashboard, with the shared file systems panel
class { 'horizon':
  secret_key       => $password,
  allowed_hosts    => ['*'],
  keystone_url     => "${keystone}/v3",
  cache_server_url => "${host}:11211",
}
