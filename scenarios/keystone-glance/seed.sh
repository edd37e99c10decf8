#!/bin/sh
# Seeds the workload through the OpenStack API, as an operator's users would: a project, a user with the member role
# in it, and a small generated image uploaded as that user. What verify.sh checks after every phase is kept in
# /var/lib/cirunner-workload.
set -eu
. "$(dirname "$0")/openrc-admin"
state=/var/lib/cirunner-workload
mkdir -p "$state"
openstack project create --description "CiRunner workload" workload -f value -c id
openstack user create --project workload --password workload_secret workload_user -f value -c id
openstack role add --project workload --user workload_user member
# 2 MiB of random bytes: a new image every run, nothing to download; its checksum is what verify.sh compares.
head -c 2097152 /dev/urandom > "$state/image.raw"
sha256sum "$state/image.raw" | cut -d' ' -f1 > "$state/image.sha256"
OS_USERNAME=workload_user OS_PASSWORD=workload_secret OS_PROJECT_NAME=workload \
  openstack image create --disk-format raw --container-format bare --file "$state/image.raw" workload-image -f value -c id > "$state/image.id"
rm -f "$state/image.raw"
echo "seeded: image $(cat "$state/image.id") sha256 $(cat "$state/image.sha256")"
