#!/usr/bin/env bash
# Scale: N trivial jobs (one `true` command step each, one job per manual run) through the real service
#   pass one: one instance (east) with one engine (the machine's dockerd), on a PostgreSQL database;
#   pass two: two instances (east, west) on one database, each with its own engine (west's is a private dockerd
#             this script starts), the runs asked for through east's API only, so west's work comes from the
#             shared queue; then the claim probe: single runs asked for one at a time while every slot is free,
#             through east and west in turn (each takes what it queued itself), then through front, an instance
#             whose engine never answers, so its jobs reach east and west only through the shared queue;
#   pass three: as pass two, and west is killed (-9) once half the runs have finished.
# Counted from the databases and both engines:
#   lost            runs of the passes that did not end passed (missing, unfinished or failed), plus runs doubled
#   left            CiRunner containers still on either engine after the passes (the instances stopped)
#   one, two        wall seconds of passes one and two, from the first request to the last job's end
#   claim-ms-p50    median of (started_at - queued_at) over the claim probe's jobs asked for through front
# The last line is: scale: jobs=<n> lost=<n> left=<n> one=<s>s two=<s>s claim-ms-p50=<x>
#
# Environment: N (jobs per pass, default 40), PARALLEL_JOBS (slots per instance, default 2), PROBES (claim probe
#              jobs, default 10), IMAGE (default cirunner/base:bookworm, built with `cirunner images base` when
#              missing), PG_HOST, PG_PORT, PG_USER, PG_PASSWORD (a role that may create databases; default the test
#              role deploy/setup-test-tools.sh creates), KEEP=1 keeps the temp folder and the databases.
# Needs: a running Docker engine, dockerd (Debian's docker.io), PostgreSQL (deploy/setup-test-tools.sh starts it),
#        psql, the .NET SDK, git, curl.
set -euo pipefail

N=${N:-40}
PARALLEL_JOBS=${PARALLEL_JOBS:-2}
PROBES=${PROBES:-10}
IMAGE=${IMAGE:-cirunner/base:bookworm}
PG_HOST=${PG_HOST:-127.0.0.1}
PG_PORT=${PG_PORT:-5432}
PG_USER=${PG_USER:-cirunner_test}
PG_PASSWORD=${PG_PASSWORD:-cirunner-test}
PG_SERVER="host=$PG_HOST port=$PG_PORT user=$PG_USER password=$PG_PASSWORD"
ROOT=$(cd "$(dirname "$0")/.." && pwd)
SERVICE="$ROOT/service/CiRunner/bin/Release/net10.0/cirunner.dll"

for tool in git curl psql dockerd docker dotnet; do
    command -v "$tool" >/dev/null || { echo "scale: $tool is missing (deploy/setup.sh and deploy/setup-test-tools.sh install it)" >&2; exit 1; }
done

