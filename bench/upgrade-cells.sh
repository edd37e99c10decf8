#!/usr/bin/env bash
# Upgrade cells: the real service (`cirunner serve`, Release build) runs the 16 cells of a 4-module upgrade workload,
# and a hand-rolled sequential shell script (docker run, docker cp, docker exec puppet apply, docker rm) computes the
# same 16 outcomes, in the same run. Each module has two versions, v1 on `stable/v1` (release zed) and v2 on
# `master` (release 2023.1):
#   upbreak    v1 makes /etc/upbreak/conf.d a directory, v2 declares it a file: v2 deploys cleanly on a fresh node
#              and fails when applied over v1's state (upgrade, and so the rollback cell's upgrade phase)
#   rollbreak  v1 makes /etc/rollbreak/data a file, v2 a directory: upgrading replaces the file, returning to v1
#              cannot replace the directory (only the rollback phase fails)
#   idemup     v2 migrates v1's legacy.conf with an exec `onlyif` it is there, and never removes it: not idempotent
#              only after an upgrade (the upgrade phase's second apply changes something)
#   steady     v1 and v2 write /etc/steady/version; passes everywhere
# The cells per module (one scenario per module, upgrade and rollback on, steps apply + idempotency): deploy on zed
# (a run of the stable/v1 head), and deploy on 2023.1, upgrade zed->2023.1, rollback (a run of the master head).
# CiRunner side: all stable/v1 runs are triggered first (POST /api/runs), then the master runs; its time runs from
# the first trigger to the last run's finishedAt. Script side: one cell after the other, phase by phase as CiRunner
# runs them (deploy, upgrade, rollback; apply then idempotency in each; the first failure ends the cell).
# An outcome is `success` or `failure@<phase>/<step>` (the first step that failed; from the API's job steps).
# With ROUNDS > 1 the sides run again, in reverse order every other round (on, script[, off]; then [off, ]script, on),
# so that a machine whose load drifts hits both alike; the times and ratios printed are medians over the rounds.
# The last line is: upgrade cells: cirunner=<s>s script=<s>s ratio=<x> agree=<n>/16   (ratio = cirunner/script;
# agree counts the cells whose CiRunner outcome is the script's in every round)
#
# Environment: PARALLEL (Docker:ParallelJobs, default 2), COMPARE_OFF=1 (also run the CiRunner side with
#              Snapshots:Enabled=false and print its time), ROUNDS (default 1), KEEP=1 (keep the temp folder:
#              configurations, databases, job logs, service logs, the script's apply logs), RUN_TIMEOUT (seconds to
#              wait for one side's runs, default 1800), IMAGE (the Puppet image of both releases, default
#              cirunner/base:bookworm).
# Needs: a running Docker engine with IMAGE, the .NET SDK, git, curl, jq. Every service instance gets a fresh
# Service:InstanceId, so no phase snapshot of an earlier run can help; its snapshots are pruned at the end
# (`cirunner images prune`). The services, containers, snapshots and temp folder are removed on any exit.
set -euo pipefail

PARALLEL=${PARALLEL:-2}
ROUNDS=${ROUNDS:-1}
IMAGE=${IMAGE:-cirunner/base:bookworm}
RUN_TIMEOUT=${RUN_TIMEOUT:-1800}
ROOT=$(cd "$(dirname "$0")/.." && pwd)
SERVICE="$ROOT/service/CiRunner/bin/Release/net10.0/cirunner.dll"
MODULES=(upbreak rollbreak idemup steady)
FROM=zed
TO=2023.1

for tool in git curl jq docker dotnet; do
    command -v "$tool" >/dev/null || { echo "upgrade-cells: $tool is missing" >&2; exit 1; }
done
docker image inspect "$IMAGE" >/dev/null 2>&1 || { echo "upgrade-cells: image $IMAGE is missing (cirunner images base)" >&2; exit 1; }

