#!/usr/bin/env bash
# Polls: CiRunner's poller (the real ModulePoller, Release build) over 50 module repositories, against loops of
# `git ls-remote` and `git fetch` over the same repositories, in the same run. Each repository is a bare repository
# with 3 branches (master, stable/2024.1, stable/2024.2, all tracked), mirrored by a first poll as the service does.
# Each round measures, back to back and in an order that turns from round to round:
#   nochange   one poll of all 50 modules with nothing new, one ls-remote loop, one fetch loop;
#   onechange  the same after one new commit on master of one repository (a different one each round).
# The poller stays up between measurements, as the service does; the shell loops start one git process per repository.
# Ratios are CiRunner's time for the 50 polls over the ls-remote loop's time for the 50 repositories; the reported
# ratio is the median of the rounds' ratios, which one disturbed round cannot move.
# The last line is: poll/ls-remote ratio: nochange=<x> onechange=<y>
#
# Environment: ROUNDS (default 7), MODULES (default 50), WARMUP (untimed rounds of polls of every module before the
#              first measurement, default 10), KEEP=1 keeps the temp folder.
# Needs: the .NET SDK and git.
set -euo pipefail

ROUNDS=${ROUNDS:-7}
MODULES=${MODULES:-50}
WARMUP=${WARMUP:-10}
ROOT=$(cd "$(dirname "$0")/.." && pwd)
BENCH="$ROOT/bench/PollBench/bin/Release/net10.0/PollBench"

for tool in git dotnet; do
    command -v "$tool" >/dev/null || { echo "poll: $tool is missing" >&2; exit 1; }
done

WORK=$(mktemp -d /tmp/cirunner-bench-poll-XXXXXX)
POLLER_PROCESS=""
cleanup() {
    if [ -n "$POLLER_PROCESS" ] && kill -0 "$POLLER_PROCESS" 2>/dev/null; then kill "$POLLER_PROCESS" 2>/dev/null || true; fi
    if [ "${KEEP:-0}" = 1 ]; then echo "poll: kept $WORK"; else rm -rf "$WORK"; fi
}
trap cleanup EXIT

# shellcheck source=bench/lib/modules.sh
. "$ROOT/bench/lib/modules.sh"
name_of() { module_name "$1" "$MODULES"; }
now_us() { echo $(( $(date +%s%N) / 1000 )); }
git_quiet() { bench_git "$@"; }

echo "poll: building PollBench (Release)"
dotnet build -c Release "$ROOT/bench/PollBench" -v q --nologo >/dev/null

# 50 bare repositories with 3 branches each, and beside each a bare repository for the shell's fetch loop.
echo "poll: making $MODULES repositories in $WORK"
make_modules "$WORK" "$MODULES"
mkdir -p "$WORK/shell"
for i in $(seq "$MODULES"); do
    git init -q --bare "$WORK/shell/$(name_of "$i").git"
done
cat >"$WORK/appsettings.json" <<EOF
{
  "Service": { "InstanceId": "bench-poll", "DataDirectory": "data", "ScenariosDirectory": "scenarios" },
  "Modules": [ $MODULES_JSON ],
  "Releases": [ { "Name": "zed", "Branches": ["master"], "Image": "cirunner/base:bookworm" } ],
  "Retention": { "Enabled": false },
  "Logging": { "LogLevel": { "Default": "Warning" } }
}
EOF

# Paths worked out before any clock runs, so the loops time git alone.
REMOTES=() SHELL_MIRRORS=()
for i in $(seq "$MODULES"); do
    REMOTES+=("$WORK/remotes/puppet-$(name_of "$i").git")
    SHELL_MIRRORS+=("$WORK/shell/$(name_of "$i").git")
done
ls_remote_loop() {
    local i
    for i in "${!REMOTES[@]}"; do git ls-remote "${REMOTES[$i]}" >/dev/null; done
}
# What the poller fetches: every branch, pruned, no tags.
fetch_loop() {
    local i
    for i in "${!REMOTES[@]}"; do
        git --git-dir="${SHELL_MIRRORS[$i]}" fetch -q --prune --no-tags "${REMOTES[$i]}" '+refs/heads/*:refs/heads/*'
    done
}
timed_us() {
    local start end
    start=$(now_us)
    "$@"
    end=$(now_us)
    echo $(( end - start ))
}

fetch_loop # the shell's mirrors, as the poller's first poll makes its own

# The poller stays up (as the service does) and polls all modules for each "poll" it reads.
coproc POLLER { "$BENCH" "$WORK/appsettings.json" "$WARMUP"; }
POLLER_PROCESS=$POLLER_PID # bash unsets POLLER_PID once the coprocess ends
read -r ready <&"${POLLER[0]}" || { echo "poll: PollBench did not start" >&2; exit 1; }
echo "poll: $ready, $ROUNDS rounds, $(nproc) cores, $(git --version)"

