#!/usr/bin/env bash
# The main job on a fresh Debian 12 machine: set everything up, then run the service against an offline demo of
# real puppet-openstack modules with two real releases: OpenStack Zed (Debian 12's modules and packages) and
# 2024.2 (Debian 13's), and the upgrade of a deployed Keystone + Glance node from the first to the second.
#
# usage: deploy/demo.sh [--no-serve]
#   --no-serve   prepare, validate and build the images, then stop (used by the tests and to check a machine)
set -euo pipefail
repo="$(cd "$(dirname "$0")/.." && pwd)"
demo="$repo/data/demo"
serve=1
case "${1:-}" in
  "") ;;
  --no-serve) serve=0 ;;
  *) echo "demo: unknown option '$1' (usage: deploy/demo.sh [--no-serve])" >&2; exit 2 ;;
esac

log() { printf 'demo: %s\n' "$*"; }

"$repo/deploy/setup.sh"

log "building cirunner"
dotnet publish "$repo/service/CiRunner" -c Release -o "$repo/data/bin" --nologo -v quiet >/dev/null
cirunner="$repo/data/bin/cirunner"

log "making module repositories from Debian 12's and Debian 13's packages (a minute)"
"$repo/deploy/demo/make-demo-modules.sh" "$demo"

log "writing the demo configuration"
"$repo/deploy/demo/write-demo-config.sh" "$demo"
export CIRUNNER_CONFIG="$demo/appsettings.json"

"$cirunner" validate

# Images are rebuilt only when their recipe changed (a hash label), so a second run skips all of this.
docker_root="$(docker info -f '{{.DockerRootDir}}' 2>/dev/null || echo /var/lib/docker)"
free_gb="$(df -P -BG "$docker_root" 2>/dev/null | awk 'NR == 2 { sub(/G$/, "", $4); print $4 }')"
log "building the images, each only when missing or its recipe changed; the first time this takes about 15 minutes:"
log "  base images cirunner/base:bookworm and :trixie (debootstrap, offline)      ~2 min each, ~0.3 GB each"
log "  release images cirunner/release:zed and :2024.2 (Debian's OpenStack packages) ~4-5 min each, 1.4 and 1.7 GB"
log "  the 2024.2 package snapshot (apt repository the upgrade cells use, offline)  ~1 min, ~0.2 GB"
log "  disk: ~4 GB of images plus ~2 GB while jobs run, under $docker_root (${free_gb:-?} GB free now)"
if [ -n "$free_gb" ] && [ "$free_gb" -lt 7 ]; then
  log "warning: less than 7 GB free under $docker_root; the builds or jobs may run out of space"
fi
"$cirunner" images base
"$cirunner" images base --suite trixie
"$cirunner" images build --release zed
"$cirunner" images build --release 2024.2

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

  # The poller records the heads it first sees without running them; ask for the demo's first runs. Triggers of
  # keystone yield every demo cell (glance-noop and keystone-glance need keystone too; see write-demo-config.sh):
  #   unmaintained/zed: keystone-noop, glance-noop and keystone-glance deployed on zed
  #   stable/2024.2:    the same on 2024.2, the upgrade cell zed -> 2024.2 of keystone-glance and its rollback cell
  # A refused trigger leaves the service running: it is still worth watching, and Ctrl+C still stops it.
  for branch in unmaintained/zed stable/2024.2; do
    "$cirunner" trigger --module keystone --branch "$branch" || log "warning: the trigger of keystone $branch failed (above)"
  done
  log "the cells are queued, 2 run at a time: a noop cell takes about a minute, keystone-db under a minute (it fails on"
  log "purpose: real findings of the module set, charset on zed, TLS on 2024.2), a keystone-glance deploy 4-6 minutes,"
  log "the upgrade and rollback cells 15-30 minutes each (about 45 minutes in all)."
  log "watch them on the dashboard, http://127.0.0.1:8080/, or in another shell:"
  log "  export CIRUNNER_CONFIG=$CIRUNNER_CONFIG"
  log "  $cirunner runs           the runs and how many cells passed"
  log "  $cirunner show RUN-ID    a run's cells, steps, idempotency changes and module commits per phase"
  log "  $cirunner logs JOB-ID    a cell's log (job ids are in 'show')"
  log "  $cirunner matrix         which cells a commit on each module branch runs"
  wait "$service"
fi
