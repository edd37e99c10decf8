#!/usr/bin/env bash
# Latency: a commit pushed to a watched module -> every cell of its run finished.
#   cirunner  the real service (`cirunner serve`, Release build) polls one module every POLL seconds; a new head
#             starts a run of CELLS cells (CELLS scenarios of one `true` command step on one release; 6 by default),
#             PARALLEL_JOBS (2) at a time; measured from the push to the run's finished_at (stamped by the service
#             when the last job ended).
#   plain     in the same run, a shell loop polls its own bare repository with `git ls-remote` on a POLL-second
#             clock and, on a new head, runs `docker run --rm --network none IMAGE true` CELLS times, PARALLEL_JOBS
#             at a time (xargs -P); measured from the push to the return of the last `docker run`.
# Both sides wait for a poll, so the ratio shows what CiRunner adds on top of a poll and the containers.
# Each push is made a set time w before the side's next poll (read from GET /api/modules, nextPollAt, for the service, from
# the loop's own clock for the plain side), the same w for both sides; the PUSHES values of w are spread evenly over
# the interval ((k + 0.5) * POLL / PUSHES, in a fixed shuffled order). The poll wait is then the same on both sides
# rather than luck, and its mean is POLL / 2 as for pushes at random moments.
# Per push it prints w and each side's latency with its parts; then the medians, and where one job's time goes (from
# the service's timestamps and job logs, read once the measuring is over). The last line is:
#   latency: cirunner=<s>s plain=<s>s ratio=<x>
# where each figure is the median over the pushes and ratio = cirunner median / plain median.
#
# Environment: PUSHES (measured pushes per side, default 20), POLL (seconds, whole, at least 5: the service's least;
#              default 5), WARMUP (unmeasured pushes per side first, default 2), CELLS (default 6), PARALLEL_JOBS
#              (default 2), IMAGE (default cirunner/base:bookworm), TIMEOUT (seconds one push may take, default 120),
#              KEEP=1 keeps the temp folder (service.log, the database, plain.log).
# Needs: a running Docker engine with IMAGE, the .NET SDK, git, curl, jq.
set -euo pipefail
shopt -s inherit_errexit

PUSHES=${PUSHES:-20}
POLL=${POLL:-5}
WARMUP=${WARMUP:-2}
CELLS=${CELLS:-6}
PARALLEL_JOBS=${PARALLEL_JOBS:-2}
IMAGE=${IMAGE:-cirunner/base:bookworm}
TIMEOUT=${TIMEOUT:-120}
ROOT=$(cd "$(dirname "$0")/.." && pwd)
SERVICE="$ROOT/service/CiRunner/bin/Release/net10.0/cirunner.dll"
# shellcheck source=bench/lib/modules.sh
. "$ROOT/bench/lib/modules.sh"

for tool in git curl jq docker dotnet setsid; do
    command -v "$tool" >/dev/null || { echo "latency: $tool is missing (apt-get install $tool)" >&2; exit 1; }
done
[[ "$POLL" =~ ^[0-9]+$ ]] && [ "$POLL" -ge 5 ] || { echo "latency: POLL must be whole seconds, at least 5 (Schedule:PollInterval's least)" >&2; exit 2; }
docker image inspect "$IMAGE" >/dev/null 2>&1 || { echo "latency: image $IMAGE is missing (cirunner images base builds cirunner/base:bookworm)" >&2; exit 1; }

