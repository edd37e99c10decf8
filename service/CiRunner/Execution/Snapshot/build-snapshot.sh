#!/bin/sh
# Freezes a release image's packages into a package snapshot: a flat apt repository in the Docker volume mounted at
# /snapshot, holding every package the image has installed, at the installed version. Upgrade jobs mount it read-only
# at /cirunner/snapshot and move their node onto it offline (upgrade-node), so a release upgrade needs no mirror and
# installs exactly what the release image was built with.
#
# CiRunner (Execution/PackageSnapshotBuilder.cs) runs this script in throwaway containers of the release image:
#   build-snapshot.sh list   prints what dpkg says is installed, name=version per line, sorted (network none). The
#                            snapshot's id is the SHA-256 of that list followed by upgrade-node, known before the
#                            volume is made so that the volume's labels carry it.
#   build-snapshot.sh        fills /snapshot (network host: apt reaches the Debian mirror the image was built from),
#                            with packages.list and upgrade-node copied in beside this script, RELEASE, IMAGE and
#                            SNAPSHOT_ID in the environment. .complete is written last: a volume without it is an
#                            unfinished build and never used.
# Errors end with one line "cirunner-snapshot: error: ..." on stderr, which CiRunner reports as the build's error.
# This file is part of the snapshot builder's hash: changing it makes the next `cirunner images build` rebuild
# every snapshot.
set -eu

if [ "${1:-}" = list ]; then
    # Installed packages only: a package removed but not purged (config-files) is on no node the image makes.
    # binary:Package names a foreign-architecture package with its architecture (libc6:i386), as apt-get download
    # wants it.
    dpkg-query -W -f '${db:Status-Status} ${binary:Package}=${Version}\n' | awk '$1 == "installed" { print $2 }' | LC_ALL=C sort
    exit 0
fi

here=$(cd "$(dirname "$0")" && pwd)
snap=/snapshot
release=${RELEASE:?RELEASE is not set}
image=${IMAGE:-the release image}
fail() {
    echo "cirunner-snapshot: error: $*" >&2
    exit 1
}

[ -d "$snap" ] || fail "nothing is mounted at $snap"
[ ! -e "$snap/.complete" ] || fail "$snap already holds a complete snapshot; CiRunner builds into a new volume only"
cp "$here/packages.list" "$snap/packages.list"
chmod 0644 "$snap/packages.list"
total=$(wc -l < "$snap/packages.list")
echo "$release" > "$snap/release"
echo "cirunner-snapshot: freezing $total packages of $image (release $release)"

export DEBIAN_FRONTEND=noninteractive
apt-get update -q || fail "apt-get update failed in a container of $image: the Debian mirror in its sources.list must be reachable (the build runs with network host)"

# apt-ftparchive is in apt-utils; it is installed in this throwaway container only, never into the snapshot's list.
apt-get install -y -q --no-install-recommends apt-utils || fail "installing apt-utils (for apt-ftparchive) failed"

mkdir -p "$snap/pool"
cd "$snap/pool"

# apt's downloads run as _apt when it can write the folder; otherwise it warns and downloads as root.
if id _apt >/dev/null 2>&1; then
    chown _apt "$snap/pool"
fi

# apt-get download resolves every name=version before it downloads anything, and names each one it cannot fetch:
# installed here, so apt knows the version, but no source has it ("Can't find a source"), or not known at all.
# A version the mirror no longer has (a point release replaced it) cannot be frozen: the image itself is stale.
errors=$(mktemp)
# shellcheck disable=SC2046 # one argument per line of the list, on purpose
if ! apt-get download -q $(cat "$snap/packages.list") 2> "$errors"; then
    cat "$errors" >&2
    missing=$(sed -n -e "s/^E: Can't find a source to download version '\\(.*\\)' of '\\(.*\\)'\$/\\2=\\1/p" \
                     -e "s/^E: Version '\\(.*\\)' for '\\(.*\\)' was not found\$/\\2=\\1/p" \
                     -e "s/^E: Unable to locate package \\(.*\\)\$/\\1/p" "$errors" | tr '\n' ' ' | sed 's/ $//')
    if [ -n "$missing" ]; then
        count=$(echo "$missing" | wc -w)
        fail "the mirror no longer has (or never had) $count package version(s) that $image was built with ($missing); rebuild the image so it installs what the mirror has now: cirunner images build --release $release --force"
    fi

    fail "apt-get download failed (see the lines above)"
fi
rm -f "$errors"

downloaded=$(find . -maxdepth 1 -name '*.deb' | wc -l)
[ "$downloaded" -eq "$total" ] || fail "apt-get download fetched $downloaded packages for $total in the list"

cd "$snap"
apt-ftparchive packages pool > Packages
gzip -9 -k -f Packages
cp "$here/upgrade-node" "$snap/upgrade-node"
chmod 0755 "$snap/upgrade-node"

bytes=$(du -sb "$snap" | cut -f1)
printf 'id=%s\npackages=%s\nbytes=%s\n' "${SNAPSHOT_ID:?SNAPSHOT_ID is not set}" "$total" "$bytes" > "$snap/.complete.tmp"
mv "$snap/.complete.tmp" "$snap/.complete"
echo "cirunner-snapshot: complete: $total packages, $bytes bytes"
