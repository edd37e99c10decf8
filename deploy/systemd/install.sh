#!/usr/bin/env bash
# Installs CiRunner as a systemd service on Debian 12: the published executable in /opt/cirunner,
# configuration in /etc/cirunner, state in /var/lib/cirunner, a `cirunner` system user in the docker group.
# usage: deploy/systemd/install.sh   (as root, from a clone of the repository)
set -euo pipefail
repo="$(cd "$(dirname "$0")/../.." && pwd)"

"$repo/deploy/setup.sh"
dotnet publish "$repo/service/CiRunner" -c Release -o /opt/cirunner --nologo -v quiet
cp "$repo/README.md" /opt/cirunner/

getent passwd cirunner >/dev/null || useradd --system --home-dir /var/lib/cirunner --shell /usr/sbin/nologin cirunner
getent group docker >/dev/null && usermod -aG docker cirunner
install -d -o cirunner -g cirunner -m 0750 /var/lib/cirunner
install -d -m 0755 /etc/cirunner
if [ ! -e /etc/cirunner/appsettings.json ]; then
  # Relative paths in the file resolve against /etc/cirunner; point state and scenarios at their homes.
  sed -e 's|"DataDirectory": "data"|"DataDirectory": "/var/lib/cirunner"|' \
      -e 's|"ScenariosDirectory": "scenarios"|"ScenariosDirectory": "/etc/cirunner/scenarios"|' \
      -e 's|"ImageRecipesDirectory": "deploy/images"|"ImageRecipesDirectory": "/etc/cirunner/images"|' \
      "$repo/appsettings.json" > /etc/cirunner/appsettings.json
  cp -r "$repo/scenarios" /etc/cirunner/scenarios
  cp -r "$repo/deploy/images" /etc/cirunner/images
  echo "install: wrote /etc/cirunner/appsettings.json and /etc/cirunner/scenarios; edit them, then run: cirunner validate"
fi
if [ ! -e /etc/cirunner/cirunner.env ]; then
  install -m 0600 /dev/null /etc/cirunner/cirunner.env
  echo "CIRUNNER_API_TOKEN=$(od -An -N16 -tx1 /dev/urandom | tr -d ' \n')" > /etc/cirunner/cirunner.env
  echo "install: wrote /etc/cirunner/cirunner.env (mode 0600) with a new API token"
fi
ln -sf /opt/cirunner/cirunner /usr/local/bin/cirunner
install -m 0644 "$repo/deploy/systemd/cirunner.service" /etc/systemd/system/cirunner.service
if [ -d /run/systemd/system ]; then
  systemctl daemon-reload
  systemctl enable --now cirunner.service
  systemctl --no-pager status cirunner.service || true
else
  echo "install: systemd is not running here; start the service with: systemctl enable --now cirunner"
fi