WORK=$(mktemp -d /tmp/cirunner-bench-latency-XXXXXX)
TAG=$(basename "$WORK" | tr 'A-Z' 'a-z' | tr -cd 'a-z0-9')
INSTANCE="latency-$TAG"
PLAIN_LABEL="cirunner.bench.latency=$TAG"
PORT=$(( 20000 + RANDOM % 20000 ))
API="http://127.0.0.1:$PORT"
PID=""
PLAIN_PID=""
cleanup() {
    # The plain loop is a session of its own (setsid): its group holds xargs and the docker CLIs it started.
    if [ -n "$PLAIN_PID" ]; then kill -TERM -- "-$PLAIN_PID" 2>/dev/null || true; fi
    if [ -n "$PID" ] && kill -0 "$PID" 2>/dev/null; then
        kill -TERM "$PID" 2>/dev/null || true
        for _ in $(seq 300); do kill -0 "$PID" 2>/dev/null || break; sleep 0.1; done
        kill -KILL "$PID" 2>/dev/null || true
        wait "$PID" 2>/dev/null || true
    fi
    docker ps -aq --filter "label=cirunner.instance=$INSTANCE" | xargs -r docker rm -f >/dev/null 2>&1 || true
    docker ps -aq --filter "label=$PLAIN_LABEL" | xargs -r docker rm -f >/dev/null 2>&1 || true
    if [ "${KEEP:-0}" = 1 ]; then echo "latency: kept $WORK"; else rm -rf "$WORK"; fi
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

now_ms() { date +%s%3N; }
# Sleeps until the epoch millisecond $1 (at once when it has passed).
sleep_until() {
    local d=$(( $1 - $(now_ms) ))
    if [ "$d" -gt 0 ]; then sleep "$(( d / 1000 )).$(printf '%03d' $(( d % 1000 )))"; fi
}
seconds() { awk -v ms="$1" 'BEGIN { printf "%.2f", ms / 1000 }'; }
median() { sort -n | awk '{ v[NR] = $1 } END { if (NR % 2) print v[(NR + 1) / 2]; else print (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }
machine() {
    echo "$(nproc) cores, load average $(cut -d' ' -f1-3 /proc/loadavg), $(. /etc/os-release && echo "$PRETTY_NAME"), Docker $(docker version --format '{{.Server.Version}} (API {{.Server.APIVersion}})'), .NET SDK $(dotnet --version)"
}

# A push: the commit is written into the bare repository beforehand (same tree, the current head as parent), and
# the push itself is the update of refs/heads/master, which is the moment the new head becomes visible to a poll.
# prepare_commit REPO N prints the new commit; publish REPO SHA moves master to it.
prepare_commit() { bench_git -C "$1" commit-tree "refs/heads/master^{tree}" -p refs/heads/master -m "push $2"; }
publish() { git -C "$1" update-ref refs/heads/master "$2"; }

# The plain side: a shell poller on a clock of its own (ticks at T0 + k * POLL, as the service fires its polls),
# run as its own session so that cleanup can end it with everything it started. On a new head it runs the cells'
# containers, PARALLEL at a time, and writes "<sha> <detected ms> <done ms>" to OUT.
plain_loop() {
    local remote=$1 image=$2 cells=$3 parallel=$4 poll_ms=$5 tick=$6 out=$7 label=$8 last head now detected d
    last=$(git ls-remote "$remote" refs/heads/master | cut -f1)
    while true; do
        now=$(date +%s%3N)
        while [ "$tick" -le "$now" ]; do tick=$(( tick + poll_ms )); done
        d=$(( tick - now ))
        sleep "$(( d / 1000 )).$(printf '%03d' $(( d % 1000 )))"
        head=$(git ls-remote "$remote" refs/heads/master | cut -f1)
        [ "$head" != "$last" ] || continue
        detected=$(date +%s%3N)
        if seq "$cells" | xargs -P "$parallel" -I{} docker run --rm --network none --label "$label" "$image" true; then
            echo "$head $detected $(date +%s%3N)" >>"$out"
        else
            echo "$head failed" >>"$out"
        fi
        last=$head
    done
}

echo "latency: $(machine)"
echo "latency: building the service (Release)"
dotnet build -c Release "$ROOT/service/CiRunner" -v q --nologo >/dev/null

# One module (m1, made as for poll.sh and idle.sh) and CELLS scenarios of one `true` step each: tick1 .. tickN.
make_modules "$WORK" 1
SERVICE_REPO="$WORK/remotes/puppet-m1.git"
PLAIN_REPO="$WORK/remotes/plain.git"
git clone -q --bare "$SERVICE_REPO" "$PLAIN_REPO"
for i in $(seq "$CELLS"); do sed "s/^name: tick$/name: tick$i/" "$WORK/scenarios/tick.yaml" >"$WORK/scenarios/tick$i.yaml"; done
rm "$WORK/scenarios/tick.yaml"
cat >"$WORK/appsettings.json" <<JSON
{
  "Service": { "InstanceId": "$INSTANCE", "DataDirectory": "data", "ScenariosDirectory": "scenarios", "DrainTimeout": "10s" },
  "Modules": [ { "Name": "m1", "Url": "$SERVICE_REPO", "Branches": ["master"] } ],
  "Releases": [ { "Name": "zed", "Branches": ["master"], "Image": "$IMAGE" } ],
  "Docker": { "ParallelJobs": $PARALLEL_JOBS, "MemoryMb": 256 },
  "Schedule": { "PollInterval": "${POLL}s", "PollJitter": "0s" },
  "Http": { "Listen": "$API" },
  "Retention": { "Enabled": false },
  "Logging": { "LogLevel": { "Default": "Warning" } }
}
JSON

dotnet "$SERVICE" serve --config "$WORK/appsettings.json" >"$WORK/service.log" 2>&1 &
PID=$!
for _ in $(seq 600); do
    curl -fs "$API/healthz" >/dev/null 2>&1 && break
    kill -0 "$PID" 2>/dev/null || { echo "latency: the service exited at start:" >&2; tail -20 "$WORK/service.log" >&2; exit 1; }
    sleep 0.1
done
# The first poll of a module only records its heads: wait for it before pushing.
deadline=$(( $(now_ms) + 60000 ))
until [ "$(curl -fs "$API/api/modules" | jq -r '.[0].poll.lastSuccessAt // empty')" != "" ]; do
    [ "$(now_ms)" -lt "$deadline" ] || { echo "latency: the module was not polled within 60 s" >&2; tail -20 "$WORK/service.log" >&2; exit 1; }
    sleep 0.5
done

POLL_MS=$(( POLL * 1000 ))
PLAIN_T0=$(now_ms)
: >"$WORK/plain.log"
setsid bash -c "$(declare -f plain_loop); plain_loop \"\$@\"" plain_loop \
    "$PLAIN_REPO" "$IMAGE" "$CELLS" "$PARALLEL_JOBS" "$POLL_MS" "$PLAIN_T0" "$WORK/plain.log" "$PLAIN_LABEL" &
PLAIN_PID=$!
echo "latency: service pid $PID on port $PORT (instance $INSTANCE), plain loop pid $PLAIN_PID; $CELLS cells, $PARALLEL_JOBS at a time, image $IMAGE, poll every $POLL s"

# jq: epoch ms of the service's timestamps (UTC, "2026-12-05T00:10:00.123+00:00").
JQ_MS='def ms: (.[0:19] + "Z" | fromdateiso8601) * 1000 + ((capture("\\.(?<f>[0-9]+)") // {f: "0"}).f + "000" | .[0:3] | tonumber);'

# The first tick of a side's poll clock after $1 (epoch ms).
service_next_poll() {
    # The service's poll clock keeps a module's polls on the grid first poll + k * interval; GET /api/modules gives
    # the next one (nextPollAt).
    local next
    next=$(curl -fs "$API/api/modules" | jq -r "$JQ_MS"' .[] | select(.module == "m1") | .nextPollAt // empty | ms')
    [ -n "$next" ] || { echo "latency: the service names no next poll of m1 (GET /api/modules)" >&2; exit 1; }
    while [ "$next" -gt "$1" ]; do next=$(( next - POLL_MS )); done
    while [ "$next" -le "$1" ]; do next=$(( next + POLL_MS )); done
    echo "$next"
}
plain_next_poll() { echo $(( PLAIN_T0 + ((($1 - PLAIN_T0) / POLL_MS) + 1) * POLL_MS )); }

# measure_service N W: pushes W ms before the service's next poll and waits for the run to finish. Prints
# "<w> <latency> <poll> <dispatch> <jobs> <mean job> <run id>" in ms (but the id): poll = scheduled poll -> run stored; dispatch = run stored
# -> first job started; jobs = first job started -> last job finished (the run's finished_at); mean job = a job's
# started -> finished.
measure_service() {
    local n=$1 w=$2 sha fire pushed deadline run_id finished detail created first jobs passed mean
    sha=$(prepare_commit "$SERVICE_REPO" "$n")
    fire=$(service_next_poll $(( $(now_ms) + w + 300 )))
    sleep_until $(( fire - w ))
    publish "$SERVICE_REPO" "$sha"
    pushed=$(now_ms)
    deadline=$(( pushed + TIMEOUT * 1000 ))
    while true; do
        read -r run_id finished < <(curl -fs "$API/api/runs?module=m1&limit=5" \
            | jq -r --arg sha "$sha" '.[] | select(.run.commitSha == $sha) | "\(.run.id) \(.run.finishedAt // "-")"') || true
        [ -n "${run_id:-}" ] && [ "$finished" != "-" ] && break
        kill -0 "$PID" 2>/dev/null || { echo "latency: the service exited:" >&2; tail -20 "$WORK/service.log" >&2; exit 1; }
        [ "$(now_ms)" -lt "$deadline" ] || { echo "latency: push $n ($sha): no finished run within $TIMEOUT s (run ${run_id:-none})" >&2; tail -20 "$WORK/service.log" >&2; exit 1; }
        sleep 0.5
    done
    detail=$(curl -fs "$API/api/runs/$run_id")
    read -r created first finished jobs passed mean < <(jq -r "$JQ_MS"'
        [(.run.createdAt | ms), ([.jobs[].startedAt | ms] | min), (.run.finishedAt | ms), (.jobs | length),
         ([.jobs[] | select(.result == "success")] | length),
         ([.jobs[] | (.finishedAt | ms) - (.startedAt | ms)] | add / length | floor)] | @tsv' <<<"$detail")
    if [ "$jobs" -ne "$CELLS" ] || [ "$passed" -ne "$CELLS" ]; then
        echo "latency: push $n: run $run_id has $jobs jobs, $passed passed (expected $CELLS):" >&2
        jq -r '.jobs[] | "  job \(.id) \(.cellKey): \(.result) \(.summary)"' <<<"$detail" >&2
        exit 1
    fi
    echo "$(( fire - pushed )) $(( finished - pushed )) $(( created - fire )) $(( first - created )) $(( finished - first )) $mean $run_id"
}

# measure_plain N W: the same against the plain loop. Prints "<w> <latency> <poll> <containers>" in ms: poll =
# scheduled poll -> `git ls-remote` saw the head; containers = from then to the last `docker run`'s return.
measure_plain() {
    local n=$1 w=$2 sha fire pushed deadline line detected done
    sha=$(prepare_commit "$PLAIN_REPO" "$n")
    fire=$(plain_next_poll $(( $(now_ms) + w + 300 )))
    sleep_until $(( fire - w ))
    publish "$PLAIN_REPO" "$sha"
    pushed=$(now_ms)
    deadline=$(( pushed + TIMEOUT * 1000 ))
    until line=$(grep "^$sha " "$WORK/plain.log"); do
        kill -0 "$PLAIN_PID" 2>/dev/null || { echo "latency: the plain loop exited" >&2; exit 1; }
        [ "$(now_ms)" -lt "$deadline" ] || { echo "latency: push $n ($sha): the plain loop did not finish within $TIMEOUT s" >&2; exit 1; }
        sleep 0.2
    done
    read -r _ detected done <<<"$line"
    [ "$detected" != failed ] || { echo "latency: push $n: a plain docker run failed (see above)" >&2; exit 1; }
    echo "$(( fire - pushed )) $(( done - pushed )) $(( detected - fire )) $(( done - detected ))"
}

if [ "$WARMUP" -gt 0 ]; then
    echo "latency: $WARMUP unmeasured pushes per side first (the service's first runs pay the JIT)"
    for i in $(seq "$WARMUP"); do
        measure_service "w$i" $(( POLL_MS / 2 )) >/dev/null
        measure_plain "w$i" $(( POLL_MS / 2 )) >/dev/null
    done
fi

# w for push k: (k + 0.5) * POLL / PUSHES, in an order shuffled from a fixed seed, so reruns push alike.
mapfile -t WAITS < <(seq 0 $(( PUSHES - 1 )) | shuf --random-source=<(yes) | awk -v p="$POLL_MS" -v n="$PUSHES" '{ printf "%d\n", ($1 + 0.5) * p / n }')
: >"$WORK/figures"
: >"$WORK/runs"
printf '%-5s %6s | %8s = %6s + %8s + %6s (job %5s) | %7s = %6s + %10s\n' \
    push wait cirunner poll dispatch jobs mean plain poll containers
for i in $(seq "$PUSHES"); do
    w=${WAITS[$(( i - 1 ))]}
    # Which side goes first turns from push to push, so drift in the machine's load hits both alike.
    if (( i % 2 )); then
        s=$(measure_service "$i" "$w"); p=$(measure_plain "$i" "$w")
    else
        p=$(measure_plain "$i" "$w"); s=$(measure_service "$i" "$w")
    fi
    read -r sw sl spoll sdispatch sjobs smean run_id <<<"$s"
    echo "$run_id" >>"$WORK/runs"
    read -r pw pl ppoll pcontainers <<<"$p"
    echo "$sw $sl $spoll $sdispatch $sjobs $smean $pw $pl $ppoll $pcontainers" >>"$WORK/figures"
    printf '%-5s %5ss | %7ss = %5ss + %7ss + %5ss (job %4ss) | %6ss = %5ss + %9ss   (plain wait %ss)\n' \
        "$i" "$(seconds "$sw")" "$(seconds "$sl")" "$(seconds "$spoll")" "$(seconds "$sdispatch")" "$(seconds "$sjobs")" "$(seconds "$smean")" \
        "$(seconds "$pl")" "$(seconds "$ppoll")" "$(seconds "$pcontainers")" "$(seconds "$pw")"
done

col() { awk -v c="$1" '{ print $c }' "$WORK/figures" | median; }
echo "latency: medians over $PUSHES pushes (ms): wait $(col 1);" \
    "cirunner $(col 2) = poll $(col 3), dispatch $(col 4), jobs $(col 5) (one job $(col 6));" \
    "plain $(col 8) = poll $(col 9), containers $(col 10)"
# Where a job's time goes, from the measured runs' jobs (read once the measuring is over): the service's own
# timestamps (started_at, finished_at) and its job log's lines. Per job, in ms:
#   record    started_at -> the log's first line (the lockfile written, the executor set up)
#   create    -> "copied": the container created, the image looked up, the module set and scenario copied in
#   start     -> "container ... started": attached and started
#   script    -> "phase deploy: ...": the step script moved the phase's files into place and said so
#   step      -> "step 1/1 ...: <result>": the `true` step, its markers, and the executor's answer
#   finish    -> finished_at: the script's exit, the job's end written (with the run's, for the last one)
#   slot gap  the start of a job that waited for a slot, after the end that freed it (the dispatcher's wake-up)
: >"$WORK/stages"
: >"$WORK/gaps"
while read -r run_id; do
    detail=$(curl -fs "$API/api/runs/$run_id")
    jq -r "$JQ_MS"'[.jobs[] | {s: (.startedAt | ms), f: (.finishedAt | ms)}] as $j
        | $j[] | .s as $s | [$j[] | .f | select(. <= $s)] | max | select(. != null) | $s - .' <<<"$detail" >>"$WORK/gaps"
    while read -r job_id started finished; do
        curl -fs "$API/api/jobs/$job_id/log" | jq -R -s -r --argjson s "$started" --argjson f "$finished" "$JQ_MS"'
            def at(re): [split("\n")[] | select(test(re)) | .[0:24] | ms] | first;
            [at(" == job [0-9]+ of run "), at(" == copied "), at(" == container [0-9a-f]+ started "), at(" == phase "),
             at(" == step [0-9]+/[0-9]+ [^ ]+: ")] as [$open, $copied, $up, $phase, $step]
            | [$open - $s, $copied - $open, $up - $copied, $phase - $up, $step - $phase, $f - $step] | @tsv' >>"$WORK/stages"
    done < <(jq -r "$JQ_MS"'.jobs[] | "\(.id) \(.startedAt | ms) \(.finishedAt | ms)"' <<<"$detail")
done <"$WORK/runs"
stage() { awk -v c="$1" '{ print $c }' "$WORK/stages" | median; }
echo "latency: one job, medians over $(wc -l <"$WORK/stages") jobs (ms): record $(stage 1), create $(stage 2), start $(stage 3)," \
    "script $(stage 4), step $(stage 5), finish $(stage 6); slot gap $(median <"$WORK/gaps") (median of $(wc -l <"$WORK/gaps"), max $(sort -n "$WORK/gaps" | tail -1))"
echo "latency: median of the per-push ratios $(awk '{ print $2 / $8 }' "$WORK/figures" | median | xargs printf '%.2f')"
echo "latency: $(machine)"
printf 'latency: cirunner=%ss plain=%ss ratio=%.2f\n' "$(seconds "$(col 2)")" "$(seconds "$(col 8)")" "$(awk -v a="$(col 2)" -v b="$(col 8)" 'BEGIN { print a / b }')"
