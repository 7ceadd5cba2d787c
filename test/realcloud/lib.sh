# Shared helpers for the real-cloud scripts. Sourced, never executed.
# shellcheck shell=bash

# Machine-wide state: CI runs from a fresh clone in another folder on the same machine, so pid files,
# logs, stamps and secrets must not live in the checkout, or a second checkout could not stop or
# reuse what the first one started.
RC_STATE=${RC_STATE:-/var/lib/packer-plugin-glance-realcloud}
RC_RUN=$RC_STATE/run
RC_LOGS=$RC_STATE/logs
RC_STAMPS=$RC_STATE/stamps
RC_HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)

# Fixed local test values (the cloud is on loopback only and thrown away with the machine).
RC_REGION=RegionOne
RC_KEYSTONE=http://127.0.0.1:5000
RC_GLANCE=http://127.0.0.1:9292
# A second Glance in the same Keystone, for multi-region tests (stage glancekz).
RC_REGION_KZ=kz-ala-1
RC_GLANCE_KZ=http://127.0.0.1:9293
RC_ADMIN_PASSWORD=admin-secret
RC_DEMO_PASSWORD=demo-secret
RC_SERVICE_PASSWORD=service-secret
RC_DB_PASSWORD=db-secret
# Short token lifetime so tests can prove that a long import survives re-authentication.
RC_TOKEN_EXPIRATION=${RC_TOKEN_EXPIRATION:-120}

log() { printf '%s realcloud: %s\n' "$(date -u +%H:%M:%S)" "$*" >&2; }
die() { log "ERROR: $*"; exit 1; }

rc_dirs() {
  mkdir -p "$RC_RUN" "$RC_STAMPS" "$RC_LOGS"
  # Traversable: the service users write their logs below it; secrets inside are mode 0600.
  chmod 755 "$RC_STATE"
  # Service users (keystone, glance, mysql) write their own logs here.
  chmod 1777 "$RC_LOGS"
}

# now_ms prints a monotonic-enough wall clock in milliseconds for timing reports.
now_ms() { date +%s%3N; }

# stamp_done NAME / stamp_set NAME: one-time steps (db_sync, bootstrap) are recorded machine-wide.
stamp_done() { [[ -e $RC_STAMPS/$1 ]]; }
stamp_set() { touch "$RC_STAMPS/$1"; }

# write_if_changed FILE MODE OWNER: writes stdin to FILE only when the content differs, so that
# reruns leave mtimes alone. Returns 0 when the file changed, 1 when it was already up to date.
write_if_changed() {
  local file=$1 mode=$2 owner=$3 tmp
  tmp=$(mktemp)
  cat >"$tmp"
  if [[ -f $file ]] && cmp -s "$tmp" "$file"; then
    rm -f "$tmp"
    return 1
  fi
  # Keep Debian's original once, for comparison when debugging.
  if [[ -f $file && ! -e $file.dist ]]; then cp -p "$file" "$file.dist"; fi
  install -m "$mode" -o "${owner%%:*}" -g "${owner##*:}" "$tmp" "$file"
  rm -f "$tmp"
  return 0
}

# port_open PORT: true when something accepts TCP connections on 127.0.0.1:PORT. Ready checks go by
# port, not by pid file, so services started from another checkout are recognised.
port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

# pid_alive NAME: true when the process group recorded for NAME still has a live leader.
pid_alive() {
  local f=$RC_RUN/$1.pid
  [[ -s $f ]] && kill -0 "$(cat "$f")" 2>/dev/null
}

# start_daemon NAME USER CMD...: runs CMD detached in its own session and process group (setsid), as
# USER ("root" for none), with output in $RC_LOGS/NAME.out; records the group leader's pid.
start_daemon() {
  local name=$1 user=$2
  shift 2
  local -a pre=()
  if [[ $user != root ]]; then pre=(setpriv "--reuid=$user" "--regid=$user" --init-groups); fi
  # setsid makes the child the leader of a new process group, so stopping can signal the whole group.
  # 9>&- : the daemon must not inherit the run lock (realcloud.sh holds it on fd 9), or the lock
  # would stay held for as long as the daemon lives.
  setsid nohup "${pre[@]}" "$@" >>"$RC_LOGS/$name.out" 2>&1 </dev/null 9>&- &
  echo $! >"$RC_RUN/$name.pid"
}

# stop_daemon NAME [TIMEOUT]: TERM to the process group, then KILL after TIMEOUT seconds.
stop_daemon() {
  local name=$1 timeout=${2:-20} f=$RC_RUN/$1.pid pid i
  [[ -s $f ]] || return 0
  pid=$(cat "$f")
  if kill -0 "$pid" 2>/dev/null; then
    log "stopping $name (pgid $pid)"
    kill -TERM -- "-$pid" 2>/dev/null || true
    for ((i = 0; i < timeout * 10; i++)); do
      kill -0 -- "-$pid" 2>/dev/null || break
      sleep 0.1
    done
    if kill -0 -- "-$pid" 2>/dev/null; then
      log "$name did not stop in ${timeout}s: KILL"
      kill -KILL -- "-$pid" 2>/dev/null || true
    fi
  fi
  rm -f "$f"
}

# wait_until TIMEOUT DESCRIPTION NAME CMD...: polls CMD every 0.2 s; fails early if daemon NAME died
# (NAME "-" for none), and fails after TIMEOUT seconds. Every wait in these scripts is bounded.
wait_until() {
  local timeout=$1 what=$2 name=$3
  shift 3
  local deadline=$((SECONDS + timeout))
  until "$@"; do
    if [[ $name != - ]] && ! pid_alive "$name"; then
      tail -n 30 "$RC_LOGS/$name.out" >&2 2>/dev/null || true
      die "$what: $name exited (log: $RC_LOGS/$name.out)"
    fi
    ((SECONDS < deadline)) || die "$what: no answer after ${timeout}s"
    sleep 0.2
  done
}

# http_answers URL: any HTTP status at all means the service is up.
http_answers() {
  local code
  code=$(curl -s -o /dev/null -m 5 -w '%{http_code}' "$1" 2>/dev/null) || true
  [[ -n $code && $code != 000 ]]
}

# rc_kill_port PORT: last resort for "down" when the pid file is gone (state folder wiped, or a
# crashed run): stops the process group of whatever listens on 127.0.0.1:PORT, but only if it is one
# of the daemons these scripts start.
rc_kill_port() {
  local port=$1 pid pgid comm
  port_open "$port" || return 0
  pid=$(ss -Hltnp "sport = :$port" 2>/dev/null | sed -n 's/.*pid=\([0-9]*\).*/\1/p' | head -n1)
  [[ -n $pid ]] || return 0
  comm=$(ps -o args= -p "$pid" 2>/dev/null || true)
  case $comm in
  *uwsgi* | *keystone* | *glance-api* | *mariadbd*) ;;
  *) log "port $port is held by something else ($comm): left alone"; return 0 ;;
  esac
  pgid=$(ps -o pgid= -p "$pid" | tr -d ' ')
  log "port $port still held by pid $pid ($comm): stopping its process group $pgid"
  kill -TERM -- "-$pgid" 2>/dev/null || true
  wait_until 20 "port $port released" - bash -c "! (exec 3<>/dev/tcp/127.0.0.1/$port) 2>/dev/null"
}