WORK=$(mktemp -d /tmp/cirunner-bench-upcells-XXXXXX)
TAG=$(basename "$WORK" | tr 'A-Z' 'a-z' | tr -cd 'a-z0-9' | tail -c 7)
BENCH_LABEL="cirunner.bench=upgrade-cells-$TAG"
TOKEN=$(head -c 16 /dev/urandom | od -An -tx1 | tr -d ' \n')
PID=""
INSTANCES=()
cleanup() {
    stop_service
    docker ps -aq --filter "label=$BENCH_LABEL" | xargs -r docker rm -f >/dev/null 2>&1 || true
    local instance
    for instance in "${INSTANCES[@]}"; do
        docker ps -aq --filter "label=cirunner.instance=$instance" | xargs -r docker rm -f >/dev/null 2>&1 || true
        docker images -q --filter "label=cirunner.instance=$instance" --filter "label=cirunner.phase-snapshot=true" | sort -u | xargs -r docker rmi -f >/dev/null 2>&1 || true
    done
    if [ "${KEEP:-0}" = 1 ]; then echo "upgrade-cells: kept $WORK"; else rm -rf "$WORK"; fi
}
stop_service() {
    if [ -n "$PID" ] && kill -0 "$PID" 2>/dev/null; then
        kill -TERM "$PID" 2>/dev/null || true
        for _ in $(seq 300); do kill -0 "$PID" 2>/dev/null || break; sleep 0.1; done
        kill -KILL "$PID" 2>/dev/null || true
        wait "$PID" 2>/dev/null || true
    fi
    PID=""
}
trap cleanup EXIT
trap 'exit 130' INT TERM

now_ns() { date +%s%N; }
seconds() { awk -v ns="$1" 'BEGIN { printf "%.1f", ns / 1e9 }'; }
iso_ns() { date -d "$1" +%s%N; }
bench_git() { git -c user.name=bench -c user.email=bench@example.invalid "$@"; }
loadavg() { cut -d' ' -f1-3 /proc/loadavg; }
# CPU seconds (utime + stime) of process $1 so far: fields 14 and 15 of /proc/PID/stat, after the command name.
cpu_seconds() { sed 's/^.*) //' "/proc/$1/stat" | awk -v t="$(getconf CLK_TCK)" '{ printf "%.2f", ($12 + $13) / t }'; }

echo "upgrade-cells: load average $(loadavg); building the service (Release)"
dotnet build -c Release "$ROOT/service/CiRunner" -v q --nologo >/dev/null

# --- The workload -------------------------------------------------------------------------------------------------
# manifest MODULE VERSION: the module's init.pp at version 1 or 2.
manifest() {
    case "$1:$2" in
        upbreak:1) cat <<'PP' ;;
class upbreak {
  file { ['/etc/upbreak', '/etc/upbreak/conf.d']: ensure => directory }
}
PP
        upbreak:2) cat <<'PP' ;;
class upbreak {
  file { '/etc/upbreak': ensure => directory }
  file { '/etc/upbreak/conf.d': ensure => file, content => "v2\n" }
}
PP
        rollbreak:1) cat <<'PP' ;;
class rollbreak {
  file { '/etc/rollbreak': ensure => directory }
  file { '/etc/rollbreak/data': ensure => file, content => "v1\n" }
}
PP
        rollbreak:2) cat <<'PP' ;;
class rollbreak {
  file { '/etc/rollbreak': ensure => directory }
  file { '/etc/rollbreak/data': ensure => directory }
}
PP
        idemup:1) cat <<'PP' ;;
class idemup {
  file { '/etc/idemup': ensure => directory }
  file { '/etc/idemup/legacy.conf': ensure => file, content => "v1\n" }
}
PP
        idemup:2) cat <<'PP' ;;
class idemup {
  file { '/etc/idemup': ensure => directory }
  file { '/etc/idemup/idemup.conf': ensure => file, content => "v2\n" }
  # Copies v1's legacy file on every run while it is there, and never removes it.
  exec { 'idemup-migrate-legacy':
    command => '/bin/sh -c "cat /etc/idemup/legacy.conf >> /etc/idemup/migrated.log"',
    onlyif  => '/usr/bin/test -f /etc/idemup/legacy.conf',
    require => File['/etc/idemup'],
  }
}
PP
        steady:1) cat <<'PP' ;;
class steady {
  file { '/etc/steady': ensure => directory }
  file { '/etc/steady/version': ensure => file, content => "v1\n" }
}
PP
        steady:2) cat <<'PP' ;;
class steady {
  file { '/etc/steady': ensure => directory }
  file { '/etc/steady/version': ensure => file, content => "v2\n" }
}
PP
    esac
}