WORK=$(mktemp -d /tmp/cirunner-scale-XXXXXX)
TAG=$(basename "$WORK" | tr 'A-Z' 'a-z' | tr -cd 'a-z0-9')
ENGINE2="$WORK/engine2"
ENDPOINT1=${DOCKER_HOST:-unix:///var/run/docker.sock}
ENDPOINT2="unix://$ENGINE2/docker.sock"
TOKEN=$(head -c 16 /dev/urandom | od -An -tx1 | tr -d ' \n')
export CIRUNNER_SCALE_TOKEN="$TOKEN"
declare -A PIDS=()
DATABASES=()
ENGINE2_PID=""

cleanup() {
    for name in "${!PIDS[@]}"; do kill -KILL "${PIDS[$name]}" 2>/dev/null || true; done
    for endpoint in "$ENDPOINT1" "$ENDPOINT2"; do
        for name in east west; do
            docker -H "$endpoint" ps -aq --filter "label=cirunner.instance=scale-$name-$TAG" 2>/dev/null | xargs -r docker -H "$endpoint" rm -f >/dev/null 2>&1 || true
        done
    done
    if [ -n "$ENGINE2_PID" ]; then
        kill -TERM "$ENGINE2_PID" 2>/dev/null || true
        for _ in $(seq 100); do kill -0 "$ENGINE2_PID" 2>/dev/null || break; sleep 0.1; done
        kill -KILL "$ENGINE2_PID" 2>/dev/null || true
        pkill -KILL -f "containerd.*$ENGINE2" 2>/dev/null || true
    fi
    grep -o " $WORK[^ ]*" /proc/mounts | sort -r | xargs -r -n1 umount -l 2>/dev/null || true
    if [ "${KEEP:-0}" = 1 ]; then
        echo "scale: kept $WORK and databases ${DATABASES[*]}"
    else
        for db in "${DATABASES[@]}"; do psql "$PG_SERVER dbname=postgres" -qAtc "DROP DATABASE IF EXISTS $db WITH (FORCE)" >/dev/null 2>&1 || true; done
        rm -rf "$WORK"
    fi
}
trap cleanup EXIT

now_ms() { echo $(( $(date +%s%N) / 1000000 )); }
sql() { psql "$PG_SERVER dbname=$1" -qAtc "$2"; }

echo "scale: building the service (Release)"
dotnet build -c Release "$ROOT/service/CiRunner" -v q --nologo >/dev/null

# The module and the one scenario every instance reads.
repo="$WORK/remotes/puppet-demo"
git init -q -b master "$repo"
mkdir -p "$repo/manifests" "$WORK/scenarios/puppetfiles"
printf '{"name":"scale-demo","version":"1.0.0","author":"scale","summary":"scale module","license":"Apache-2.0","source":"https://example.invalid/demo","dependencies":[]}\n' >"$repo/metadata.json"
printf 'class demo {\n  notify { "demo": }\n}\n' >"$repo/manifests/init.pp"
git -C "$repo" add -A
git -C "$repo" -c user.name=scale -c user.email=scale@example.invalid commit -q -m initial
printf "mod 'demo',\n  :git => '%s',\n  :ref => 'master'\n" "$repo" >"$WORK/scenarios/puppetfiles/zed.Puppetfile"
echo "include demo" >"$WORK/scenarios/tick.pp"
cat >"$WORK/scenarios/tick.yaml" <<EOF
name: tick
manifest: tick.pp
modules: [demo]
steps:
  - type: command
    name: tick
    command: ['true']
EOF

# Engine two: a private dockerd beside the machine's, with the image loaded from engine one (nothing is pulled).
mkdir -p "$ENGINE2"
dockerd --host "$ENDPOINT2" --data-root "$ENGINE2/data" --exec-root "$ENGINE2/exec" --pidfile "$ENGINE2/docker.pid" \
    --bridge=none --iptables=false --ip-masq=false >"$ENGINE2/dockerd.log" 2>&1 &
ENGINE2_PID=$!
for _ in $(seq 300); do docker -H "$ENDPOINT2" info >/dev/null 2>&1 && break; sleep 0.1; done
docker -H "$ENDPOINT2" info >/dev/null 2>&1 || { echo "scale: the private dockerd did not start:" >&2; tail -20 "$ENGINE2/dockerd.log" >&2; exit 1; }

# instance_config NAME DATABASE ENDPOINT
instance_config() {
    local dir="$WORK/$1-$2"
    mkdir -p "$dir/secrets"
    printf 'Host=%s;Port=%s;Username=%s;Password=%s;Database=%s\n' "$PG_HOST" "$PG_PORT" "$PG_USER" "$PG_PASSWORD" "$2" >"$dir/secrets/store"
    chmod 600 "$dir/secrets/store"
    local port=$(( 20000 + RANDOM % 20000 ))
    echo "$port" >"$dir/port"
    cat >"$dir/appsettings.json" <<EOF
{
  "Service": { "InstanceId": "scale-$1-$TAG", "DataDirectory": "data", "ScenariosDirectory": "$WORK/scenarios", "DrainTimeout": "30s" },
  "Store": { "Provider": "postgresql", "ConnectionStringFile": "secrets/store" },
  "Modules": [ { "Name": "demo", "Url": "$repo", "Branches": ["master"] } ],
  "Releases": [ { "Name": "zed", "Branches": ["master"], "Image": "$IMAGE" } ],
  "Docker": { "Endpoint": "$3", "ParallelJobs": $PARALLEL_JOBS, "MemoryMb": 256 },
  "Schedule": { "PollInterval": "1m", "PollJitter": "0s" },
  "Http": { "Listen": "http://127.0.0.1:$port", "ApiTokenVariable": "CIRUNNER_SCALE_TOKEN" },
  "Retention": { "Enabled": false },
  "Logging": { "LogLevel": { "Default": "Warning", "CiRunner.Execution.ClusterWatch": "Information" } }
}
EOF
}

# start NAME DATABASE ENDPOINT
start() {
    instance_config "$1" "$2" "$3"
    local dir="$WORK/$1-$2" port
    port=$(cat "$dir/port")
    (cd "$dir" && exec dotnet "$SERVICE" serve --config "$dir/appsettings.json" >"$dir/service.log" 2>&1) &
    PIDS[$1]=$!
    for _ in $(seq 600); do
        # Any answer will do: front, whose engine never answers, says 503.
        curl -s -o /dev/null "http://127.0.0.1:$port/healthz" 2>/dev/null && return 0
        kill -0 "${PIDS[$1]}" 2>/dev/null || { echo "scale: $1 exited at start:" >&2; tail -20 "$dir/service.log" >&2; exit 1; }
        sleep 0.1
    done
    echo "scale: $1 did not answer /healthz within 60 s" >&2
    exit 1
}

stop() {
    kill -TERM "${PIDS[$1]}" 2>/dev/null || true
    wait "${PIDS[$1]}" 2>/dev/null || true
    unset "PIDS[$1]"
}

ask_run() {
    curl -fs -o /dev/null -X POST -H "Authorization: Bearer $TOKEN" -H 'Content-Type: application/json' \
        -d '{"module":"demo","branch":"master"}' "http://127.0.0.1:$(cat "$WORK/$1-$2/port")/api/runs"
}

# new_database NAME: creates it and sets DB (not a $(...) call: DATABASES must keep it for the cleanup).
new_database() {
    DB="cirunner_scale_${TAG}_$1"
    psql "$PG_SERVER dbname=postgres" -qAtc "CREATE DATABASE $DB" >/dev/null
    DATABASES+=("$DB")
}

# wait_runs DATABASE COUNT BOUND_SECONDS: until COUNT runs exist and all have finished.
wait_runs() {
    local deadline=$(( $(date +%s) + $3 ))
    until [ "$(sql "$1" "SELECT COUNT(*) FROM runs WHERE finished_at IS NOT NULL")" -ge "$2" ]; do
        [ "$(date +%s)" -lt "$deadline" ] || { echo "scale: $1: not every run finished within $3 s" >&2; return 0; }
        sleep 0.2
    done
}

# pass DATABASE INSTANCES...: N runs through the first instance's API; prints the wall milliseconds.
pass() {
    local db=$1 started
    started=$(now_ms)
    for _ in $(seq "$N"); do ask_run "$2" "$db"; done
    wait_runs "$db" "$N" 600
    echo $(( $(now_ms) - started ))
}

lost_in() {
    sql "$1" "SELECT GREATEST($2 - COUNT(*) FILTER (WHERE result = 'success'), 0) + GREATEST(COUNT(*) - $2, 0) FROM runs"
}

if ! docker -H "$ENDPOINT1" image inspect "$IMAGE" >/dev/null 2>&1; then
    echo "scale: $IMAGE is missing; building it with cirunner images base (a few minutes)"
    mkdir -p "$WORK/build"
    cat >"$WORK/build/appsettings.json" <<EOF
{
  "Service": { "DataDirectory": "data", "ScenariosDirectory": "$WORK/scenarios" },
  "Modules": [ { "Name": "demo", "Url": "$repo", "Branches": ["master"] } ],
  "Releases": [ { "Name": "zed", "Branches": ["master"], "Image": "$IMAGE" } ],
  "Docker": { "Endpoint": "$ENDPOINT1" }
}
EOF
    dotnet "$SERVICE" images base --config "$WORK/build/appsettings.json"
fi
docker -H "$ENDPOINT1" save "$IMAGE" | docker -H "$ENDPOINT2" load >/dev/null
echo "scale: N=$N jobs per pass, $PARALLEL_JOBS slots per instance, image $IMAGE, $(nproc) cores"

new_database one; db1=$DB
start east "$db1" "$ENDPOINT1"
one_ms=$(pass "$db1" east)
lost=$(lost_in "$db1" "$N")
stop east
echo "scale: one instance, one engine: $N jobs in $one_ms ms ($(( one_ms / N )) ms/job), lost $lost"

new_database two; db2=$DB
start east "$db2" "$ENDPOINT1"
start west "$db2" "$ENDPOINT2"
two_ms=$(pass "$db2" east)
lost2=$(lost_in "$db2" "$N")
lost=$(( lost + lost2 ))
by_instance=$(sql "$db2" "SELECT string_agg(instance_id || '=' || n, ' ') FROM (SELECT instance_id, COUNT(*) AS n FROM jobs GROUP BY instance_id ORDER BY instance_id) AS j")
echo "scale: two instances, two engines: $N jobs in $two_ms ms ($(( two_ms / N )) ms/job), lost $lost2; jobs by instance: $by_instance"

# claim_probe INSTANCE...: PROBES single runs, one at a time, asked for through the instances in turn; prints the
# p50 and max of queued -> claimed (started) in ms over them.
claim_probe() {
    local first i asked=0
    first=$(sql "$db2" "SELECT COALESCE(MAX(id), 0) FROM jobs")
    local done_runs
    done_runs=$(sql "$db2" "SELECT COUNT(*) FROM runs")
    for i in $(seq "$PROBES"); do
        local via=$(( (i - 1) % $# + 1 ))
        ask_run "${!via}" "$db2"
        wait_runs "$db2" $(( done_runs + i )) 60
    done
    sql "$db2" "SELECT ROUND(percentile_cont(0.5) WITHIN GROUP (ORDER BY ms)::numeric, 1) || ' ' || ROUND(MAX(ms)::numeric, 1)
                FROM (SELECT EXTRACT(EPOCH FROM started_at::timestamptz - queued_at::timestamptz) * 1000 AS ms FROM jobs WHERE id > $first) AS c"
}

# Asked for through east and west, each queues the job itself and takes it at once. Asked for through front, an
# instance whose engine never answers (so it takes no job), the job reaches east or west only through the shared queue.
read -r claim_local claim_local_max < <(claim_probe east west)
start front "$db2" "unix:///nonexistent/cirunner-scale/docker.sock"
read -r claim claim_max < <(claim_probe front)
stop front
stop west
stop east
echo "scale: claim probe, $PROBES single runs each, queued -> claimed: asked through the instance that takes it p50 $claim_local ms (max $claim_local_max ms); through the shared queue p50 $claim ms (max $claim_max ms)"

new_database three; db3=$DB
start east "$db3" "$ENDPOINT1"
start west "$db3" "$ENDPOINT2"
started=$(now_ms)
for _ in $(seq "$N"); do ask_run east "$db3"; done
until [ "$(sql "$db3" "SELECT COUNT(*) FROM runs WHERE finished_at IS NOT NULL")" -ge $(( N / 2 )) ] \
    && [ "$(sql "$db3" "SELECT COUNT(*) FROM jobs WHERE state = 'running' AND instance_id = 'scale-west-$TAG'")" -gt 0 ]; do
    sleep 0.1
done
kill -KILL "${PIDS[west]}"
wait "${PIDS[west]}" 2>/dev/null || true
unset "PIDS[west]"
killed_at=$(( $(now_ms) - started ))
wait_runs "$db3" "$N" 600
three_ms=$(( $(now_ms) - started ))
stop east
lost3=$(lost_in "$db3" "$N")
lost=$(( lost + lost3 ))
interrupted=$(sql "$db3" "SELECT COUNT(*) FROM jobs WHERE result = 'interrupted'")
echo "scale: kill -9 of west at $killed_at ms: $N runs done in $three_ms ms, lost $lost3, $interrupted jobs interrupted and retried on east"

left=0
for endpoint in "$ENDPOINT1" "$ENDPOINT2"; do
    count=$(docker -H "$endpoint" ps -aq --filter "label=cirunner.instance=scale-east-$TAG" | wc -l)
    count2=$(docker -H "$endpoint" ps -aq --filter "label=cirunner.instance=scale-west-$TAG" | wc -l)
    left=$(( left + count + count2 ))
    [ $(( count + count2 )) -eq 0 ] || echo "scale: $(( count + count2 )) containers left on $endpoint"
done

awk -v n="$N" -v lost="$lost" -v left="$left" -v one="$one_ms" -v two="$two_ms" -v claim="$claim" \
    'BEGIN { printf "scale: jobs=%d lost=%d left=%d one=%.1fs two=%.1fs claim-ms-p50=%s\n", n, lost, left, one / 1000, two / 1000, claim }'
