#!/usr/bin/env bash
# Real OpenStack (Keystone + Glance on MariaDB) from Debian's packages, on loopback, for the tests.
# Usage: test/realcloud/realcloud.sh up|down|status|check|install|purge [PROFILE]   (PROFILE defaults to base)
#        test/realcloud/realcloud.sh restart SERVICE [PROFILE]   (stops and starts one daemon; see rc_restart)
# Every step is idempotent: "up" on a machine where everything is installed and running only
# re-checks and prints the ready line.
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=lib.sh
source "$here/lib.sh"

cmd=${1:-up}
arg=${2:-}
service=
if [[ $cmd == restart ]]; then
  service=${2:-}
  [[ -n $service ]] || die "usage: realcloud.sh restart SERVICE [PROFILE]"
  arg=${3:-}
fi
# "down" and "restart" without a profile use the profile that was brought up last (recorded
# machine-wide), so a plain "make realcloud-down" also stops a fuller profile.
if [[ ($cmd == down || $cmd == restart) && -z $arg && -s $RC_STATE/profile ]]; then
  profile=$(cat "$RC_STATE/profile")
  # A profile unknown here is handled by the sweep in rc_down.
  [[ -f $here/profiles/$profile.sh ]] || profile=base
else
  profile=${arg:-${PROFILE:-base}}
fi
[[ -f $here/profiles/$profile.sh ]] || die "unknown profile '$profile' (have: $(cd "$here/profiles" && ls | sed 's/\.sh$//' | tr '\n' ' '))"
# shellcheck source=/dev/null
source "$here/profiles/$profile.sh"
for s in "${RC_STAGES[@]}"; do
  # shellcheck source=/dev/null
  source "$here/stages/$s.sh"
done
[[ $(id -u) == 0 ]] || die "must run as root (installs packages, starts daemons as service users)"

