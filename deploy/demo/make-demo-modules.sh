#!/usr/bin/env bash
# Makes git repositories of real puppet-openstack modules, offline, from Debian's packages: one branch per
# real release, as upstream keeps them.
#
#   unmaintained/zed  Debian 12 (bookworm): the modules for OpenStack Zed (keystone, glance ... 21.0.0)
#   stable/2024.2     Debian 13 (trixie): the 2024.2 module line (keystone, glance ... 25.0.0)
#   master            the newest of them
#
# It downloads the packages (nothing is installed on this machine), unpacks them and commits each module into
# a bare repository DIR/remotes/<repository>.git. The history is shaped like upstream's: the 2024.2 import
# commit's parent is the Zed import commit (upstream branched Zed off master long before 2024.2), dated
# 2022-10 and 2024-10, so that `git log stable/2024.2` shows Zed's code, then 2024.2's. A module that one
# release does not have gets no branch for it (its first import is a root commit). When Debian 13 ships the
# very same code as Debian 12 (puppetlabs-concat 7.3.1, for example), stable/2024.2 is the Zed import commit.
#
# Each suite is read through a private apt state in DIR/apt/<suite> (sources, lists, cache): the host's apt
# configuration and lists are neither read for sources nor changed. Release files are verified with Debian's
# archive keyring; an unverifiable suite is an error, never trusted silently.
#
# Repositories are named as upstream names them: OpenStack modules DIR/remotes/puppet-<name>.git, others
# DIR/remotes/<author>-<name>.git (puppetlabs-stdlib.git; a Puppetfile's `mod 'puppetlabs-stdlib'` is the
# module `stdlib`). Re-runs are idempotent: an existing repository gains the branches it lacks, an existing
# branch is kept (your demo commits stay), except that a master still at an older import of this script moves
# forward to the newest, and the old demo's fake branch stable/2023.1 (Zed code plus DEMO-RELEASE.md) is removed.
#
# usage: make-demo-modules.sh DIR [package ...]
#   packages: the roots; their puppet-module-* dependencies come along, per release (default: keystone,
#   glance, puppetlabs-mysql, puppetlabs-apache, saz-memcached)
# environment: DEMO_MIRROR (default http://deb.debian.org/debian),
#              DEMO_KEYRING (default /usr/share/keyrings/debian-archive-keyring.gpg)
set -euo pipefail

dir="${1:?usage: make-demo-modules.sh DIR [package ...]}"
shift
roots=("$@")
[ "${#roots[@]}" -gt 0 ] || roots=(puppet-module-keystone puppet-module-glance puppet-module-puppetlabs-mysql
  puppet-module-puppetlabs-apache puppet-module-saz-memcached)
mirror="${DEMO_MIRROR:-http://deb.debian.org/debian}"
keyring="${DEMO_KEYRING:-/usr/share/keyrings/debian-archive-keyring.gpg}"

# suite | branch | label | date of the import commit (oldest release first; the last one is also master)
releases=(
  "bookworm|unmaintained/zed|Debian 12 (bookworm)|2022-10-20T19:49:00Z"
  "trixie|stable/2024.2|Debian 13 (trixie)|2024-10-09T12:00:00Z"
)

log() { printf 'demo-modules: %s\n' "$*"; }
die() { printf 'demo-modules: %s\n' "$*" >&2; exit 1; }

for tool in git apt-get apt-cache dpkg-deb; do
  command -v "$tool" >/dev/null || die "$tool is missing (apt-get install git apt dpkg)"
done
[ -r "$keyring" ] || die "no Debian archive keyring at $keyring (apt-get install debian-archive-keyring, or set DEMO_KEYRING)"