# What each cell is designed to give (printed beside the two sides, not used in the agreement).
designed() {
    case "$1" in
        */upbreak:upgrade | */upbreak:rollback) echo "failure@upgrade/apply" ;;
        */rollbreak:rollback) echo "failure@rollback/apply" ;;
        */idemup:upgrade | */idemup:rollback) echo "failure@upgrade/idempotency" ;;
        *) echo "success" ;;
    esac
}

mkdir -p "$WORK/remotes" "$WORK/scenarios/puppetfiles" "$WORK/versions/v1/modules" "$WORK/versions/v2/modules"
MODULES_JSON=""
: >"$WORK/scenarios/puppetfiles/$FROM.Puppetfile"
: >"$WORK/scenarios/puppetfiles/$TO.Puppetfile"
for m in "${MODULES[@]}"; do
    work="$WORK/work-$m"
    git init -q -b stable/v1 "$work"
    mkdir -p "$work/manifests"
    printf '{"name":"bench-%s","version":"1.0.0","author":"bench","summary":"upgrade workload module","license":"Apache-2.0","source":"https://example.invalid/%s","dependencies":[]}\n' "$m" "$m" >"$work/metadata.json"
    manifest "$m" 1 >"$work/manifests/init.pp"
    git -C "$work" add -A
    bench_git -C "$work" commit -q -m "$m v1"
    git -C "$work" checkout -q -b master
    manifest "$m" 2 >"$work/manifests/init.pp"
    git -C "$work" add -A
    bench_git -C "$work" commit -q -m "$m v2"
    git clone -q --bare "$work" "$WORK/remotes/puppet-$m.git"
    rm -rf "$work"
    # The script side's copies of each version, exactly the committed trees.
    for v in 1 2; do
        branch=$([ "$v" = 1 ] && echo stable/v1 || echo master)
        mkdir -p "$WORK/versions/v$v/modules/$m"
        git -C "$WORK/remotes/puppet-$m.git" archive "$branch" | tar -x -C "$WORK/versions/v$v/modules/$m"
    done
    printf "mod '%s',\n  :git => '%s',\n  :ref => 'stable/v1'\n\n" "$m" "$WORK/remotes/puppet-$m.git" >>"$WORK/scenarios/puppetfiles/$FROM.Puppetfile"
    printf "mod '%s',\n  :git => '%s',\n  :ref => 'master'\n\n" "$m" "$WORK/remotes/puppet-$m.git" >>"$WORK/scenarios/puppetfiles/$TO.Puppetfile"
    echo "include $m" >"$WORK/scenarios/$m.pp"
    cat >"$WORK/scenarios/$m.yaml" <<YAML
name: $m
manifest: $m.pp
modules: [$m]
upgrade: true
rollback: true
steps: [apply, idempotency]
YAML
    MODULES_JSON+="${MODULES_JSON:+,}{\"Name\":\"$m\",\"Url\":\"$WORK/remotes/puppet-$m.git\",\"Branches\":[\"master\",\"stable/*\"]}"
done

# The 16 cells in table order, as CiRunner keys them.
CELLS=()
for m in "${MODULES[@]}"; do
    CELLS+=("$FROM/$m" "$TO/$m" "$FROM->$TO/$m:upgrade" "$FROM->$TO/$m:rollback")
done

# --- CiRunner side ------------------------------------------------------------------------------------------------
api() { curl -fsS "http://127.0.0.1:$PORT/api/$1"; }

