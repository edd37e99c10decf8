# scenario003: orchestration and the dashboard on one node, after puppet-openstack-integration's
# scenario003: Neutron with the Linux bridge agent, Heat, Horizon, Designate, Mistral, Trove and
# Magnum with Barbican as its certificate manager, beside Keystone, Glance (file), Placement and Nova.

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

# Image, on local files
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
glance::backend::multistore::file { 'file': }

# Networking with the Linux bridge agent
class { 'neutron::db::mysql':
  password => $password,
}
class { 'neutron::keystone::auth':
  password => $password,
}
class { 'neutron':
  default_transport_url => $transport_url,
  core_plugin           => 'ml2',
  service_plugins       => ['router'],
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
  mechanism_drivers    => ['linuxbridge'],
}
class { 'neutron::agents::ml2::linuxbridge':
  local_ip => $host,
}
class { 'neutron::agents::l3':
  interface_driver => 'linuxbridge',
}
class { 'neutron::agents::dhcp':
  interface_driver => 'linuxbridge',
}
class { 'neutron::server::notifications::nova':
  password => $password,
}

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
class { 'nova::conductor': }
class { 'nova::scheduler': }

# Dashboard
class { 'horizon':
  secret_key       => $password,
  allowed_hosts    => ['*'],
  keystone_url     => "${keystone}/v3",
  cache_server_url => "${host}:11211",
}

# Orchestration
class { 'heat::db::mysql':
  password => $password,
}
class { 'heat::keystone::auth':
  password => $password,
}
class { 'heat::keystone::domain':
  domain_password => $password,
}
class { 'heat::db':
  database_connection => "mysql+pymysql://heat:${password}@${host}/heat",
}
class { 'heat':
  default_transport_url => $transport_url,
}
class { 'heat::keystone::authtoken':
  password => $password,
}
class { 'heat::api': }
class { 'heat::wsgi::apache_api':
  ssl => false,
}
class { 'heat::engine':
  auth_encryption_key => '1234567890AZERTYUIOPMLKJHGFDSQ12',
}

# DNS
class { 'designate::db::mysql':
  password => $password,
}
class { 'designate::keystone::auth':
  password => $password,
}
class { 'designate::db':
  database_connection => "mysql+pymysql://designate:${password}@${host}/designate",
}
class { 'designate':
  default_transport_url => $transport_url,
}
class { 'designate::keystone::authtoken':
  password => $password,
}
class { 'designate::api':
  listen => "${host}:9001",
}
class { 'designate::central': }
class { 'designate::producer': }
class { 'designate::worker': }
class { 'designate::mdns':
  listen => "${host}:5354",
}

# Workflows
class { 'mistral::db::mysql':
  password => $password,
}
class { 'mistral::keystone::auth':
  password => $password,
}
class { 'mistral::db':
  database_connection => "mysql+pymysql://mistral:${password}@${host}/mistral",
}
class { 'mistral':
  default_transport_url => $transport_url,
}
class { 'mistral::keystone::authtoken':
  password => $password,
}
class { 'mistral::api': }
class { 'mistral::wsgi::apache':
  ssl => false,
}
class { 'mistral::engine': }
class { 'mistral::executor': }

# Databases as a service
class { 'trove::db::mysql':
  password => $password,
}
class { 'trove::keystone::auth':
  password => $password,
}
class { 'trove::db':
  database_connection => "mysql+pymysql://trove:${password}@${host}/trove",
}
class { 'trove':
  default_transport_url => $transport_url,
}
class { 'trove::keystone::authtoken':
  password => $password,
}
class { 'trove::api': }
class { 'trove::conductor': }
class { 'trove::taskmanager': }

# Key manager, for Magnum's certificates
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

# Container orchestration
class { 'magnum::db::mysql':
  password => $password,
}
class { 'magnum::keystone::auth':
  password => $password,
}
class { 'magnum::keystone::domain':
  domain_password => $password,
}
class { 'magnum::db':
  database_connection => "mysql+pymysql://magnum:${password}@${host}/magnum",
}
class { 'magnum':
  default_transport_url => $transport_url,
}
class { 'magnum::keystone::authtoken':
  password => $password,
}
class { 'magnum::api':
  host => $host,
}
class { 'magnum::conductor': }
class { 'magnum::certificates':
  cert_manager_type => 'barbican',
}