mkdir -p "$dir/remotes" "$dir/debs" "$dir/apt"
dir="$(cd "$dir" && pwd)"
rm -f "$dir"/debs/*.deb   # the earlier demo's downloads (Debian 12 only); each suite has its folder now
work="$(mktemp -d)"
trap 'rm -rf "$work"; rm -f "$dir"/apt/*/cache/*.bin' EXIT

# A private apt state for one suite: its own sources, lists and cache; the host's sources, pinning and update
# hooks are left out (its package cache files are on: each apt-cache call would parse the lists again; they are
# removed at the end). Prints the configuration file to pass with -c.
apt_state() {
  local suite="$1" state="$dir/apt/$1"
  mkdir -p "$state/lists/partial" "$state/cache/archives/partial"
  printf 'deb [signed-by=%s target=Packages lang=none] %s %s main\n' "$keyring" "$mirror" "$suite" > "$state/sources.list"
  cat > "$state/apt.conf" <<CONF
Dir::Etc::SourceList "$state/sources.list";
Dir::Etc::SourceParts "/dev/null";
Dir::Etc::Preferences "/dev/null";
Dir::Etc::PreferencesParts "/dev/null";
Dir::State "$state";
Dir::State::status "/dev/null";
Dir::Cache "$state/cache";
Dir::Cache::pkgcache "pkgcache.bin";
Dir::Cache::srcpkgcache "srcpkgcache.bin";
APT::Sandbox::User "root";
#clear APT::Update::Pre-Invoke;
#clear APT::Update::Post-Invoke;
#clear APT::Update::Post-Invoke-Success;
CONF
  printf '%s\n' "$state/apt.conf"
}

# Every puppet-module-* package the roots depend on in one suite, transitively (alternatives included): one
# apt-cache call per level of the dependency tree. Roots the suite does not have are left out.
module_packages() {
  local conf="$1" kind name
  local -A seen=()
  local level=("${roots[@]}") next=()
  while [ "${#level[@]}" -gt 0 ]; do
    next=()
    while read -r kind name; do
      case "$kind" in
        package) seen[$name]=1 ;;
        depends) next+=("$name") ;;
      esac
    done < <(apt-cache -c "$conf" depends "${level[@]}" 2>/dev/null | awk '
      /^[^ <]/ { print "package", $1; next }
      /^ *\|?Depends: puppet-module-[a-z0-9.+-]+$/ { print "depends", $2 }')
    level=()
    for name in "${next[@]}"; do
      [ -n "${seen[$name]:-}" ] || [[ " ${level[*]} " == *" $name "* ]] || level+=("$name")
    done
  done
  [ "${#seen[@]}" -eq 0 ] || printf '%s\n' "${!seen[@]}" | sort
}

# Per suite and module: where its unpacked code is, and which package and version it came from.
declare -A module_dir=() module_package=() module_version=()
declare -A all_modules=()

for release in "${releases[@]}"; do
  IFS='|' read -r suite _ label _ <<<"$release"
  conf="$(apt_state "$suite")"
  if ! output="$(apt-get -c "$conf" -q update --error-on=any 2>&1)"; then
    if grep -qE 'NO_PUBKEY|GPG error|not signed' <<<"$output"; then
      die "$mirror $suite: its Release file does not verify with $keyring ($(grep -oE 'NO_PUBKEY [0-9A-F]+' <<<"$output" | sort -u | paste -sd ' ')); install a debian-archive-keyring that has $suite's keys, or set DEMO_KEYRING"
    fi
    die "apt-get update of $mirror $suite failed: $(grep -E '^(E|W):' <<<"$output" | head -n 1)"
  fi
  mapfile -t packages < <(module_packages "$conf")
  [ "${#packages[@]}" -gt 0 ] || die "$label has none of the packages ${roots[*]}"

  debs="$dir/debs/$suite"
  rm -rf "$debs"
  mkdir -p "$debs"
  if ! output="$(cd "$debs" && apt-get -c "$conf" -q download "${packages[@]}" 2>&1)"; then
    die "apt-get download from $mirror $suite failed: $(grep -E '^(E|W):' <<<"$output" | head -n 1)"
  fi
  log "$label: ${#packages[@]} packages downloaded to $debs"

  for deb in "$debs"/*.deb; do
    one="$work/$suite/$(basename "$deb" .deb)"
    mkdir -p "$one"
    dpkg-deb -x "$deb" "$one"
    package="$(dpkg-deb -f "$deb" Package)"
    version="$(dpkg-deb -f "$deb" Version)"
    found=0
    for unpacked in "$one"/usr/share/puppet/modules.available/*/; do
      [ -d "$unpacked" ] || continue
      found=1
      name="$(basename "$unpacked")"
      # Debian moves a module's external facts (facts.d/) to /etc/facter/facts.d; upstream keeps them in the
      # module, where CiRunner installs them from. Put them back.
      if [ -d "$one/etc/facter/facts.d" ]; then
        mkdir -p "$unpacked/facts.d"
        cp "$one"/etc/facter/facts.d/* "$unpacked/facts.d/"
      fi
      [ -f "$unpacked/metadata.json" ] || die "$package $version has no metadata.json in $name: not a Puppet module"
      module_dir[$suite/$name]="$unpacked"
      module_package[$suite/$name]="$package"
      module_version[$suite/$name]="$version"
      all_modules[$name]=1
    done
    [ "$found" -eq 1 ] || die "$package $version holds no module under /usr/share/puppet/modules.available"
  done
done

export GIT_AUTHOR_NAME="CiRunner demo" GIT_AUTHOR_EMAIL="demo@cirunner.invalid"
export GIT_COMMITTER_NAME="$GIT_AUTHOR_NAME" GIT_COMMITTER_EMAIL="$GIT_AUTHOR_EMAIL"

# The version in a metadata.json read from standard input.
metadata_version() { sed -n 's/.*"version": *"\([^"]*\)".*/\1/p' | head -n 1; }

