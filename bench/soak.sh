#!/usr/bin/env bash
# Soak: the real service (`cirunner serve`, Release build) polls 20 module repositories in temp folders every 5 s
# while commits are pushed to random modules for DURATION seconds; then the queue is left to drain (bounded), the
# service is stopped with SIGTERM, and what happened is counted from its database and the Docker engine.
#
# A module is pushed to again only once its previous push has a run, so every pushed head must get exactly one:
#   lost           pushed heads without a run, plus jobs not in a final state after the drain
#   containers-left containers of the soak's instance still on the engine after the service stopped
#   rss-*-mb       the service's resident memory (VmRSS) after the first polls, and after the drain
# The last line is: jobs: <n> lost: <n> containers-left: <n> rss-start-mb: <n> rss-end-mb: <n>
#
# Environment: DURATION (seconds of pushing, default 180), PUSH_EVERY (seconds between pushes, default 1),
#              DRAIN_TIMEOUT (seconds, default 300), PARALLEL_JOBS (default 2), IMAGE (default cirunner/base:bookworm,
#              built with `cirunner images base` when missing), KEEP=1 keeps the temp folder.
# Needs: a running Docker engine, the .NET SDK, git, curl, sqlite3 (apt-get install sqlite3).
set -euo pipefail

DURATION=${DURATION:-180}
PUSH_EVERY=${PUSH_EVERY:-1}
DRAIN_TIMEOUT=${DRAIN_TIMEOUT:-300}
PARALLEL_JOBS=${PARALLEL_JOBS:-2}
IMAGE=${IMAGE:-cirunner/base:bookworm}
MODULES=20
ROOT=$(cd "$(dirname "$0")/.." && pwd)
SERVICE="$ROOT/service/CiRunner/bin/Release/net10.0/cirunner.dll"

for tool in git curl sqlite3 docker dotnet; do
    command -v "$tool" >/dev/null || { echo "soak: $tool is missing (apt-get install $tool)" >&2; exit 1; }
done

WORK=$(mktemp -d /tmp/cirunner-soak-XXXXXX)
INSTANCE="soak-$(basename "$WORK" | tr 'A-Z' 'a-z' | tr -cd 'a-z0-9-')"
PORT=$(( 20000 + RANDOM % 20000 ))
DB="$WORK/data/cirunner.db"
PID=""
cleanup() {
    if [ -n "$PID" ] && kill -0 "$PID" 2>/dev/null; then kill -KILL "$PID" 2>/dev/null || true; fi
    docker ps -aq --filter "label=cirunner.instance=$INSTANCE" | xargs -r docker rm -f >/dev/null 2>&1 || true
    if [ "${KEEP:-0}" = 1 ]; then echo "soak: kept $WORK"; else rm -rf "$WORK"; fi
}
trap cleanup EXIT

sql() { sqlite3 -readonly "$DB" "$1"; }
now() { date +%s; }
rss_mb() { awk '/^VmRSS:/ { printf "%d", $2 / 1024 }' "/proc/$PID/status"; }

echo "soak: building the service (Release)"
dotnet build -c Release "$ROOT/service/CiRunner" -v q --nologo >/dev/null

# 20 module repositories, and one tiny scenario that needs them all: every push runs one job of one `true` step.
mkdir -p "$WORK/scenarios/puppetfiles" "$WORK/remotes"
modules_json=""
names=""
for i in $(seq -w 1 $MODULES); do
    name="m$i"
    repo="$WORK/remotes/puppet-$name"
    git init -q -b master "$repo"
    mkdir -p "$repo/manifests"
    printf '{"name":"soak-%s","version":"1.0.0","author":"soak","summary":"soak module","license":"Apache-2.0","source":"https://example.invalid/%s","dependencies":[]}\n' "$name" "$name" >"$repo/metadata.json"
    printf 'class %s {\n  notify { "%s": }\n}\n' "$name" "$name" >"$repo/manifests/init.pp"
    git -C "$repo" add -A
    git -C "$repo" -c user.name=soak -c user.email=soak@example.invalid commit -q -m initial
    printf "mod '%s',\n  :git => '%s',\n  :ref => 'master'\n\n" "$name" "$repo" >>"$WORK/scenarios/puppetfiles/zed.Puppetfile"
    modules_json+="${modules_json:+,}{\"Name\":\"$name\",\"Url\":\"$repo\",\"Branches\":[\"master\"]}"
    names+="${names:+, }$name"
done
echo "notify { 'tick': }" >"$WORK/scenarios/tick.pp"
cat >"$WORK/scenarios/tick.yaml" <<EOF
name: tick
manifest: tick.pp
modules: [$names]
steps:
  - type: command
    name: tick
    command: ['true']
EOF
cat >"$WORK/appsettings.json" <<EOF
{
  "Service": { "InstanceId": "$INSTANCE", "DataDirectory": "data", "ScenariosDirectory": "scenarios", "DrainTimeout": "1m" },
  "Modules": [ $modules_json ],
  "Releases": [ { "Name": "zed", "Branches": ["master"], "Image": "$IMAGE" } ],
  "Docker": { "ParallelJobs": $PARALLEL_JOBS, "MemoryMb": 256 },
  "Schedule": { "PollInterval": "5s", "PollJitter": "5s" },
  "Http": { "Listen": "http://127.0.0.1:$PORT" },
  "Retention": { "Enabled": false },
  "Logging": { "LogLevel": { "Default": "Warning" } }
}
EOF

