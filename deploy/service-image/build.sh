#!/usr/bin/env bash
# Builds the service image cirunner/service:latest: a self-contained publish of cirunner on the
# offline base image (cirunner images base builds it).
#
# Run it (the configuration's Http:Listen must be http://0.0.0.0:8080 inside the container):
# --stop-timeout covers Service:DrainTimeout + 90 s (default 390 s), so `docker stop` lets running jobs drain:
#   docker run -d --name cirunner --network host --stop-timeout 420 \
#     -v /var/run/docker.sock:/var/run/docker.sock \
#     -v /etc/cirunner:/etc/cirunner:ro -v /var/lib/cirunner:/var/lib/cirunner \
#     --env-file /etc/cirunner/cirunner.env cirunner/service:latest
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
repo="$(cd "$here/../.." && pwd)"
tag="${1:-cirunner/service:latest}"

context="$(mktemp -d)"
trap 'rm -rf "$context"' EXIT
cp "$here/Dockerfile" "$context/"
dotnet publish "$repo/service/CiRunner" -c Release -r linux-x64 --self-contained true -o "$context/cirunner" --nologo -v quiet
docker build --network host -t "$tag" "$context"
echo "service-image: built $tag"