# The tree of one unpacked module, written into the repository's object store (every file, .gitignore or not).
module_tree() {
  local remote="$1" code="$2" index="$work/index"
  rm -f "$index"
  GIT_INDEX_FILE="$index" git --git-dir="$remote" --work-tree="$code" add -A -f
  GIT_INDEX_FILE="$index" git --git-dir="$remote" write-tree
}

branch_commit() { git --git-dir="$1" rev-parse -q --verify "refs/heads/$2^{commit}" 2>/dev/null || true; }

# Debian's module directory is the module's name (keystone) or author-name (puppetlabs-stdlib).
repository_of() {
  case "$1" in
    *-*) printf '%s\n' "$1" ;;
    *) printf 'puppet-%s\n' "$1" ;;
  esac
}

mapfile -t names < <(for name in "${!all_modules[@]}"; do printf '%s %s\n' "$(repository_of "$name")" "$name"; done | sort | cut -d' ' -f2)
for name in "${names[@]}"; do
  repository="$(repository_of "$name")"
  remote="$dir/remotes/$repository.git"
  if [ -e "$remote" ] && ! git --git-dir="$remote" rev-parse -q --git-dir >/dev/null 2>&1; then
    die "$remote exists and is not a git repository; move it away"
  fi
  [ -d "$remote" ] || git init -q --bare "$remote"

  summary=()
  previous=""        # the import commit of the previous release in this repository, the parent of the next one
  older_imports=()   # import commits older than the newest, for moving an untouched master forward
  for release in "${releases[@]}"; do
    IFS='|' read -r suite branch label date <<<"$release"
    code="${module_dir[$suite/$name]:-}"
    existing="$(branch_commit "$remote" "$branch")"
    if [ -n "$existing" ]; then
      # Kept as it is. Its import is its oldest commit after the previous release's import (later ones are
      # demo pushes on top), or that import itself when the branch starts there.
      if [ -n "$previous" ]; then
        commit="$(git --git-dir="$remote" rev-list --first-parent --reverse "$existing" "^$previous" | head -n 1)"
        commit="${commit:-$previous}"
      else
        commit="$(git --git-dir="$remote" rev-list --first-parent "$existing" | tail -n 1)"
      fi
      [ -n "$previous" ] && [ "$previous" != "$commit" ] && older_imports+=("$previous")
      previous="$commit"
      summary+=("$branch $(git --git-dir="$remote" show "$existing:metadata.json" 2>/dev/null | metadata_version) (kept)")
      continue
    fi
    [ -n "$code" ] || continue
    version="$(metadata_version < "$code/metadata.json")"
    tree="$(module_tree "$remote" "$code")"
    if [ -n "$previous" ] && [ "$(git --git-dir="$remote" rev-parse "$previous^{tree}")" = "$tree" ]; then
      commit="$previous"   # the same code as the previous release: its branch starts there
      summary+=("$branch $version (same code as before)")
    else
      parent=()
      [ -n "$previous" ] && parent=(-p "$previous")
      commit="$(GIT_AUTHOR_DATE="$date" GIT_COMMITTER_DATE="$date" git --git-dir="$remote" commit-tree "$tree" "${parent[@]}" \
        -m "Import $repository $version from $label" \
        -m "The module as Debian packages it: ${module_package[$suite/$name]} ${module_version[$suite/$name]}, made into a git repository by CiRunner's offline demo (deploy/demo/make-demo-modules.sh).")"
      summary+=("$branch $version")
    fi
    git --git-dir="$remote" update-ref "refs/heads/$branch" "$commit" ""
    [ -n "$previous" ] && [ "$previous" != "$commit" ] && older_imports+=("$previous")
    previous="$commit"
  done

  # master is the newest release's import: made when missing, moved forward when it still is an older import.
  master="$(branch_commit "$remote" master)"
  if [ -z "$master" ]; then
    git --git-dir="$remote" update-ref refs/heads/master "$previous" ""
    summary+=("master new")
  elif [ "$master" != "$previous" ] && printf '%s\n' "${older_imports[@]}" | grep -qx "$master" \
    && git --git-dir="$remote" merge-base --is-ancestor "$master" "$previous"; then
    git --git-dir="$remote" update-ref refs/heads/master "$previous" "$master"
    summary+=("master moved to the newest import")
  fi
  git --git-dir="$remote" symbolic-ref HEAD refs/heads/master

  # The earlier demo's fake release branch (Zed code plus a note) goes: the demo now has a real second release.
  if git --git-dir="$remote" cat-file -e refs/heads/stable/2023.1:DEMO-RELEASE.md 2>/dev/null; then
    git --git-dir="$remote" update-ref -d refs/heads/stable/2023.1
    summary+=("old demo branch stable/2023.1 removed")
  fi

  log "$repository: $(IFS=,; printf '%s' "${summary[*]}" | sed 's/,/, /g')"
done
log "${#names[@]} repositories in $dir/remotes"
