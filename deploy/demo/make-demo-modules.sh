#!/usr/bin/env bash
# Makes git repositories of real puppet-openstack modules, offline, from Debian 12's packages.
#
# Debian bookworm ships the puppet-openstack modules for OpenStack Zed (21.0.0) and their
# dependencies. This downloads those packages (no installation on this machine), unpacks them and
# commits each module into a bare repository on the branch "unmaintained/zed" (where upstream keeps
# Zed today) and on "master".
#
# So that the demo has an upgrade path, each repository also gets a branch "stable/2023.1": Debian 12
# has no 2023.1 modules, so that branch is the Zed code plus one demo commit (a DEMO-RELEASE.md note
# saying exactly this). It is NOT upstream's 2023.1 code; the upgrade cell zed -> 2023.1 it enables
# exercises CiRunner's upgrade path (deploy phase, upgrade phase, per-phase lockfile), not OpenStack's. Repositories are named as upstream names them: OpenStack modules
# DIR/remotes/puppet-<name>.git, others DIR/remotes/<author>-<name>.git (puppetlabs-stdlib.git).
#
# usage: make-demo-modules.sh DIR [package ...]   (default: keystone and what it needs)
set -euo pipefail

dir="${1:?usage: make-demo-modules.sh DIR [package ...]}"
shift
roots=("$@")
[ "${#roots[@]}" -gt 0 ] || roots=(puppet-module-keystone puppet-module-glance)

log() { printf 'demo-modules: %s\n' "$*"; }

mkdir -p "$dir/remotes" "$dir/debs"
dir="$(cd "$dir" && pwd)"

# Every puppet-module-* package the roots depend on, transitively.
declare -A seen=()
queue=("${roots[@]}")
while [ "${#queue[@]}" -gt 0 ]; do
  package="${queue[0]}"
  queue=("${queue[@]:1}")
  [ -n "${seen[$package]:-}" ] && continue
  seen[$package]=1
  while read -r dependency; do
    [ -n "$dependency" ] && [ -z "${seen[$dependency]:-}" ] && queue+=("$dependency")
  done < <(apt-cache depends "$package" 2>/dev/null | sed -n 's/^ *Depends: \(puppet-module-[a-z0-9-]*\).*/\1/p')
done
packages=("${!seen[@]}")
if [ "${#packages[@]}" -eq 0 ] || ! apt-cache show "${roots[0]}" >/dev/null 2>&1; then
  echo "demo-modules: apt does not know ${roots[0]}; run 'apt-get update' first" >&2
  exit 1
fi

log "downloading ${#packages[@]} packages: ${packages[*]}"
(cd "$dir/debs" && apt-get download -o APT::Sandbox::User=root "${packages[@]}" >/dev/null)

unpacked="$(mktemp -d)"
trap 'rm -rf "$unpacked"' EXIT
mkdir -p "$unpacked/modules"
for deb in "$dir"/debs/*.deb; do
  one="$unpacked/$(basename "$deb" .deb)"
  dpkg-deb -x "$deb" "$one"
  for module_dir in "$one"/usr/share/puppet/modules.available/*/; do
    # Debian moves a module's external facts (facts.d/) to /etc/facter/facts.d; upstream keeps them
    # in the module, where CiRunner installs them from. Put them back.
    if [ -d "$one/etc/facter/facts.d" ]; then
      mkdir -p "$module_dir/facts.d"
      cp "$one"/etc/facter/facts.d/* "$module_dir/facts.d/"
    fi
    mv "$module_dir" "$unpacked/modules/"
  done
done

export GIT_AUTHOR_NAME="CiRunner demo" GIT_AUTHOR_EMAIL="demo@cirunner.invalid"
export GIT_COMMITTER_NAME="$GIT_AUTHOR_NAME" GIT_COMMITTER_EMAIL="$GIT_AUTHOR_EMAIL"
export GIT_AUTHOR_DATE="2022-10-20T19:49:00Z" GIT_COMMITTER_DATE="2022-10-20T19:49:00Z"

# The demo's stable/2023.1: Zed's code and a note that says so (see the top of this file).
add_demo_release_branch() {
  local remote="$1" repository="$2" work
  git -C "$remote" rev-parse -q --verify refs/heads/stable/2023.1 >/dev/null && return 0
  work="$(mktemp -d)"
  git clone -q -b unmaintained/zed "$remote" "$work"
  git -C "$work" checkout -q -b stable/2023.1
  cat > "$work/DEMO-RELEASE.md" <<'NOTE'
# Demo branch, not upstream code

This branch exists only in CiRunner's offline demo. It is the Zed module code packaged by Debian 12,
plus this note: Debian 12 ships no OpenStack 2023.1 modules. It lets the demo show an upgrade cell
(zed -> 2023.1) whose phases install two different module sets; it says nothing about upstream's
2023.1 code.
NOTE
  git -C "$work" add DEMO-RELEASE.md
  GIT_AUTHOR_DATE="2023-03-22T12:00:00Z" GIT_COMMITTER_DATE="2023-03-22T12:00:00Z" \
    git -C "$work" commit -q -m "Demo only: stable/2023.1 is the Zed code plus this note (not upstream 2023.1)"
  git -C "$work" push -q origin stable/2023.1
  rm -rf "$work"
  log "$repository: demo branch stable/2023.1 (Zed code + a note)"
}

for module_dir in "$unpacked"/modules/*/; do
  name="$(basename "$module_dir")"
  case "$name" in
    *-*) repository="$name" ;;
    *) repository="puppet-$name" ;;
  esac
  remote="$dir/remotes/$repository.git"
  if [ -d "$remote" ]; then
    log "$repository exists, kept"
    add_demo_release_branch "$remote" "$repository"
    continue
  fi
  work="$(mktemp -d)"
  cp -a "$module_dir/." "$work/"
  version="$(sed -n 's/.*"version": *"\([^"]*\)".*/\1/p' "$work/metadata.json" | head -n 1)"
  git -C "$work" init -q -b unmaintained/zed
  git -C "$work" add -A
  git -C "$work" commit -q -m "Import $repository $version from Debian 12"
  git -C "$work" branch master
  git init -q --bare "$remote"
  git -C "$work" push -q "$remote" unmaintained/zed master
  git -C "$remote" symbolic-ref HEAD refs/heads/master
  rm -rf "$work"
  log "$repository $version -> $remote"
  add_demo_release_branch "$remote" "$repository"
done
