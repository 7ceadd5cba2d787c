#!/usr/bin/env bash
# Installs Debian packages that are not installed yet, without starting any daemon.
# Usage: scripts/apt-install.sh PKG...
# Safe to run concurrently (waits on dpkg's lock) and cheap when everything is present.
set -euo pipefail
missing=()
for p in "$@"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed'; then
    missing+=("$p")
  fi
done
((${#missing[@]} == 0)) && exit 0
echo "apt: installing ${missing[*]}" >&2
# No systemd here, and tests start services themselves: forbid maintainer scripts from starting daemons.
if [[ ! -e /usr/sbin/policy-rc.d ]]; then
  printf '#!/bin/sh\nexit 101\n' > /usr/sbin/policy-rc.d
  chmod +x /usr/sbin/policy-rc.d
fi
export DEBIAN_FRONTEND=noninteractive
lock=(-o DPkg::Lock::Timeout=1200)
stamp=/var/lib/apt/periodic/packer-plugin-glance-update
if [[ ! -e $stamp ]] || [[ -n $(find "$stamp" -mmin +360 2>/dev/null) ]]; then
  apt-get "${lock[@]}" update -q >&2
  mkdir -p "$(dirname "$stamp")" && touch "$stamp"
fi
apt-get "${lock[@]}" install -y -q --no-install-recommends \
  -o Dpkg::Options::=--force-confdef -o Dpkg::Options::=--force-confold "${missing[@]}" >&2
