#!/usr/bin/env bash
# The real scenario, keystone-glance, through `cirunner run` as a maintainer runs it: its deploy cell on zed (Debian
# 12), its deploy cell on 2024.2 (Debian 13) and its upgrade cell zed -> 2024.2, on the offline demo's module
# repositories. Prints each phase's time split into package work (upgrade-packages), puppet apply, idempotency and
# verify (the seed and verify command steps; Tempest's smoke tests apart), read from the results database, then each
# cell's result and time.
# The last line is: real cells: deploy-zed=<result>/<s>s deploy-2024.2=<result>/<s>s upgrade=<result>/<s>s
#
# Needs root, the .NET SDK and Debian's mirror (setup, demo modules and images the first time; images are reused while
# their recipes' hashes match). Environment: WORK (default /var/tmp/cirunner-bench-real: demo repositories, data,
# logs), PARALLEL (cells at a time, default 1 so that no cell's figures include another's load; 2 is the demo's).
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
WORK=${WORK:-/var/tmp/cirunner-bench-real}
PARALLEL=${PARALLEL:-1}
demo="$WORK/demo"

log() { printf 'real-cells: %s\n' "$*" >&2; }

"$ROOT/deploy/setup.sh" >&2
"$ROOT/deploy/setup-test-tools.sh" >&2   # sqlite3 reads the figures from the results database
log "building cirunner"
dotnet publish "$ROOT/service/CiRunner" -c Release -o "$WORK/bin" --nologo -v quiet >/dev/null
cirunner="$WORK/bin/cirunner"

log "demo module repositories and configuration in $demo"
"$ROOT/deploy/demo/make-demo-modules.sh" "$demo" >&2
"$ROOT/deploy/demo/write-demo-config.sh" "$demo" >&2
export CIRUNNER_CONFIG="$demo/appsettings.json"
export CIRUNNER__Docker__ParallelJobs="$PARALLEL"
export CIRUNNER__Service__InstanceId="bench-real"

log "images (built only when their recipes changed)"
"$cirunner" images base >&2
"$cirunner" images base --suite trixie >&2
"$cirunner" images build --release zed >&2
"$cirunner" images build --release 2024.2 >&2

runs_before=$(sqlite3 "$demo/cirunner.db" "SELECT COALESCE(MAX(id), 0) FROM runs" 2>/dev/null || echo 0)
log "cells (PARALLEL=$PARALLEL); progress lines follow"
"$cirunner" run --module keystone --ref unmaintained/zed --scenario keystone-glance >&2 || true
"$cirunner" run --module keystone --ref stable/2024.2 --scenario keystone-glance --upgrade >&2 || true

db="$demo/cirunner.db"
query() { sqlite3 -separator ' ' "$db" "$1"; }

echo "cell                                 phase    packages  apply  idempotency  verify  tempest  (seconds)"
query "
  SELECT j.cell_key, s.phase,
         SUM(CASE WHEN s.name = 'upgrade-packages' THEN s.duration_ms ELSE 0 END) / 1000,
         SUM(CASE WHEN s.kind IN ('apply', 'Apply') THEN s.duration_ms ELSE 0 END) / 1000,
         SUM(CASE WHEN s.kind IN ('idempotency', 'Idempotency') THEN s.duration_ms ELSE 0 END) / 1000,
         SUM(CASE WHEN s.kind IN ('command', 'Command') AND s.name <> 'upgrade-packages' THEN s.duration_ms ELSE 0 END) / 1000,
         SUM(CASE WHEN s.kind IN ('tempest', 'Tempest') THEN s.duration_ms ELSE 0 END) / 1000
  FROM jobs j JOIN steps s ON s.job_id = j.id
  WHERE j.run_id > $runs_before
  GROUP BY j.id, s.phase ORDER BY j.id, MIN(s.ordinal)" |
  while read -r cell phase packages apply idempotency verify tempest; do
    printf '%-36s %-8s %8s  %5s  %11s  %6s  %7s\n' "$cell" "$phase" "$packages" "$apply" "$idempotency" "$verify" "$tempest"
  done

# The latest attempt of each cell, as run results read it.
figure() {
  query "SELECT LOWER(COALESCE(result, state)) || '/' || (duration_ms / 1000) || 's' FROM jobs
         WHERE run_id > $runs_before AND cell_key = '$1' ORDER BY attempt DESC, id DESC LIMIT 1"
}
echo "real cells: deploy-zed=$(figure 'zed/keystone-glance') deploy-2024.2=$(figure '2024.2/keystone-glance') upgrade=$(figure 'zed->2024.2/keystone-glance:upgrade')"
