#!/usr/bin/env bash
# Writes the offline demo's configuration into DIR: appsettings.json, the module sets of its two releases
# pointing at the repositories make-demo-modules.sh made in DIR/remotes, and the scenarios the demo runs.
#
#   zed     Debian 12's modules (21.0.0) on unmaintained/zed, image cirunner/release:zed (bookworm)
#   2024.2  Debian 13's modules (25.0.0) on stable/2024.2, image cirunner/release:2024.2 (trixie), with a
#           package snapshot so that the upgrade cell zed -> 2024.2 moves the node's packages too, offline
#
# Both releases boot systemd in their job containers, as a node does. Paths are absolute, so the files work
# from any working directory.
#
# What a trigger of keystone yields (the Matrix section below): the quick noop cells (keystone-noop and
# glance-noop deployed on the branch's release), keystone-glance deployed on it, and on stable/2024.2 the
# upgrade cell zed -> 2024.2 of keystone-glance plus one rollback cell after it, and keystone-db deployed on the
# branch's release (its idempotency step shows a real finding of the module set). The noop scenarios' own upgrade
# cells (each would upgrade every package of the node first) are left out; --all-cells keeps every cell the
# scenarios ask for (also what `cirunner run` can run).
#
# usage: write-demo-config.sh DIR [--all-cells]
set -euo pipefail
[ -d "${1:?usage: write-demo-config.sh DIR [--all-cells]}" ] || { echo "demo-config: $1 does not exist; run make-demo-modules.sh $1 first" >&2; exit 1; }
dir="$(cd "$1" && pwd)"
all_cells=0
case "${2:-}" in
  "") ;;
  --all-cells) all_cells=1 ;;
  *) echo "demo-config: unknown option '$2' (usage: write-demo-config.sh DIR [--all-cells])" >&2; exit 2 ;;
esac
repo="$(cd "$(dirname "$0")/../.." && pwd)"
remotes="$dir/remotes"

log() { printf 'demo-config: %s\n' "$*"; }
[ -d "$remotes/puppet-keystone.git" ] || { echo "demo-config: $remotes has no puppet-keystone.git; run make-demo-modules.sh first" >&2; exit 1; }

# The scenarios: quick ones (catalogs applied with --noop) and the real ones (services deployed and used).
quick=(keystone-noop glance-noop)
real=(keystone-glance keystone-db)
rm -rf "$dir/scenarios"
mkdir -p "$dir/scenarios/puppetfiles"