# install: one apt call for the packages of every stage of the profile (one dpkg run is much faster
# than several). Debconf answers first, so no package configures a database or starts anything.
rc_install() {
  local -a pkgs=(curl gzip python3) sel=()
  local s
  for s in "${RC_STAGES[@]}"; do
    local -n p="${s}_packages" d="${s}_debconf"
    pkgs+=("${p[@]}")
    sel+=("${d[@]}")
  done
  if ((${#sel[@]})); then printf '%s\n' "${sel[@]}" | debconf-set-selections; fi
  local t0 have
  t0=$(now_ms)
  # Fast path for warm runs: one dpkg-query for all packages instead of one per package.
  have=$(dpkg-query -W -f='${db:Status-Status}\n' "${pkgs[@]}" 2>/dev/null | grep -c '^installed$' || true)
  if ((have != $(printf '%s\n' "${pkgs[@]}" | sort -u | wc -l))); then
    # No systemd here, and the stages start every service themselves: maintainer scripts must not
    # start daemons. Only the real-cloud tiers change the host this way.
    if [[ ! -e /usr/sbin/policy-rc.d ]]; then
      printf '#!/bin/sh\nexit 101\n' >/usr/sbin/policy-rc.d
      chmod +x /usr/sbin/policy-rc.d
    fi
    "$here/../../scripts/apt-install.sh" "${pkgs[@]}"
    log "packages installed ($(($(now_ms) - t0)) ms)"
  fi
}

# The checkout's own output folder: clouds.yaml is written per checkout, even when the services were
# started from another one.
RC_OUT=${RC_OUT:-$(cd "$here/../.." && pwd)/.realcloud}

rc_register() {
  RC_KEYSTONE=$RC_KEYSTONE RC_GLANCE=$RC_GLANCE RC_REGION=$RC_REGION RC_ADMIN_PASSWORD=$RC_ADMIN_PASSWORD \
    RC_GLANCE_KZ=$RC_GLANCE_KZ RC_REGION_KZ=$RC_REGION_KZ \
    RC_DEMO_PASSWORD=$RC_DEMO_PASSWORD RC_SERVICE_PASSWORD=$RC_SERVICE_PASSWORD RC_STATE=$RC_STATE \
    RC_OUT=$RC_OUT timeout 120 /usr/bin/python3 "$here/register.py"
}

rc_up() {
  local t0 t s
  t0=$(now_ms)
  rc_dirs
  rc_install
  echo "$profile" >"$RC_STATE/profile"
  for s in "${RC_STAGES[@]}"; do
    t=$(now_ms)
    "${s}_configure"
    "${s}_start"
    log "$s up ($(($(now_ms) - t)) ms)"
  done
  rc_register
  # A profile may add work that needs the base identities (e.g. the full profile's networks).
  if declare -F rc_profile_after_register >/dev/null; then rc_profile_after_register; fi
  # Glance checks tokens with its service user, so a token-carrying request proves the whole chain.
  rc_check
  echo "realcloud ready: keystone $RC_KEYSTONE/v3, glance $RC_GLANCE ($RC_REGION) and $RC_GLANCE_KZ ($RC_REGION_KZ), clouds realcloud realcloud-admin realcloud-alt realcloud-appcred in $RC_OUT/clouds.yaml ($(($(now_ms) - t0)) ms)"
}

# rc_check: Keystone issues a token and both Glances accept it on GET /v2/info/import (which needs one).
rc_check() {
  local body tok code
  printf -v body '{"auth":{"identity":{"methods":["password"],"password":{"user":{"name":"demo","domain":{"name":"Default"},"password":"%s"}}},"scope":{"project":{"name":"demo","domain":{"name":"Default"}}}}}' "$RC_DEMO_PASSWORD"
  tok=$(curl -sS -m 20 -D - -o /dev/null -H 'Content-Type: application/json' -d "$body" "$RC_KEYSTONE/v3/auth/tokens" |
    tr -d '\r' | sed -n 's/^[Xx]-[Ss]ubject-[Tt]oken: //p')
  [[ -n $tok ]] || die "Keystone issued no token for demo (log: $RC_LOGS/keystone.log)"
  local url log
  for url in "$RC_GLANCE" "$RC_GLANCE_KZ"; do
    log=glance-api.log
    [[ $url == "$RC_GLANCE_KZ" ]] && log=glance-api-kz.log
    code=$(curl -s -m 20 -o /dev/null -w '%{http_code}' -H "X-Auth-Token: $tok" "$url/v2/info/import")
    [[ $code == 200 ]] || die "Glance $url answered $code to GET /v2/info/import (log: $RC_LOGS/$log)"
  done
}

rc_down() {
  local i f
  for ((i = ${#RC_STAGES[@]} - 1; i >= 0; i--)); do "${RC_STAGES[i]}_stop"; done
  # Sweep: daemons recorded by a profile this checkout does not know (a fuller profile started from
  # another checkout) are stopped too, newest first, so "down" always leaves nothing running.
  for f in $(ls -t "$RC_RUN"/*.pid 2>/dev/null); do
    stop_daemon "$(basename "$f" .pid)" 30
  done
  log "stopped"
}

rc_status() {
  local s
  for s in "${RC_STAGES[@]}"; do
    if "${s}_ready"; then echo "$s: up"; else echo "$s: down"; fi
  done
}

# rc_purge: back to "packages installed, nothing configured": stops everything, drops the databases
# and forgets the stamps, keys and stored images. For debugging and for measuring a cold configure.
rc_purge() {
  rc_down
  mariadb_start
  mysql -uroot -e 'DROP DATABASE IF EXISTS keystone; DROP DATABASE IF EXISTS glance; DROP DATABASE IF EXISTS glance_kz;
    DROP DATABASE IF EXISTS cinder;'
  mariadb_stop
  rm -rf "$RC_STAMPS" "$RC_STATE/appcred.json" /etc/keystone/fernet-keys /etc/keystone/credential-keys
  # Ceph (full profile): the cluster is made again from scratch, with the same fsid.
  rm -rf /var/lib/ceph/mon/ceph-a /var/lib/ceph/mgr/ceph-x /var/lib/ceph/osd/ceph-0 /etc/ceph/ceph.client.*.keyring
  find /var/lib/glance/images /var/lib/glance/staging /var/lib/glance-kz-ala-1/images /var/lib/glance-kz-ala-1/staging \
    -mindepth 1 -delete 2>/dev/null || true
  log "purged"
}

# rc_restart SERVICE: stops one running daemon (TERM to its process group, KILL after 30 s) and
# starts it again with its stage's own start function, which starts only what is not running and
# waits (bounded) until the service answers HTTP again. The other daemons are left alone. For the
# tests that prove the plugin rides out a real service restart (issue 13).
rc_restart() {
  local svc=$1 stage port='' t0 t1
  case $svc in
  keystone) stage=keystone port=5000 ;;
  placement) stage=placement ;;
  glance-api) stage=glance port=9292 ;;
  glance-api-kz) stage=glancekz port=${RC_GLANCE_KZ##*:} ;;
  nova-api) stage=nova ;;
  cinder-api) stage=cinder ;;
  neutron-server) stage=neutron ;;
  *) die "restart: unknown service '$svc' (keystone placement glance-api glance-api-kz nova-api cinder-api neutron-server)" ;;
  esac
  # Without a profile argument the profile brought up last is used, which may be a smaller one
  # started over a running fuller one: then name it (the tests do).
  [[ " ${RC_STAGES[*]} " == *" $stage "* ]] ||
    die "restart: $svc is not part of profile $profile; name the profile: realcloud.sh restart $svc PROFILE"
  # A daemon without a live pid file was not started by these scripts: restarting is refused
  # rather than starting a second copy next to it.
  pid_alive "$svc" || die "restart: $svc is not running (no live pid file in $RC_RUN)"
  t0=$(now_ms)
  stop_daemon "$svc" 30
  if [[ -n $port ]]; then rc_kill_port "$port"; fi
  t1=$(now_ms)
  "${stage}_start"
  log "restarted $svc: stopped in $((t1 - t0)) ms, answering again $(($(now_ms) - t1)) ms later"
}

# One run at a time per machine (CI and a developer's shell, or two checkouts): a bounded wait,
# 15 minutes (a cold "up") or RC_LOCK_WAIT seconds.
rc_lock() {
  local wait=${RC_LOCK_WAIT:-900}
  mkdir -p "$RC_STATE"
  exec 9>"$RC_STATE/lock"
  flock -w "$wait" 9 || die "another realcloud run held $RC_STATE/lock for ${wait}s"
}

case $cmd in
up | down | purge | install) rc_lock ;;
# A test waits for its restart: two minutes at most for the lock (an "up" of a running cloud
# takes seconds).
restart) RC_LOCK_WAIT=${RC_LOCK_WAIT:-120} rc_lock ;;
esac

case $cmd in
install) rc_dirs; rc_install ;;
up) rc_up ;;
down) rc_dirs; rc_down ;;
status) rc_status ;;
purge) rc_dirs; rc_purge ;;
check) rc_check && echo "realcloud ready" ;;
restart) rc_dirs; rc_restart "$service" ;;
*) die "unknown command '$cmd' (up|down|status|check|install|purge|restart)" ;;
esac