# One poll of all modules; checks that it fetched exactly what it should have, prints its wall time in microseconds.
poller_us() {
    local expect_fetched=$1 reply us fetched changes failed
    echo poll >&"${POLLER[1]}"
    read -r reply <&"${POLLER[0]}" || { echo "poll: PollBench ended" >&2; exit 1; }
    us=$(sed -n 's/.* us=\([0-9]*\) .*/\1/p' <<<"$reply")
    fetched=$(sed -n 's/.* fetched=\([0-9]*\) .*/\1/p' <<<"$reply")
    changes=$(sed -n 's/.* changes=\([0-9]*\) .*/\1/p' <<<"$reply")
    failed=$(sed -n 's/.* failed=\([0-9]*\) .*/\1/p' <<<"$reply")
    if [ "$fetched" != "$expect_fetched" ] || [ "$changes" != "$expect_fetched" ] || [ "$failed" != 0 ]; then
        echo "poll: expected $expect_fetched fetch and change, got: $reply" >&2
        exit 1
    fi
    [ "$round" = 0 ] || echo "$reply" >>"$WORK/poller.log"
    echo "$us"
}

# A push to one repository: a commit on master with a changed file, written straight into the bare repository.
push_one() {
    local repo=${REMOTES[$(( $1 - 1 ))]} blob tree commit
    blob=$(echo "round $2" | git --git-dir="$repo" hash-object -w --stdin)
    tree=$( (git --git-dir="$repo" ls-tree master | grep -v $'\tNOTES$'; printf '100644 blob %s\tNOTES\n' "$blob") | git --git-dir="$repo" mktree)
    commit=$(git_quiet --git-dir="$repo" commit-tree "$tree" -p master -m "round $2")
    git --git-dir="$repo" update-ref refs/heads/master "$commit"
}

ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.4f", a / b }'; }
median() { tr ' ' '\n' | grep . | sort -g | awk '{ v[NR] = $1 } END { printf "%.2f", (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }
median_ms() { median | awk '{ printf "%.1f", $1 / 1000 }'; }

declare -A ratios=([nochange]="" [onechange]="") fetch_ratios=([nochange]="" [onechange]="")
declare -A poll_all=([nochange]="" [onechange]="") ls_all=([nochange]="" [onechange]="") fetch_all=([nochange]="" [onechange]="")
# Round 0 is not counted: the poller's first fetch and run of the process, and the shell loops' first reads, are
# paid there (the service pays them once, not per poll).
for round in $(seq 0 "$ROUNDS"); do
    for case in nochange onechange; do
        expect=0
        if [ "$case" = onechange ]; then
            push_one $(( round % MODULES + 1 )) "$round"
            expect=1
        fi
        # The three measurements in an order that turns each round, so drift in the machine's load hits all alike.
        case $(( round % 3 )) in
            1) p=$(poller_us $expect); l=$(timed_us ls_remote_loop); f=$(timed_us fetch_loop) ;;
            2) l=$(timed_us ls_remote_loop); f=$(timed_us fetch_loop); p=$(poller_us $expect) ;;
            0) f=$(timed_us fetch_loop); p=$(poller_us $expect); l=$(timed_us ls_remote_loop) ;;
        esac
        if [ "$round" = 0 ]; then
            continue
        fi
        ratios[$case]+="$(ratio "$p" "$l") "
        fetch_ratios[$case]+="$(ratio "$f" "$l") "
        poll_all[$case]+="$p "
        ls_all[$case]+="$l "
        fetch_all[$case]+="$f "
        printf 'round %d %-9s  poller %7.1f ms (%5.2f ms/module)  ls-remote %7.1f ms (%5.2f ms/repo)  fetch %7.1f ms (%5.2f ms/repo)\n' \
            "$round" "$case" "$(ratio "$p" 1000)" "$(ratio "$p" $(( 1000 * MODULES )))" "$(ratio "$l" 1000)" \
            "$(ratio "$l" $(( 1000 * MODULES )))" "$(ratio "$f" 1000)" "$(ratio "$f" $(( 1000 * MODULES )))"
    done
done
exec {POLLER[1]}>&-
wait "$POLLER_PROCESS" || { echo "poll: PollBench failed" >&2; exit 1; }

for case in nochange onechange; do
    printf 'median %-9s  poller %s ms  ls-remote %s ms  fetch %s ms  (fetch/ls-remote %s)\n' "$case" \
        "$(median_ms <<<"${poll_all[$case]}")" "$(median_ms <<<"${ls_all[$case]}")" \
        "$(median_ms <<<"${fetch_all[$case]}")" "$(median <<<"${fetch_ratios[$case]}")"
done
# The poller's own histogram (cirunner_poll_duration_seconds), and the one write the service makes every 10 s for
# the polls that found nothing new, taken after each measurement's clock stopped.
awk '{ for (i = 1; i <= NF; i++) { split($i, kv, "="); v[kv[1]] = kv[2] } k = v["changes"] ? "onechange" : "nochange"
       n[k]++; m[k] += v["metric_mean_us"]; w[k] += v["flush_us"] }
     END { for (k in n) printf "mean %-9s  cirunner.poll.duration %.2f ms per poll, quiet-poll write %.2f ms\n", k, m[k] / n[k] / 1000, w[k] / n[k] / 1000 }' \
    "$WORK/poller.log" | sort -r
echo "poll/ls-remote ratio: nochange=$(median <<<"${ratios[nochange]}") onechange=$(median <<<"${ratios[onechange]}")"
