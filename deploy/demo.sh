#!/usr/bin/env bash
# The main job on a fresh Debian 12 machine: set everything up, then run the service against an
# offline demo of real puppet-openstack modules (Debian 12's packages for OpenStack Zed).
#
# usage: deploy/demo.sh [--no-serve]
#   --no-serve   prepare and validate, then stop (used by the tests and to check a machine)
set -euo pipefail
repo="$(cd "$(dirname "$0")/.." && pwd)"
demo="$repo/data/demo"
serve=1
[ "${1:-}" = "--no-serve" ] && serve=0

log() { printf 'demo: %s\n' "$*"; }

"$repo/deploy/setup.sh"

log "building cirunner"
dotnet publish "$repo/service/CiRunner" -c Release -o "$repo/data/bin" --nologo -v quiet >/dev/null
cirunner="$repo/data/bin/cirunner"

log "making module repositories from Debian's packages"
"$repo/deploy/demo/make-demo-modules.sh" "$demo" puppet-module-keystone puppet-module-glance

log "writing the demo configuration"
"$repo/deploy/demo/write-demo-config.sh" "$demo"
export CIRUNNER_CONFIG="$demo/appsettings.json"

"$cirunner" validate

log "building the Puppet base image (debootstrap, offline) and the release image, when their recipes changed"
"$cirunner" images base
"$cirunner" images build --release zed

if [ "$serve" -eq 1 ]; then
  # A token for the demo's write API, unless the user brought one.
  export CIRUNNER_API_TOKEN="${CIRUNNER_API_TOKEN:-$(od -An -N16 -tx1 /dev/urandom | tr -d ' \n')}"
  log "starting the service on http://127.0.0.1:8080 (Ctrl+C stops it)"
  "$cirunner" serve &
  service=$!
  # A background job of a script starts with SIGINT ignored, so Ctrl+C reaches only this script: it passes the stop
  # on as SIGTERM (what systemctl stop sends), and the service drains and exits.
  trap 'kill -TERM "$service" 2>/dev/null; wait "$service"' INT TERM
  for _ in $(seq 1 60); do
    curl -sf http://127.0.0.1:8080/healthz >/dev/null 2>&1 && break
    kill -0 "$service" 2>/dev/null || { wait "$service"; exit $?; }
    sleep 1
  done

  # The poller records the heads it first sees without running them; ask for the demo's first runs.
  "$cirunner" trigger --module keystone --branch unmaintained/zed
  "$cirunner" trigger --module glance --branch unmaintained/zed
  # The demo release 2023.1 (Zed's code plus a note, see demo/make-demo-modules.sh): deploy and upgrade cells zed -> 2023.1.
  "$cirunner" trigger --module keystone --branch stable/2023.1
  log "runs are under way; in another shell, with CIRUNNER_CONFIG=$CIRUNNER_CONFIG:"
  log "  $cirunner runs        then  $cirunner show 1   and  $cirunner logs 1"
  log "  $cirunner status      poll status of the demo modules"
  wait "$service"
fi