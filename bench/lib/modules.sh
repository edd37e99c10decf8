# Sourced by the benchmarks that need many modules (poll.sh, idle.sh) or one made the same way (latency.sh).
#
# make_modules WORK COUNT: COUNT bare module repositories under $WORK/remotes (puppet-m01.git ...), each with three
# branches (master, stable/2024.1, stable/2024.2); a zed Puppetfile naming them under $WORK/scenarios/puppetfiles;
# and a one-step scenario `tick` (`true`) that needs them all. Sets MODULES_JSON (the items of a Modules array, every
# branch tracked) and MODULE_NAMES (m01, m02, ...).

# Module name number $1 of $2, as wide as the count.
module_name() { printf 'm%0*d' "${#2}" "$1"; }

bench_git() { git -c user.name=bench -c user.email=bench@example.invalid "$@"; }

make_modules() {
    local work_root=$1 count=$2 i name work branch
    mkdir -p "$work_root/remotes" "$work_root/scenarios/puppetfiles"
    MODULES_JSON=""
    MODULE_NAMES=""
    : >"$work_root/scenarios/puppetfiles/zed.Puppetfile"
    for i in $(seq "$count"); do
        name=$(module_name "$i" "$count")
        work="$work_root/work-$name"
        git init -q -b master "$work"
        mkdir -p "$work/manifests"
        printf '{"name":"bench-%s","version":"1.0.0","author":"bench","summary":"bench module","license":"Apache-2.0","source":"https://example.invalid/%s","dependencies":[]}\n' "$name" "$name" >"$work/metadata.json"
        printf 'class %s {\n  notify { "%s": }\n}\n' "$name" "$name" >"$work/manifests/init.pp"
        git -C "$work" add -A
        bench_git -C "$work" commit -q -m initial
        for branch in stable/2024.1 stable/2024.2; do
            git -C "$work" checkout -q -b "$branch" master
            echo "$branch" >"$work/BRANCH"
            git -C "$work" add BRANCH
            bench_git -C "$work" commit -q -m "$branch"
        done
        git clone -q --bare "$work" "$work_root/remotes/puppet-$name.git"
        rm -rf "$work"
        printf "mod '%s',\n  :git => '%s',\n  :ref => 'master'\n\n" "$name" "$work_root/remotes/puppet-$name.git" >>"$work_root/scenarios/puppetfiles/zed.Puppetfile"
        MODULES_JSON+="${MODULES_JSON:+,}{\"Name\":\"$name\",\"Url\":\"$work_root/remotes/puppet-$name.git\",\"Branches\":[\"master\",\"stable/*\"]}"
        MODULE_NAMES+="${MODULE_NAMES:+, }$name"
    done
    echo "notify { 'tick': }" >"$work_root/scenarios/tick.pp"
    cat >"$work_root/scenarios/tick.yaml" <<YAML
name: tick
manifest: tick.pp
modules: [$MODULE_NAMES]
steps:
  - type: command
    name: tick
    command: ['true']
YAML
}
