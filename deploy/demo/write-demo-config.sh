#!/usr/bin/env bash
# Writes the offline demo's configuration into DIR: appsettings.json, the zed and 2023.1 module sets pointing
# at the repositories make-demo-modules.sh made in DIR/remotes, and the scenarios the demo runs.
# The demo release 2023.1 uses the zed image: an upgrade job runs in one container from the target release's
# image, and the demo has only Debian 12's (Zed) packages.
# Paths are absolute, so the files work from any working directory.
#
# usage: write-demo-config.sh DIR
set -euo pipefail
dir="$(cd "${1:?usage: write-demo-config.sh DIR}" && pwd)"
repo="$(cd "$(dirname "$0")/../.." && pwd)"
remotes="$dir/remotes"

[ -d "$remotes/puppet-keystone.git" ] || { echo "demo-config: $remotes has no puppet-keystone.git; run make-demo-modules.sh first" >&2; exit 1; }

mkdir -p "$dir/scenarios/puppetfiles"
cp "$repo"/scenarios/keystone-noop.{yaml,pp} "$repo"/scenarios/glance-noop.{yaml,pp} "$dir/scenarios/"

# Every module the demo repositories hold, pinned to the branch upstream keeps Zed on.
{
  echo "# Module set of the offline demo: Debian 12's puppet-openstack modules for OpenStack Zed."
  for remote in "$remotes"/*.git; do
    repository="$(basename "$remote" .git)"
    printf "mod '%s',\n  :git => '%s',\n  :ref => 'unmaintained/zed'\n\n" "${repository#puppet-}" "$remote"
  done
} > "$dir/scenarios/puppetfiles/zed.Puppetfile"

# The demo release 2023.1: the same repositories on the demo branch stable/2023.1 (Zed's code plus a note,
# see make-demo-modules.sh), so that keystone-noop and glance-noop get an upgrade cell zed -> 2023.1.
{
  echo "# Module set of the demo release 2023.1: the demo branch stable/2023.1 (Zed's code plus a note; not upstream 2023.1)."
  for remote in "$remotes"/*.git; do
    repository="$(basename "$remote" .git)"
    printf "mod '%s',\n  :git => '%s',\n  :ref => 'stable/2023.1'\n\n" "${repository#puppet-}" "$remote"
  done
} > "$dir/scenarios/puppetfiles/2023.1.Puppetfile"

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
    { "Name": "zed", "Branches": ["unmaintained/zed", "zed-eol"], "Image": "cirunner/release:zed" },
    { "Name": "2023.1", "Branches": ["stable/2023.1"], "Image": "cirunner/release:zed" }
  ],
  "Docker": { "ParallelJobs": 2 },
  "Schedule": { "PollInterval": "00:01:00" },
  "Http": { "Listen": "http://127.0.0.1:8080" },
  "Logging": { "LogLevel": { "Default": "Information", "Microsoft.AspNetCore": "Warning", "Quartz": "Warning" } }
}
JSON
echo "demo-config: wrote $dir/appsettings.json"
