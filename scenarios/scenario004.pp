# scenario004: storage on Ceph, after puppet-openstack-integration's scenario004: a one-node Ceph
# cluster with a RADOS gateway that stands in for Swift, Nova's disks on RBD, Glance images behind the
# gateway, Neutron with the BGP VPN service plugin, and Watcher.

$password = 'a_big_secret'
$host     = '127.0.0.1'
$keystone = "http://${host}:5000"
$transport_url = "rabbit://openstack:${password}@${host}:5672/"
$ceph_fsid = '7200aea0-2ddd-4a32-aa2a-d49f66ab554c'

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

# Ceph: one monitor, one manager, one OSD on a directory, and a RADOS gateway speaking Swift
class { 'ceph':
  fsid                       => $ceph_fsid,
  mon_host                   => $host,
  osd_pool_default_size      => 1,
  osd_pool_default_min_size  => 1,
  authentication_type        => 'cephx',
}
ceph::mon { 'a':
  public_addr => $host,
  key         => 'AQD7kyJQQGoOBhAAqrPAqSopSwPrrfMMomzVdw==',
}
ceph::mgr { 'a':
  key => 'AQD7kyJQQGoOBhAAqrPAqSopSwPrrfMMomzVdw==',
}
ceph::osd { '/srv/ceph/osd0': }
ceph::pool { ['vms', 'images']:
  pg_num => 8,
}
ceph::key { 'client.openstack':
  secret  => 'AQD7kyJQQGoOBhAAqrPAqSopSwPrrfMMomzVdw==',
  cap_mon => 'profile rbd',
  cap_osd => 'profile rbd pool=vms, profile rbd pool=images',
}
ceph::rgw { 'radosgw.gateway':
  frontend_type => 'beast',
  rgw_frontends => "beast endpoint=${host}:8080",
}
ceph::rgw::keystone { 'radosgw.gateway':
  rgw_keystone_url            => $keystone,
  rgw_keystone_admin_password => $password,
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

# Image, in the RADOS gateway's Swift API
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

# Networking with BGP VPN
class { 'neutron::db::mysql':
  password => $password,
}
class { 'neutron::keystone::auth':
  password => $password,
}
class { 'neutron':
  default_transport_url => $transport_url,
  core_plugin           => 'ml2',
  service_plugins       => ['router', 'bgpvpn'],
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
class { 'neutron::services::bgpvpn':
  service_providers => 'BGPVPN:Dummy:networking_bgpvpn.neutron.services.service_drivers.driver_api.BGPVPNDriver:default',
}
class { 'neutron::server::notifications::nova':
  password => $password,
}

# Placement and compute, with instance disks on RBD
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
class { 'nova::compute::rbd':
  libvirt_rbd_user        => 'openstack',
  libvirt_images_rbd_pool => 'vms',
  libvirt_rbd_secret_uuid => $ceph_fsid,
  rbd_keyring             => 'client.openstack',
}

# Resource optimization
class { 'watcher::db::mysql':
  password => $password,
}
class { 'watcher::keystone::auth':
  password => $password,
}
class { 'watcher::db':
  database_connection => "mysql+pymysql://watcher:${password}@${host}/watcher",
}
class { 'watcher':
  default_transport_url => $transport_url,
}
class { 'watcher::keystone::authtoken':
  password => $password,
}
class { 'watcher::api':
  watcher_client_password => $password,
}
class { 'watcher::applier': }
class { 'watcher::decision_engine': }