# The paths a scenario file lists under `files:` (flow [a, b] or block "- a" form), one a line.
listed_files() {
  awk '
    function emit(list,   n, i, items) {
      gsub(/[][]/, "", list); n = split(list, items, ",")
      for (i = 1; i <= n; i++) { gsub(/^[ \t"'\'']+|[ \t"'\'']+$/, "", items[i]); if (items[i] != "") print items[i] }
    }
    /^files:/ { rest = $0; sub(/^files:[ \t]*/, "", rest); sub(/[ \t]+#.*$/, "", rest); if (rest != "") emit(rest); else block = 1; next }
    block && /^[ \t]*-/ { item = $0; sub(/^[ \t]*-[ \t]*/, "", item); sub(/[ \t]+#.*$/, "", item); emit(item); next }
    block && /^[ \t]*(#.*)?$/ { next }
    { block = 0 }' "$1"
}

# A scenario is its file scenarios/<name>.yaml with whatever else is named after it (<name>.pp, a folder
# <name>/ of scripts) and every file its `files:` lists, copied with their paths relative to scenarios/.
copy_scenario() {
  local name="$1" source="$repo/scenarios" file
  [ -f "$source/$name.yaml" ] || return 1
  cp -R "$source/$name".* "$dir/scenarios/"
  [ ! -d "$source/$name" ] || cp -R "$source/$name" "$dir/scenarios/"
  while IFS= read -r file; do
    case "$file" in /* | *..*) continue ;; esac   # validate names what is wrong with such a path
    [ -e "$source/$file" ] || continue            # and with a missing one
    mkdir -p "$dir/scenarios/$(dirname "$file")"
    cp -R "$source/$file" "$dir/scenarios/$file"
  done < <(listed_files "$source/$name.yaml")
}

for name in "${quick[@]}"; do
  copy_scenario "$name" || { echo "demo-config: $repo/scenarios/$name.yaml is missing" >&2; exit 1; }
done
present=()
for name in "${real[@]}"; do
  if copy_scenario "$name"; then
    present+=("$name")
  else
    log "warning: $repo/scenarios/$name.yaml is not there yet: the demo runs without scenario $name"
  fi
done
has() { [[ " ${present[*]} " == *" $1 "* ]]; }

# Each release's module set: every demo repository that has the release's branch, pinned to it.
write_puppetfile() {
  local release="$1" branch="$2" comment="$3" remote repository count=0
  {
    echo "# Module set of the offline demo's release $release: $comment"
    echo "# (deploy/demo/make-demo-modules.sh made the repositories; write-demo-config.sh wrote this file)."
    echo
    for remote in "$remotes"/*.git; do
      git --git-dir="$remote" rev-parse -q --verify "refs/heads/$branch" >/dev/null || continue
      repository="$(basename "$remote" .git)"
      printf "mod '%s',\n  :git => '%s',\n  :ref => '%s'\n\n" "${repository#puppet-}" "$remote" "$branch"
      count=$((count + 1))
    done
  } > "$dir/scenarios/puppetfiles/$release.Puppetfile"
  [ "$count" -gt 0 ] || { echo "demo-config: no repository in $remotes has the branch $branch; run make-demo-modules.sh first" >&2; exit 1; }
  log "$release.Puppetfile: $count modules at $branch"
}
write_puppetfile zed unmaintained/zed "Debian 12's puppet-openstack modules for OpenStack Zed (21.0.0)"
write_puppetfile 2024.2 stable/2024.2 "Debian 13's puppet-openstack modules of the 2024.2 line (25.0.0)"

# The Matrix section: exactly the cells the demo means to run (see the top of this file).
exclude=()
include=()
if [ "$all_cells" -eq 0 ]; then
  exclude+=('{ "Kind": "upgrade", "Scenario": "*-noop" }')
fi
has keystone-glance && include+=('{ "Kind": "rollback", "FromRelease": "zed", "Release": "2024.2", "Scenario": "keystone-glance" }')
json_array() {
  local out="" item
  for item in "$@"; do out="${out:+$out, }$item"; done
  printf '[%s]' "${out:+ $out }"
}

cat > "$dir/appsettings.json" <<JSON
{
  "Service": {
    "InstanceId": "demo",
    "DataDirectory": "$dir",
    "ScenariosDirectory": "$dir/scenarios",
    "ImageRecipesDirectory": "$repo/deploy/images"
  },
  "Modules": [
    { "Name": "keystone", "Url": "$remotes/puppet-keystone.git", "Branches": ["master", "stable/*", "unmaintained/*"] },
    { "Name": "glance", "Url": "$remotes/puppet-glance.git", "Branches": ["master", "stable/*", "unmaintained/*"] }
  ],
  "Releases": [
    { "Name": "zed", "Branches": ["unmaintained/zed", "zed-eol"], "Image": "cirunner/release:zed", "Suite": "bookworm", "Init": "systemd" },
    { "Name": "2024.2", "Branches": ["stable/2024.2"], "Image": "cirunner/release:2024.2", "Suite": "trixie", "Init": "systemd", "PackageSnapshot": true }
  ],
  "Matrix": {
    "Exclude": $(json_array "${exclude[@]}"),
    "Include": $(json_array "${include[@]}")
  },
  "Docker": { "ParallelJobs": 2, "MemoryMb": 4096, "JobTimeout": "01:30:00" },
  "Schedule": { "PollInterval": "00:01:00" },
  "Http": { "Listen": "http://127.0.0.1:8080" },
  "Logging": { "LogLevel": { "Default": "Information", "Microsoft.AspNetCore": "Warning", "Quartz": "Warning" } }
}
JSON
log "wrote $dir/appsettings.json (scenarios: ${quick[*]}${present[*]:+ ${present[*]}})"
