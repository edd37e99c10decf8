#!/usr/bin/env bash
# Prepares a Debian 12 machine for CiRunner: the packages it runs with, and a running Docker engine.
# Idempotent: run it again whenever; it installs only what is missing.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"

log() { printf 'setup: %s\n' "$*"; }

if [ "$(id -u)" -ne 0 ]; then
  echo "setup: run as root (it installs Debian packages and starts the Docker engine)" >&2
  exit 1
fi

if ! command -v dotnet >/dev/null 2>&1; then
  echo "setup: the .NET 10 SDK is missing; install it (https://learn.microsoft.com/dotnet/core/install/linux-debian) and rerun" >&2
  exit 1
fi

# git: mirrors and demo repositories; debootstrap: the offline base image builder; curl: health checks.
packages=(git debootstrap ca-certificates curl)
missing=()
for package in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed" || missing+=("$package")
done
if [ "${#missing[@]}" -gt 0 ]; then
  log "installing ${missing[*]}"
  apt-get update -q
  DEBIAN_FRONTEND=noninteractive apt-get install -y -q "${missing[@]}"
fi

"$here/setup-docker.sh"
