#!/usr/bin/env bash
# Idle: the real service (`cirunner serve`, published as the README says: Publish.props) with 50 module repositories (3 branches each) polled every
# 5 s and nothing to run. After a warm-up it samples, every SAMPLE seconds for MEASURE seconds, the process's resident
# memory (VmRSS) and its CPU time (utime + stime from /proc/PID/stat):
#   rss-mb         the median of the samples
#   cpu-pct        CPU time over wall time across the measurement, in % of one core
#   rss-growth-mb  the median of the last minute's samples minus the median of the first minute's
# It also prints the CPU per module poll (CPU time / polls in the measurement, from cirunner_poll_duration_seconds's
# count on /metrics) and the poll's own mean duration.
# It also counts the garbage collections in the measurement against the bytes allocated in it, and prints the GC's live
# and committed bytes after the last one (the runtime's instruments on /metrics): few collections for many megabytes
# allocated mean a large gen0 budget, and the resident set then grows with what is allocated until one comes.
# It also splits the last sample's resident set as the kernel counts it (RssAnon, RssFile, RssShmem in /proc/PID/status):
# the file-backed part is the runtime's and libraries' files, clean pages shared with any other process that maps them.
# Beside the service, in the same window and on the same repositories, it runs the stack's floor (bench/IdleFloor: Kestrel
# with /metrics, libgit2 listing each module's refs every 5 s, a SQLite read per scrape, an engine ping every 2 s, the
# service's runtime settings) and prints its median resident set and CPU: what the service holds beyond it is what its
# configuration, scheduler, store, pages, API and job machinery cost while nothing runs.
# The last line is: idle: rss-mb=<n> cpu-pct=<x> rss-growth-mb=<n>
#
# Environment: MODULES (default 50), WARMUP (seconds, default 120), MEASURE (seconds, default 600), SAMPLE (seconds,
#              default 10), HEALTHZ (seconds; when set, GET /healthz that often from the start, as a liveness probe or a
#              monitor would; the floor has no /healthz and is not asked), KEEP=1 keeps the temp folder.
# Needs: the .NET SDK, git, curl. No Docker engine: nothing runs (the engine is only asked by /healthz and stays unused).
set -euo pipefail

MODULES=${MODULES:-50}
WARMUP=${WARMUP:-120}
MEASURE=${MEASURE:-600}
SAMPLE=${SAMPLE:-10}
HEALTHZ=${HEALTHZ:-}
ROOT=$(cd "$(dirname "$0")/.." && pwd)
# shellcheck source=bench/lib/modules.sh
. "$ROOT/bench/lib/modules.sh"

for tool in git curl dotnet; do
    command -v "$tool" >/dev/null || { echo "idle: $tool is missing" >&2; exit 1; }
done

WORK=$(mktemp -d /tmp/cirunner-bench-idle-XXXXXX)
PORT=$(( 20000 + RANDOM % 20000 ))
FLOOR_PORT=$(( PORT + 1 ))
PID=""
FLOOR_PID=""
PROBE_PID=""
cleanup() {
    if [ -n "$PROBE_PID" ]; then kill "$PROBE_PID" 2>/dev/null || true; wait "$PROBE_PID" 2>/dev/null || true; fi
    if [ -n "$PID" ] && kill -0 "$PID" 2>/dev/null; then kill -TERM "$PID" 2>/dev/null || true; wait "$PID" 2>/dev/null || true; fi
    if [ -n "$FLOOR_PID" ] && kill -0 "$FLOOR_PID" 2>/dev/null; then kill -TERM "$FLOOR_PID" 2>/dev/null || true; wait "$FLOOR_PID" 2>/dev/null || true; fi
    if [ "${KEEP:-0}" = 1 ]; then echo "idle: kept $WORK"; else rm -rf "$WORK"; fi
}
trap cleanup EXIT

