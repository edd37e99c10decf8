#!/usr/bin/env bash
# What the tests need beyond the service's own packages: Debian's chromium (the dashboard test drives it
# headless through Playwright; nothing downloads a browser) and prometheus (a test starts its own on loopback
# to scrape /metrics), sqlite3 (the fault tests hold the service's database locked from another process, as an
# operator's open shell would) and postgresql (the store's contract tests run on a real PostgreSQL too: Debian's
# cluster, started here on loopback, with a role the tests log in as). Idempotent, like setup.sh.
set -euo pipefail

if [ "$(id -u)" -ne 0 ]; then
  echo "setup-test-tools: run as root (it installs Debian packages)" >&2
  exit 1
fi

packages=(chromium prometheus sqlite3 postgresql)
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

# PostgreSQL: the Debian package creates the cluster (listening on localhost only) but starts it through systemd,
# which a container or a CI machine may not run; pg_ctlcluster starts it either way.
cluster=$(pg_lsclusters --no-header | awk 'NR == 1 { print $1 " " $2 }')
if [ -z "$cluster" ]; then
  echo "setup-test-tools: no PostgreSQL cluster after installing postgresql; create one with pg_createcluster 15 main" >&2
  exit 1
fi
if ! pg_lsclusters --no-header | awk 'NR == 1 { print $4 }' | grep -q online; then
  # shellcheck disable=SC2086 # "15 main" is two arguments
  pg_ctlcluster $cluster start
fi
for _ in $(seq 1 30); do
  su postgres -c "psql -qtAc 'SELECT 1'" >/dev/null 2>&1 && break
  sleep 1
done
# The tests' role: it creates one database per test and drops it after (CIRUNNER_TEST_POSTGRES overrides the login).
su postgres -c "psql -qtAc \"SELECT 1 FROM pg_roles WHERE rolname = 'cirunner_test'\"" | grep -q 1 ||
  su postgres -c "psql -qc \"CREATE ROLE cirunner_test LOGIN CREATEDB PASSWORD 'cirunner-test'\""
# pg_signal_backend: DROP DATABASE ... WITH (FORCE) may end an autovacuum worker that is on a test's database.
su postgres -c "psql -qc 'GRANT pg_signal_backend TO cirunner_test'" >/dev/null
echo "setup-test-tools: PostgreSQL answers on 127.0.0.1:5432 (role cirunner_test)"
