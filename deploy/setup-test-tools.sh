#!/usr/bin/env bash
# What the tests need beyond the service's own packages: Debian's chromium (the dashboard test drives it
# headless through Playwright; nothing downloads a browser) and prometheus (a test starts its own on loopback
# to scrape /metrics), and sqlite3 (the fault tests hold the service's database locked from another process, as an
# operator's open shell would). Idempotent, like setup.sh.
set -euo pipefail

if [ "$(id -u)" -ne 0 ]; then
  echo "setup-test-tools: run as root (it installs Debian packages)" >&2
  exit 1
fi

packages=(chromium prometheus sqlite3)
missing=()
for package in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed" || missing+=("$package")
done
if [ "${#missing[@]}" -gt 0 ]; then
  printf 'setup-test-tools: installing %s\n' "${missing[*]}"
  apt-get update -q
  # --no-install-recommends: the tests start prometheus themselves; no node exporter or service is wanted.
  DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${missing[@]}"
fi

# The Debian package starts a system prometheus on :9090; the tests use their own on free ports, so it may stay.
