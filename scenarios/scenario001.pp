# scenario001: the core services of an all-in-one OpenStack node, configured the way
# puppet-openstack-integration's scenario001 does, but with the module classes called directly
# (the integration repository's own openstack_integration::* wrappers are not part of the module set).

$password = 'a_big_secret'
$host     = '127.0.0.1'

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

$transport_url = "rabbit://openstack:${password}@${host}:5672/"

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
  public_url => "http://${host}:5000",
  admin_url  => "http://${host}:5000",
}

# Image
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

# Networking
class { 'neutron::db::mysql':
  password => $password,
}
class { 'neutron::keystone::auth':
  password => $password,
}
class { 'neutron':
  default_transport_url => $transport_url,
  core_plugin           => 'ml2',
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
  mechanism_drivers    => ['openvswitch'],
}
class { 'neutron::server::notifications::nova':
  password => $password,
}
