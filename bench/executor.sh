#!/usr/bin/env bash
# Trivial jobs (one `true` command step) through CiRunner's executor, and the same number as
# `docker run --rm --network none` from the shell, in the same run, at parallelism 1 and 2.
# Rounds alternate which side goes first, and each round compares two measurements taken back to back, so
# drift in the machine's load hits both sides alike; the ratio reported is the median of the rounds' ratios,
# which one disturbed round cannot move.
# The last line is: executor/cli wall ratio: P1=<x> P2=<y>
#
# Environment: N (jobs per measurement, default 20), ROUNDS (default 5),
#              IMAGE (default cirunner/bench-busybox:latest, built here from Debian's busybox-static),
#              DOCKER_ENDPOINT (default unix:///var/run/docker.sock).
set -euo pipefail

N=${N:-20}
ROUNDS=${ROUNDS:-5}
IMAGE=${IMAGE:-cirunner/bench-busybox:latest}
ENDPOINT=${DOCKER_ENDPOINT:-unix:///var/run/docker.sock}
ROOT=$(cd "$(dirname "$0")/.." && pwd)
BENCH="$ROOT/bench/ExecutorBench/bin/Release/net10.0/ExecutorBench"

build_image() {
    # A busybox-style image without a registry: Debian's static busybox, imported as a one-file rootfs.
    local work
    work=$(mktemp -d)
    trap 'rm -rf "$work"' RETURN
    (cd "$work" && apt-get download busybox-static >/dev/null)
    dpkg-deb -x "$work"/busybox-static_*.deb "$work/root"
    mkdir -p "$work/root/tmp"
    for applet in sh true sleep rm cat echo; do ln -sf busybox "$work/root/bin/$applet"; done
    tar -C "$work/root" -c . | docker import --change 'LABEL cirunner.bench=true' - "$IMAGE" >/dev/null
}

now_ms() { echo $(( $(date +%s%N) / 1000000 )); }

executor_ms() {
    "$BENCH" "$N" "$1" "$IMAGE" "$ENDPOINT" | sed -n 's/^executor wall_ms=\([0-9]*\).*/\1/p'
}

cli_ms() {
    local start end
    start=$(now_ms)
    seq "$N" | xargs -P "$1" -I{} docker run --rm --network none "$IMAGE" true
    end=$(now_ms)
    echo $(( end - start ))
}

docker image inspect "$IMAGE" >/dev/null 2>&1 || build_image
dotnet build -c Release "$ROOT/bench/ExecutorBench" -v q --nologo >/dev/null

declare -A executor_total=([1]=0 [2]=0) cli_total=([1]=0 [2]=0) ratios=([1]="" [2]="")
echo "N=$N jobs per measurement, $ROUNDS rounds, image $IMAGE, $(nproc) cores"
for round in $(seq "$ROUNDS"); do
    for p in 1 2; do
        if (( round % 2 )); then
            e=$(executor_ms "$p"); c=$(cli_ms "$p")
        else
            c=$(cli_ms "$p"); e=$(executor_ms "$p")
        fi
        executor_total[$p]=$(( executor_total[$p] + e ))
        cli_total[$p]=$(( cli_total[$p] + c ))
        ratios[$p]+="$(awk -v a="$e" -v b="$c" 'BEGIN { printf "%.4f", a / b }') "
        printf 'round %d P%d: executor %5d ms (%3d ms/job)  cli %5d ms (%3d ms/job)\n' "$round" "$p" "$e" $(( e / N )) "$c" $(( c / N ))
    done
done

median() { tr ' ' '\n' | grep . | sort -g | awk '{ v[NR] = $1 } END { printf "%.2f", (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }
for p in 1 2; do
    printf 'total P%d: executor %d ms, cli %d ms (ratio of totals %s)\n' "$p" "${executor_total[$p]}" "${cli_total[$p]}" \
        "$(awk -v a="${executor_total[$p]}" -v b="${cli_total[$p]}" 'BEGIN { printf "%.2f", a / b }')"
done
echo "executor/cli wall ratio: P1=$(median <<<"${ratios[1]}") P2=$(median <<<"${ratios[2]}")"