# cirunner_side NAME SNAPSHOTS: a fresh instance runs the 8 runs; sets CIRUNNER_NS, writes $WORK/NAME/outcomes
# ("cell outcome") and $WORK/NAME/jobs (per job timings, for the analysis).
cirunner_side() {
    local name=$1 snapshots=$2 dir="$WORK/$1" instance="bench-upcells-$1-$TAG" m run_id body start last finished
    PORT=$(( 20000 + RANDOM % 20000 ))
    mkdir -p "$dir"
    INSTANCES+=("$instance")
    cat >"$dir/appsettings.json" <<JSON
{
  "Service": { "InstanceId": "$instance", "DataDirectory": "$dir/data", "ScenariosDirectory": "$WORK/scenarios" },
  "Modules": [ $MODULES_JSON ],
  "Releases": [
    { "Name": "$FROM", "Branches": ["stable/v1"], "Image": "$IMAGE" },
    { "Name": "$TO", "Branches": ["master"], "Image": "$IMAGE" }
  ],
  "Docker": { "ParallelJobs": $PARALLEL, "MemoryMb": 512 },
  "Schedule": { "PollInterval": "1h", "PollJitter": "1s", "NightlyCron": "0 0 0 1 1 ? 2099" },
  "Http": { "Listen": "http://127.0.0.1:$PORT" },
  "Snapshots": { "Enabled": $snapshots },
  "Retention": { "Enabled": false },
  "Logging": { "LogLevel": { "Default": "Warning" } }
}
JSON
    CIRUNNER_API_TOKEN=$TOKEN dotnet "$SERVICE" serve --config "$dir/appsettings.json" >"$dir/service.log" 2>&1 &
    PID=$!
    for _ in $(seq 1200); do
        curl -fs "http://127.0.0.1:$PORT/healthz" >/dev/null 2>&1 && break
        kill -0 "$PID" 2>/dev/null || { echo "upgrade-cells: the service exited at start:" >&2; tail -20 "$dir/service.log" >&2; exit 1; }
        sleep 0.1
    done
    curl -fs "http://127.0.0.1:$PORT/healthz" >/dev/null || { echo "upgrade-cells: the service did not become healthy in 120 s:" >&2; curl -s "http://127.0.0.1:$PORT/healthz" >&2; exit 1; }
    echo "upgrade-cells: [$name] service pid $PID on port $PORT, instance $instance, Snapshots:Enabled=$snapshots, ParallelJobs=$PARALLEL"

    : >"$dir/runs"
    local cpu_start cpu_end
    cpu_start=$(cpu_seconds "$PID")
    start=$(now_ns)
    for branch in stable/v1 master; do
        for m in "${MODULES[@]}"; do
            body=$(curl -fsS -X POST "http://127.0.0.1:$PORT/api/runs" -H "Authorization: Bearer $TOKEN" -H 'Content-Type: application/json' \
                -d "{\"module\":\"$m\",\"branch\":\"$branch\",\"requestedBy\":\"bench\"}") \
                || { echo "upgrade-cells: triggering $m $branch failed" >&2; tail -20 "$dir/service.log" >&2; exit 1; }
            run_id=$(jq -r .runId <<<"$body")
            echo "$run_id $m $branch $(jq -r .jobs <<<"$body")" >>"$dir/runs"
        done
    done

    # One request a second (the instance's database holds only these runs): the times are the runs' own finishedAt,
    # so the wait's interval does not count, and a lighter poll takes less CPU from the jobs.
    local deadline=$(( $(date +%s) + RUN_TIMEOUT )) unfinished
    while true; do
        unfinished=$(api "runs?limit=50" | jq '(8 - length) + ([.[] | select(.run.finishedAt == null)] | length)')
        [ "$unfinished" -eq 0 ] && break
        if [ "$(date +%s)" -ge "$deadline" ]; then
            echo "upgrade-cells: [$name] $unfinished run(s) unfinished after $RUN_TIMEOUT s; the queue:" >&2
            api queue >&2 || true
            exit 1
        fi
        sleep 1
    done
    cpu_end=$(cpu_seconds "$PID")
    last=0
    : >"$dir/outcomes"
    : >"$dir/jobs"
    while read -r run_id _; do
        body=$(api "runs/$run_id")
        finished=$(iso_ns "$(jq -r .run.finishedAt <<<"$body")")
        [ "$finished" -gt "$last" ] && last=$finished
        # The latest attempt of each cell: the job no other job of the run retries.
        jq -r '(.jobs | map(.retryOf // empty)) as $retried | .jobs[] | select(.id as $id | $retried | index($id) | not) | .id' <<<"$body" |
        while read -r job_id; do
            api "jobs/$job_id" >"$dir/job-$job_id.json"
            jq -r '.job.cellKey + " " + (if .job.result == "success" then "success"
                else ((.steps | map(select(.result != "success" and .result != "skipped")) | first) as $s
                      | if $s then "\(.job.result)@\($s.phase)/\($s.name)" else .job.result end) end)' "$dir/job-$job_id.json" >>"$dir/outcomes"
            # cell, start and end (ns since the epoch), snapshots, seconds in steps that ran, puppet applies that ran,
            # steps with their seconds (a phase taken from a snapshot shows its steps at 0)
            jq -r '
                def secs: split(":") | (.[0] | tonumber) * 3600 + (.[1] | tonumber) * 60 + (.[2] | tonumber);
                [ .job.cellKey, .job.startedAt, .job.finishedAt,
                  ((.phaseSnapshots | map("\(.role):\(.phase)") | join(",")) | if . == "" then "-" else . end),
                  (.steps | map(select(.result != "skipped") | .duration | secs) | add),
                  (.steps | map(select(.result != "skipped" and (.kind == "apply" or .kind == "idempotency") and (.duration | secs) > 0)) | length),
                  (.steps | map(select(.result != "skipped") | "\(.phase)/\(.name)=\(.duration | secs | . * 10 | round / 10)") | join(" ")) ]
                | @tsv' "$dir/job-$job_id.json" >>"$dir/jobs"
        done
    done <"$dir/runs"
    CIRUNNER_NS=$(( last - start ))
    CIRUNNER_START=$start

    stop_service
    local left
    left=$(docker ps -aq --filter "label=cirunner.instance=$instance" | wc -l)
    dotnet "$SERVICE" images prune --config "$dir/appsettings.json" | sed "s/^/upgrade-cells: [$name] /"
    local snapshots_left
    snapshots_left=$(docker images -q --filter "label=cirunner.instance=$instance" --filter "label=cirunner.phase-snapshot=true" | sort -u | wc -l)
    echo "upgrade-cells: [$name] $(wc -l <"$dir/runs") runs, $(wc -l <"$dir/outcomes") cells in $(seconds "$CIRUNNER_NS") s; the service's own CPU meanwhile $(awk -v a="$cpu_start" -v b="$cpu_end" 'BEGIN { printf "%.1f", b - a }') s; containers left: $left, snapshots left: $snapshots_left; load average $(loadavg)"
}

