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
# A contributor's machine usually needs sudo; CI and this project's VMs run as root.
sudo=()
if ((EUID != 0)); then
  command -v sudo >/dev/null || { echo "apt: installing ${missing[*]} needs root (or sudo)" >&2; exit 1; }
  sudo=(sudo DEBIAN_FRONTEND=noninteractive)
fi
export DEBIAN_FRONTEND=noninteractive
lock=(-o DPkg::Lock::Timeout=1200)
stamp=/var/lib/apt/periodic/packer-plugin-glance-update
if [[ ! -e $stamp ]] || [[ -n $(find "$stamp" -mmin +360 2>/dev/null) ]]; then
  "${sudo[@]}" apt-get "${lock[@]}" update -q >&2
  "${sudo[@]}" mkdir -p "$(dirname "$stamp")" && "${sudo[@]}" touch "$stamp"
fi
"${sudo[@]}" apt-get "${lock[@]}" install -y -q --no-install-recommends \
  -o Dpkg::Options::=--force-confdef -o Dpkg::Options::=--force-confold "${missing[@]}" >&2