if ! docker image inspect "$IMAGE" >/dev/null 2>&1; then
    echo "soak: $IMAGE is missing; building it with cirunner images base (about a minute)"
    dotnet "$SERVICE" images base --config "$WORK/appsettings.json"
fi

dotnet "$SERVICE" serve --config "$WORK/appsettings.json" >"$WORK/service.log" 2>&1 &
PID=$!
for _ in $(seq 600); do
    curl -fs "http://127.0.0.1:$PORT/healthz" >/dev/null 2>&1 && break
    kill -0 "$PID" 2>/dev/null || { echo "soak: the service exited at start:" >&2; tail -20 "$WORK/service.log" >&2; exit 1; }
    sleep 0.1
done

# The first poll of a module only records its heads: wait for all of them before pushing.
deadline=$(( $(now) + 120 ))
until [ -f "$DB" ] && [ "$(sql "SELECT COUNT(*) FROM module_poll_status WHERE last_success_at IS NOT NULL" 2>/dev/null || echo 0)" -ge $MODULES ]; do
    [ "$(now)" -lt "$deadline" ] || { echo "soak: the modules were not all polled within 120 s" >&2; exit 1; }
    sleep 1
done
RSS_START=$(rss_mb)
echo "soak: service pid $PID on port $PORT, instance $INSTANCE, rss $RSS_START MB; pushing for $DURATION s"

declare -A last
pushes=0
: >"$WORK/pushed"
end=$(( $(now) + DURATION ))
while [ "$(now)" -lt "$end" ]; do
    name="m$(printf '%02d' $(( RANDOM % MODULES + 1 )))"
    if [ -n "${last[$name]:-}" ] && [ "$(sql "SELECT COUNT(*) FROM runs WHERE module = '$name' AND commit_sha = '${last[$name]}'")" -eq 0 ]; then
        sleep 0.2
        continue
    fi

    repo="$WORK/remotes/puppet-$name"
    pushes=$(( pushes + 1 ))
    echo "push $pushes" >"$repo/NOTES"
    git -C "$repo" add NOTES
    git -C "$repo" -c user.name=soak -c user.email=soak@example.invalid commit -q -m "push $pushes"
    last[$name]=$(git -C "$repo" rev-parse HEAD)
    echo "$name ${last[$name]}" >>"$WORK/pushed"
    sleep "$PUSH_EVERY"
done
echo "soak: pushed $pushes heads; waiting up to $DRAIN_TIMEOUT s for their runs and the queue"

missing_runs() {
    local missing=0 name sha
    while read -r name sha; do
        [ "$(sql "SELECT COUNT(*) FROM runs WHERE module = '$name' AND commit_sha = '$sha'")" -gt 0 ] || missing=$(( missing + 1 ))
    done <"$WORK/pushed"
    echo "$missing"
}
deadline=$(( $(now) + DRAIN_TIMEOUT ))
while true; do
    unfinished=$(sql "SELECT COUNT(*) FROM jobs WHERE state <> 'finished'")
    missing=$(missing_runs)
    if [ "$unfinished" -eq 0 ] && [ "$missing" -eq 0 ]; then break; fi
    if [ "$(now)" -ge "$deadline" ]; then echo "soak: drain bound reached: $unfinished jobs unfinished, $missing heads without a run" >&2; break; fi
    sleep 2
done
RSS_END=$(rss_mb)

kill -TERM "$PID"
for _ in $(seq 1200); do kill -0 "$PID" 2>/dev/null || break; sleep 0.1; done
if kill -0 "$PID" 2>/dev/null; then echo "soak: the service did not stop within 120 s of SIGTERM" >&2; fi
wait "$PID" 2>/dev/null && stopped=0 || stopped=$?
PID=""
sleep 2

jobs=$(sql "SELECT COUNT(*) FROM jobs")
runs=$(sql "SELECT COUNT(*) FROM runs")
unfinished=$(sql "SELECT COUNT(*) FROM jobs WHERE state <> 'finished'")
missing=$(missing_runs)
duplicated=$(sql "SELECT COALESCE(SUM(n - 1), 0) FROM (SELECT COUNT(*) AS n FROM runs GROUP BY module, commit_sha HAVING n > 1)")
results=$(sql "SELECT r || '=' || n FROM (SELECT COALESCE(result, state) AS r, COUNT(*) AS n FROM jobs GROUP BY r ORDER BY r)" | paste -sd ' ')
containers=$(docker ps -aq --filter "label=cirunner.instance=$INSTANCE" | wc -l)
errors=$(grep -c '^fail:' "$WORK/service.log" || true)

echo "soak: $pushes pushes, $runs runs ($duplicated duplicated), job results: $results; service exit $stopped, $errors error log entries"
echo "jobs: $jobs lost: $(( missing + unfinished )) containers-left: $containers rss-start-mb: $RSS_START rss-end-mb: $RSS_END"
