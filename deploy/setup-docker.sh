#!/usr/bin/env bash
# Installs Debian's Docker engine if needed and makes sure a daemon answers.
#
# The daemon is started without the default bridge and without iptables rules: CiRunner runs job
# containers with network mode "none" and builds images with network mode "host", so it never needs
# the 172.x bridge network, and a machine's own firewall stays untouched.
set -euo pipefail

log() { printf 'setup-docker: %s\n' "$*"; }

if ! command -v dockerd >/dev/null 2>&1; then
  log "installing docker.io from Debian"
  apt-get update -q
  DEBIAN_FRONTEND=noninteractive apt-get install -y -q docker.io
fi

if docker info >/dev/null 2>&1; then
  log "the Docker engine answers"
  exit 0
fi

if [ -d /run/systemd/system ] && [ "$(cat /proc/1/comm 2>/dev/null)" = "systemd" ]; then
  if [ ! -e /etc/docker/daemon.json ]; then
    mkdir -p /etc/docker
    printf '{\n  "bridge": "none",\n  "iptables": false\n}\n' > /etc/docker/daemon.json
    log "wrote /etc/docker/daemon.json (no default bridge, no iptables rules)"
  fi
  log "starting docker.service"
  systemctl start docker.service
else
  log "starting dockerd in the background (log: /var/log/cirunner-dockerd.log)"
  nohup dockerd --bridge=none --iptables=false >/var/log/cirunner-dockerd.log 2>&1 &
fi

for _ in $(seq 1 60); do
  if docker info >/dev/null 2>&1; then
    log "the Docker engine answers"
    exit 0
  fi
  sleep 1
done
log "the Docker engine did not answer within 60 s; see /var/log/cirunner-dockerd.log or 'journalctl -u docker'"
exit 1