# print_jobs NAME: per job, when it started and ended (seconds after the first trigger), its seconds outside its
# steps (container, copies, snapshot commits), which phases came from or went to a snapshot, and each step's seconds;
# then the puppet applies that ran, their mean, and how busy the slots were.
print_jobs() {
    local dir="$WORK/$1" cell started ended snaps in_steps applies steps wall
    printf '  %-30s %7s %7s %7s %6s  %-24s %s\n' cell start end secs other snapshots steps
    sort -t$'\t' -k2 "$dir/jobs" | while IFS=$'\t' read -r cell started ended snaps in_steps applies steps; do
        started=$(( $(iso_ns "$started") - ${CIRUNNER_START_OF[$1]} ))
        ended=$(( $(iso_ns "$ended") - ${CIRUNNER_START_OF[$1]} ))
        printf '  %-30s %7s %7s %7s %6s  %-24s %s\n' "$cell" "$(seconds "$started")" "$(seconds "$ended")" "$(seconds $(( ended - started )))" \
            "$(awk -v t=$(( ended - started )) -v s="$in_steps" 'BEGIN { printf "%.1f", t / 1e9 - s }')" "$snaps" "$steps"
    done
    wall=${CIRUNNER_NS_OF[$1]}
    awk -F'\t' -v wall="$wall" -v slots="$PARALLEL" -v start="${CIRUNNER_START_OF[$1]}" '
        { applies += $6; in_steps += $5 }
        END { printf "  %d puppet applies, %.1f s in steps (%.1f s per apply); ", applies, in_steps, in_steps / applies }' "$dir/jobs"
    local busy=0
    while IFS=$'\t' read -r cell started ended _; do
        busy=$(( busy + $(iso_ns "$ended") - $(iso_ns "$started") ))
    done <"$dir/jobs"
    echo "jobs $(seconds "$busy") s in all, slots busy $(awk -v b="$busy" -v w="$wall" -v p="$PARALLEL" 'BEGIN { printf "%.0f", 100 * b / (w * p) }') % of $PARALLEL x $(seconds "$wall") s"
}