TICKS=$(getconf CLK_TCK)
rss_kb() { awk '/^VmRSS:/ { print $2 }' "/proc/${1:-$PID}/status"; }
# utime + stime, fields 14 and 15 of /proc/PID/stat (after the command name, which may hold spaces).
cpu_ticks() { sed 's/^.*) //' "/proc/${1:-$PID}/stat" | awk '{ print $12 + $13 }'; }
# The service's /metrics, scraped once at each end of the measurement (as the floor is) and read by the functions below.
scrape() { curl -fs "http://127.0.0.1:$PORT/metrics" >"$1"; }
polls() { awk '/^cirunner_poll_duration_seconds_count/ { n += $NF } END { printf "%d", n }' "$1"; }
poll_seconds() { awk '/^cirunner_poll_duration_seconds_sum/ { s += $NF } END { printf "%.6f", s }' "$1"; }
# Garbage collections so far (the gen0 count includes gen1 and gen2 ones), and the bytes allocated so far.
collections() { awk '/^dotnet_gc_collections_total/ && /gen0/ { printf "%d", $NF }' "$1"; }
allocated_bytes() { awk '/^dotnet_gc_heap_total_allocated_bytes_total/ { printf "%d", $NF }' "$1"; }
# The GC's view after its last collection: live bytes by generation, summed, and what it had committed.
gc_heap() {
    awk '/^dotnet_gc_last_collection_heap_size_bytes/ { h += $NF } /^dotnet_gc_last_collection_memory_committed_size_bytes/ { c = $NF } END { printf "%.1f MB live, %.1f MB committed", h / 1e6, c / 1e6 }' "$1"
}
median() { sort -n | awk '{ v[NR] = $1 } END { if (NR % 2) print v[(NR + 1) / 2]; else print (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }

echo "idle: publishing the service and the floor (dotnet publish -c Release, as deployed)"
dotnet publish "$ROOT/service/CiRunner" -c Release -o "$WORK/service" -v q --nologo >/dev/null
dotnet publish "$ROOT/bench/IdleFloor" -c Release -o "$WORK/floor" -v q --nologo >/dev/null
SERVICE="$WORK/service/cirunner"
FLOOR="$WORK/floor/IdleFloor"

echo "idle: making $MODULES repositories in $WORK"
make_modules "$WORK" "$MODULES"
cat >"$WORK/appsettings.json" <<JSON
{
  "Service": { "InstanceId": "bench-idle", "DataDirectory": "data", "ScenariosDirectory": "scenarios" },
  "Modules": [ $MODULES_JSON ],
  "Releases": [ { "Name": "zed", "Branches": ["master"], "Image": "cirunner/base:bookworm" } ],
  "Schedule": { "PollInterval": "5s", "PollJitter": "5s" },
  "Http": { "Listen": "http://127.0.0.1:$PORT" },
  "Retention": { "Enabled": false },
  "Logging": { "LogLevel": { "Default": "Warning" } }
}
JSON

# Until PORT answers on /metrics; fails with the log's tail when the process (WHO, PID, LOG) exits first.
wait_ready() {
    local port=$1 who=$2 pid=$3 log=$4
    for _ in $(seq 600); do
        curl -fs "http://127.0.0.1:$port/metrics" >/dev/null 2>&1 && return 0
        kill -0 "$pid" 2>/dev/null || { echo "idle: the $who exited at start:" >&2; tail -20 "$log" >&2; exit 1; }
        sleep 0.1
    done
}

"$SERVICE" serve --config "$WORK/appsettings.json" >"$WORK/service.log" 2>&1 &
PID=$!
wait_ready "$PORT" service "$PID" "$WORK/service.log"
if [ -n "$HEALTHZ" ]; then
    while sleep "$HEALTHZ"; do curl -s -o /dev/null "http://127.0.0.1:$PORT/healthz" || true; done &
    PROBE_PID=$!
    echo "idle: /healthz asked every $HEALTHZ s"
fi

echo "$MODULES_JSON" >"$WORK/modules.json"
"$FLOOR" "$WORK/modules.json" "http://127.0.0.1:$FLOOR_PORT" "$WORK/floor.db" >"$WORK/floor.log" 2>&1 &
FLOOR_PID=$!
wait_ready "$FLOOR_PORT" floor "$FLOOR_PID" "$WORK/floor.log"

echo "idle: service pid $PID on port $PORT, the floor pid $FLOOR_PID on port $FLOOR_PORT; warming up for $WARMUP s"
sleep "$WARMUP"

echo "idle: measuring for $MEASURE s, a sample every $SAMPLE s"
: >"$WORK/rss"
: >"$WORK/floor-rss"
floor_start_ticks=$(cpu_ticks "$FLOOR_PID")
curl -fs "http://127.0.0.1:$FLOOR_PORT/metrics" >/dev/null
start_ticks=$(cpu_ticks)
scrape "$WORK/metrics-start"
start_ns=$(date +%s%N)
samples=$(( MEASURE / SAMPLE ))
for i in $(seq "$samples"); do
    sleep "$SAMPLE"
    kill -0 "$PID" 2>/dev/null || { echo "idle: the service exited:" >&2; tail -20 "$WORK/service.log" >&2; exit 1; }
    kill -0 "$FLOOR_PID" 2>/dev/null || { echo "idle: the floor exited:" >&2; tail -20 "$WORK/floor.log" >&2; exit 1; }
    echo "$(( i * SAMPLE )) $(rss_kb)" >>"$WORK/rss"
    echo "$(( i * SAMPLE )) $(rss_kb "$FLOOR_PID")" >>"$WORK/floor-rss"
done
split=$(awk '/^RssAnon:/ { a = $2 } /^RssFile:/ { f = $2 } /^RssShmem:/ { s = $2 } END { printf "anonymous %.0f MiB, file-backed %.0f MiB, shared memory %.0f MiB", a / 1024, f / 1024, s / 1024 }' "/proc/$PID/status")
end_ns=$(date +%s%N)
end_ticks=$(cpu_ticks)
scrape "$WORK/metrics-end"
curl -fs "http://127.0.0.1:$FLOOR_PORT/metrics" >/dev/null
floor_end_ticks=$(cpu_ticks "$FLOOR_PID")
start_polls=$(polls "$WORK/metrics-start"); end_polls=$(polls "$WORK/metrics-end")
start_poll_seconds=$(poll_seconds "$WORK/metrics-start"); end_poll_seconds=$(poll_seconds "$WORK/metrics-end")
start_collections=$(collections "$WORK/metrics-start"); end_collections=$(collections "$WORK/metrics-end")
start_allocated=$(allocated_bytes "$WORK/metrics-start"); end_allocated=$(allocated_bytes "$WORK/metrics-end")

wall=$(awk -v a="$start_ns" -v b="$end_ns" 'BEGIN { printf "%.3f", (b - a) / 1e9 }')
cpu=$(awk -v a="$start_ticks" -v b="$end_ticks" -v t="$TICKS" 'BEGIN { printf "%.3f", (b - a) / t }')
polled=$(( end_polls - start_polls ))
per_minute=$(( 60 / SAMPLE ))
rss_median=$(awk '{ print $2 / 1024 }' "$WORK/rss" | median)
first=$(head -n "$per_minute" "$WORK/rss" | awk '{ print $2 / 1024 }' | median)
last=$(tail -n "$per_minute" "$WORK/rss" | awk '{ print $2 / 1024 }' | median)
min_rss=$(awk 'NR == 1 || $2 < m { m = $2 } END { printf "%.0f", m / 1024 }' "$WORK/rss")
max_rss=$(awk 'NR == 1 || $2 > m { m = $2 } END { printf "%.0f", m / 1024 }' "$WORK/rss")

echo "idle: $MODULES modules, $polled polls in $wall s ($(awk -v p="$polled" -v w="$wall" 'BEGIN { printf "%.1f", p / w }') per second)"
echo "idle: cpu $cpu s = $(awk -v c="$cpu" -v w="$wall" 'BEGIN { printf "%.2f", 100 * c / w }') % of a core; per poll $(awk -v c="$cpu" -v p="$polled" 'BEGIN { if (p > 0) printf "%.2f", 1000 * c / p; else print "n/a" }') ms of CPU, mean poll duration $(awk -v a="$start_poll_seconds" -v b="$end_poll_seconds" -v p="$polled" 'BEGIN { if (p > 0) printf "%.2f", 1000 * (b - a) / p; else print "n/a" }') ms"
echo "idle: rss median $(printf '%.0f' "$rss_median") MiB (min $min_rss, max $max_rss), first minute $(printf '%.0f' "$first"), last minute $(printf '%.0f' "$last")"
floor_cpu=$(awk -v a="$floor_start_ticks" -v b="$floor_end_ticks" -v t="$TICKS" 'BEGIN { printf "%.3f", (b - a) / t }')
echo "idle: the floor beside it (bench/IdleFloor): rss median $(awk '{ print $2 / 1024 }' "$WORK/floor-rss" | median | xargs printf '%.0f') MiB, cpu $(awk -v c="$floor_cpu" -v w="$wall" 'BEGIN { printf "%.2f", 100 * c / w }') % of a core"
echo "idle: garbage collections in the measurement: $(( end_collections - start_collections )) for $(awk -v a="$start_allocated" -v b="$end_allocated" 'BEGIN { printf "%.1f", (b - a) / 1e6 }') MB allocated; after the last one, $(gc_heap "$WORK/metrics-end") (few collections for many MB allocated: gen0's budget is large, and the resident set grows with what is allocated until one comes)"
echo "idle: the last sample's resident set: $split (shared memory is the runtime's memfd double mapping of JIT code and type data, private to this process)"
printf 'idle: rss-mb=%.0f cpu-pct=%.2f rss-growth-mb=%.0f\n' "$rss_median" "$(awk -v c="$cpu" -v w="$wall" 'BEGIN { print 100 * c / w }')" "$(awk -v a="$first" -v b="$last" 'BEGIN { d = b - a; printf "%.0f", (d > -0.5 && d < 0.5) ? 0 : d }')"
