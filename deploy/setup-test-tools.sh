#!/usr/bin/env bash
# What the tests need beyond the service's own packages: Debian's chromium (the dashboard test drives it
# headless through Playwright; nothing downloads a browser) and prometheus (a test starts its own on loopback
# to scrape /metrics; the OTLP test takes VictoriaMetrics from Debian 13's package, below), sqlite3 (the fault
# tests hold the service's database locked from another process, as an operator's open shell would) and postgresql (the store's contract tests run on a real PostgreSQL too: Debian's
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

# An OTLP metrics receiver: the OTLP test pushes the service's metrics into Debian 13's VictoriaMetrics (1.112 at
# Debian 13.0; /opentelemetry/v1/metrics) and reads them back through its Prometheus query API. Debian has no
# Prometheus that takes OTLP: 12's 2.42 predates the receiver, and 13's 2.53 is built without it
# (debian/patches/0019, "depends on code not yet in Debian"). Only the static binary is taken from the trixie package (nothing of trixie is installed),
# through apt with a sources list and state of its own, so the system's sources and packages stay Debian 12's.
otlp_receiver_dir=/opt/cirunner-test/victoria-metrics
if [ ! -x "$otlp_receiver_dir/victoria-metrics" ]; then
  mirror=$(awk '/^URIs:/ && $2 ~ /\/debian\/?$/ { print $2; exit } /^deb / && $0 ~ /\/debian / && $0 ~ /bookworm/ { for (i = 2; i <= NF; i++) if ($i ~ /^[a-z]+:\/\//) { print $i; exit } }' \
    /etc/apt/sources.list.d/*.sources /etc/apt/sources.list 2>/dev/null || true)
  mirror=${mirror:-http://deb.debian.org/debian}
  printf 'setup-test-tools: fetching victoria-metrics from Debian 13 (%s trixie)\n' "$mirror"
  apt_root=$(mktemp -d)
  trap 'rm -rf "$apt_root"' EXIT
  mkdir -p "$apt_root/lists/partial" "$apt_root/cache/archives/partial" "$apt_root/download"
  echo "deb [signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] $mirror trixie main" >"$apt_root/sources.list"
  touch "$apt_root/status"
  trixie_apt=(-o "Dir::Etc::SourceList=$apt_root/sources.list" -o Dir::Etc::SourceParts=/dev/null
    -o "Dir::State::Lists=$apt_root/lists" -o "Dir::State::status=$apt_root/status" -o "Dir::Cache=$apt_root/cache"
    -o Dir::Etc::Preferences=/dev/null -o Dir::Etc::PreferencesParts=/dev/null -o APT::Sandbox::User=root)
  apt-get -q "${trixie_apt[@]}" update
  (cd "$apt_root/download" && apt-get -q "${trixie_apt[@]}" download victoria-metrics)
  dpkg-deb -x "$apt_root"/download/victoria-metrics_*.deb "$apt_root/extract"
  install -D -m 0755 "$apt_root/extract/usr/bin/victoria-metrics" "$otlp_receiver_dir/victoria-metrics"
  # The Debian build reports no version itself (-version prints nothing); keep the package's.
  dpkg-deb -f "$apt_root"/download/victoria-metrics_*.deb Version >"$otlp_receiver_dir/VERSION"
  rm -rf "$apt_root"
  trap - EXIT
fi
echo "setup-test-tools: OTLP metrics receiver: $otlp_receiver_dir/victoria-metrics $(cat "$otlp_receiver_dir/VERSION")"

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