# --- Script side --------------------------------------------------------------------------------------------------
# script_cell CELL MODULE PHASE:VERSION...: one container, the phases in order, apply then idempotency in each.
APPLY=(puppet apply --detailed-exitcodes --color=false --modulepath /cirunner/modules)
SCRIPT_APPLIES=0
SCRIPT_APPLY_NS=0
# apply CONTAINER MODULE: one puppet apply; sets rc to its exit code.
apply() {
    local started
    started=$(now_ns)
    rc=0
    docker exec "$1" "${APPLY[@]}" "/cirunner/scenario/$2.pp" >>"$SCRIPT_DIR/apply.log" 2>&1 || rc=$?
    SCRIPT_APPLIES=$(( SCRIPT_APPLIES + 1 ))
    SCRIPT_APPLY_NS=$(( SCRIPT_APPLY_NS + $(now_ns) - started ))
    return 0
}
script_cell() {
    local cell=$1 m=$2 c outcome=success phase name version rc cell_start
    shift 2
    cell_start=$(now_ns)
    c=$(docker run -d --network none --label "$BENCH_LABEL" "$IMAGE" sleep infinity)
    docker exec "$c" mkdir -p /cirunner/scenario
    docker cp -q "$WORK/scenarios/$m.pp" "$c:/cirunner/scenario/$m.pp"
    for phase in "$@"; do
        name=${phase%%:*}
        version=${phase#*:}
        docker exec "$c" rm -rf /cirunner/modules
        docker cp -q "$WORK/versions/$version/modules" "$c:/cirunner/modules"
        apply "$c" "$m"
        if [ "$rc" -ne 0 ] && [ "$rc" -ne 2 ]; then outcome="failure@$name/apply"; break; fi
        apply "$c" "$m"
        if [ "$rc" -ne 0 ]; then outcome="failure@$name/idempotency"; break; fi
    done
    docker rm -f "$c" >/dev/null
    echo "$cell $outcome" >>"$SCRIPT_DIR/outcomes"
    printf '  %-30s %-28s %6s s\n' "$cell" "$outcome" "$(seconds $(( $(now_ns) - cell_start )))"
}

# script_side NAME: the 16 cells one after the other; sets SCRIPT_NS, writes $WORK/NAME/outcomes.
script_side() {
    local m start
    SCRIPT_DIR="$WORK/$1"
    SCRIPT_APPLIES=0
    SCRIPT_APPLY_NS=0
    mkdir -p "$SCRIPT_DIR"
    : >"$SCRIPT_DIR/outcomes"
    echo "upgrade-cells: [$1] 16 cells, one at a time; load average $(loadavg)"
    start=$(now_ns)
    for m in "${MODULES[@]}"; do
        script_cell "$FROM/$m" "$m" deploy:v1
        script_cell "$TO/$m" "$m" deploy:v2
        script_cell "$FROM->$TO/$m:upgrade" "$m" deploy:v1 upgrade:v2
        script_cell "$FROM->$TO/$m:rollback" "$m" deploy:v1 upgrade:v2 rollback:v1
    done
    SCRIPT_NS=$(( $(now_ns) - start ))
    echo "upgrade-cells: [$1] 16 cells in $(seconds "$SCRIPT_NS") s; $SCRIPT_APPLIES puppet applies, $(seconds "$SCRIPT_APPLY_NS") s in them ($(awk -v a="$SCRIPT_APPLY_NS" -v n="$SCRIPT_APPLIES" 'BEGIN { printf "%.1f", a / n / 1e9 }') s per apply, docker exec included); load average $(loadavg)"
}

outcome_of() { awk -v c="$1" '$1 == c { print $2; found = 1 } END { if (!found) print "(none)" }' "$2"; }
# outcomes SIDE CELL: the cell's outcome on the side (on, off, script), or every different one over the rounds.
outcomes() {
    local r
    for r in $(seq "$ROUNDS"); do outcome_of "$2" "$WORK/$1-$r/outcomes"; done | awk '!seen[$0]++' | paste -sd'|'
}
# agreement SIDE: how many of the 16 cells have the script's outcome on the side in every round.
agreement() {
    local n=0 cell r same
    for cell in "${CELLS[@]}"; do
        same=1
        for r in $(seq "$ROUNDS"); do
            [ "$(outcome_of "$cell" "$WORK/$1-$r/outcomes")" = "$(outcome_of "$cell" "$WORK/script-$r/outcomes")" ] || same=0
        done
        n=$(( n + same ))
    done
    echo "$n"
}
median() { sort -g | awk '{ v[NR] = $1 } END { if (NR % 2) m = v[(NR + 1) / 2]; else m = (v[NR / 2] + v[NR / 2 + 1]) / 2; printf "%.6f\n", m }'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", a / b }'; }
# median_of SIDE: the side's median time in ns; median_ratio A B: the median over the rounds of A's time over B's.
median_of() { local r; for r in $(seq "$ROUNDS"); do echo "${NS[$1-$r]}"; done | median; }
median_ratio() { local r; for r in $(seq "$ROUNDS"); do ratio "${NS[$1-$r]}" "${NS[$2-$r]}"; echo; done | median | awk '{ printf "%.2f", $1 }'; }

# --- The run ------------------------------------------------------------------------------------------------------
declare -A NS CIRUNNER_START_OF CIRUNNER_NS_OF
# run_side SIDE ROUND: one side's measurement (on, off: the service with snapshots on or off; script).
run_side() {
    local name="$1-$2"
    case $1 in
        on | off)
            cirunner_side "$name" "$([ "$1" = on ] && echo true || echo false)"
            NS[$name]=$CIRUNNER_NS
            CIRUNNER_START_OF[$name]=$CIRUNNER_START
            CIRUNNER_NS_OF[$name]=$CIRUNNER_NS
            ;;
        script)
            script_side "$name"
            NS[$name]=$SCRIPT_NS
            ;;
    esac
}
SIDES=(on script)
[ "${COMPARE_OFF:-0}" = 1 ] && SIDES+=(off)
for r in $(seq "$ROUNDS"); do
    if (( r % 2 )); then order=("${SIDES[@]}"); else order=(); for (( i = ${#SIDES[@]} - 1; i >= 0; i-- )); do order+=("${SIDES[i]}"); done; fi
    echo "upgrade-cells: round $r of $ROUNDS: ${order[*]}"
    for side in "${order[@]}"; do run_side "$side" "$r"; done
    line="cirunner=$(seconds "${NS[on-$r]}")s script=$(seconds "${NS[script-$r]}")s ratio=$(ratio "${NS[on-$r]}" "${NS[script-$r]}")"
    [ "${COMPARE_OFF:-0}" = 1 ] && line+=" off=$(seconds "${NS[off-$r]}")s ratio-off=$(ratio "${NS[off-$r]}" "${NS[script-$r]}")"
    echo "upgrade-cells: round $r: $line; load average $(loadavg)"
done

for r in $(seq "$ROUNDS"); do
    echo
    echo "upgrade-cells: round $r, jobs with snapshots on (seconds after the first trigger; other = outside the steps):"
    print_jobs "on-$r"
    if [ "${COMPARE_OFF:-0}" = 1 ]; then
        echo "upgrade-cells: round $r, jobs with snapshots off:"
        print_jobs "off-$r"
    fi
done

echo
columns=(cirunner)
[ "${COMPARE_OFF:-0}" = 1 ] && columns+=("cirunner (snapshots off)")
printf '%-30s' cell; printf ' %-28s' "${columns[@]}" script; printf ' %s\n' designed
for cell in "${CELLS[@]}"; do
    printf '%-30s %-28s' "$cell" "$(outcomes on "$cell")"
    [ "${COMPARE_OFF:-0}" = 1 ] && printf ' %-28s' "$(outcomes off "$cell")"
    printf ' %-28s %s' "$(outcomes script "$cell")" "$(designed "$cell")"
    differs=""
    for r in $(seq "$ROUNDS"); do
        for side in on off; do
            [ -f "$WORK/$side-$r/outcomes" ] || continue
            [ "$(outcome_of "$cell" "$WORK/$side-$r/outcomes")" = "$(outcome_of "$cell" "$WORK/script-$r/outcomes")" ] || differs+=" $side-$r"
        done
    done
    [ -n "$differs" ] && printf '  <- differs from the script in%s' "$differs"
    echo
done
echo
echo "upgrade-cells: machine $(nproc) cores, load average $(loadavg)$([ "$ROUNDS" -gt 1 ] && echo "; medians of $ROUNDS rounds")"
if [ "${COMPARE_OFF:-0}" = 1 ]; then
    echo "upgrade cells (snapshots off): cirunner=$(seconds "$(median_of off)")s ratio=$(median_ratio off script) agree=$(agreement off)/16 on/off=$(median_ratio on off)"
fi
echo "upgrade cells: cirunner=$(seconds "$(median_of on)")s script=$(seconds "$(median_of script)")s ratio=$(median_ratio on script) agree=$(agreement on)/16"
