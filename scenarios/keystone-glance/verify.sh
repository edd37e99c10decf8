#!/bin/sh
# Verifies the seeded workload through the API, as its user: a token, the image listed and active, and its download
# byte for byte the uploaded one (sha256).
set -eu
. "$(dirname "$0")/openrc-admin"
state=/var/lib/cirunner-workload
[ -s "$state/image.id" ] || { echo "no seeded workload in $state (the seed step did not run here)" >&2; exit 1; }
export OS_USERNAME=workload_user OS_PASSWORD=workload_secret OS_PROJECT_NAME=workload
echo "token for workload_user: $(openstack token issue -f value -c user_id)"
id=$(cat "$state/image.id")
status=$(openstack image show "$id" -f value -c status)
[ "$status" = active ] || { echo "image $id is $status, not active" >&2; exit 1; }
openstack image list -f value -c ID | grep -qx "$id" || { echo "image $id is not in the user's image list" >&2; exit 1; }
openstack image save --file "$state/image.download" "$id"
got=$(sha256sum "$state/image.download" | cut -d' ' -f1)
rm -f "$state/image.download"
want=$(cat "$state/image.sha256")
[ "$got" = "$want" ] || { echo "image $id downloads with sha256 $got, uploaded with $want" >&2; exit 1; }
echo "verified: image $id active, sha256 $got as uploaded"
