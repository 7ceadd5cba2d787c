#!/usr/bin/env bash
# Benchmark of the glance-import engine against the tools users compare it with,
# on the same image and the same cloud, in one run (never a timed test):
#
#   local file:  plugin upload  vs  raw `curl -T` PUT  vs  `openstack image create --file`
#   xz URL:      plugin stream  vs  the overlapped C-tools pipe `curl URL | xz -dc | curl -T - …/file`
#                                vs  the shell way `curl URL | xz -d > f; openstack image create --file f`
#   gzip URL:    the same with gzip
#
# Each case runs BENCH_RUNS times (default 3), the cases taking turns, so that a
# change of load hits them alike. It prints every run with the load average, then
# the medians, the ratios the issues set targets for, and the plugin's peak RSS.
# Environment:
#   BENCH_SIZE_MIB     image size (default 1024)
#   BENCH_RUNS         runs of each case (default 3)
#   BENCH_SHELL=0      leave out the shell way (the slowest case)
#   BENCH_CASES        run only these cases (e.g. "curl file"; names as in the per-run lines)
#   BENCH_CLOUDS_YAML  a clouds.yaml to use instead of starting the test cloud
#   BENCH_CLOUD        the cloud entry in it (default testcloud)
#   BENCH_KEEP=1       keep the work folder
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
size=${BENCH_SIZE_MIB:-1024}
runs=${BENCH_RUNS:-3}
work=$(mktemp -d /tmp/glance-import-bench.XXXXXX)
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
  [[ ${BENCH_KEEP:-0} == 1 ]] || rm -rf "$work"
}
trap cleanup EXIT

need() { command -v "$1" >/dev/null || { echo "bench: $1 is missing (make deps)" >&2; exit 1; }; }
need curl; need xz; need gzip; need openstack; need python3

cd "$root"
go build -o "$work/importbench" ./bench/importbench
go build -o "$work/glance-testcloud" ./cmd/glance-testcloud

if [[ -n ${BENCH_CLOUDS_YAML:-} ]]; then
  export OS_CLIENT_CONFIG_FILE=$BENCH_CLOUDS_YAML OS_CLOUD=${BENCH_CLOUD:-testcloud}
else
  "$work/glance-testcloud" --clouds-yaml "$work/clouds.yaml" --data-dir "$work/cloud" --delay 50ms >"$work/cloud.log" 2>&1 &
  pids+=($!)
  for _ in $(seq 100); do grep -q ready "$work/cloud.log" && break; sleep 0.1; done
  grep -q ready "$work/cloud.log" || { cat "$work/cloud.log"; exit 1; }
  export OS_CLIENT_CONFIG_FILE=$work/clouds.yaml OS_CLOUD=testcloud
fi

echo "bench: generating a ${size} MiB image and its xz and gzip copies" >&2
"$work/importbench" -generate "$work/disk.raw" -size "$size"
xz -T0 -3 -k -c "$work/disk.raw" >"$work/disk.raw.xz"
gzip -6 -c "$work/disk.raw" >"$work/disk.raw.gz"
# Served without extensions and with a useless type, as many mirrors do.
mkdir -p "$work/www"
ln "$work/disk.raw.xz" "$work/www/xzblob"
ln "$work/disk.raw.gz" "$work/www/gzblob"
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
python3 -m http.server "$port" --bind 127.0.0.1 --directory "$work/www" >"$work/http.log" 2>&1 &
pids+=($!)
for _ in $(seq 50); do curl -fs -o /dev/null "http://127.0.0.1:$port/" && break; sleep 0.1; done

now() { date +%s.%N; }
elapsed() { python3 -c "print(f'{$2 - $1:.2f}')"; }
drop_caches() { sync; echo 1 >/proc/sys/vm/drop_caches 2>/dev/null || true; }
load() { cut -d' ' -f1-3 /proc/loadavg; }

# A fresh token before each curl case (tokens may live only 2 minutes) and the image
# endpoint; neither is timed.
endpoint='' token=''
login() { read -r endpoint token < <("$work/importbench" -endpoint 2>/dev/null); }
# new_image NAME: creates an empty raw image with curl and prints its ID.
new_image() {
  curl -fsS -X POST -H "X-Auth-Token: $token" -H "Content-Type: application/json" \
    -d "{\"name\": \"$1\", \"disk_format\": \"raw\", \"container_format\": \"bare\"}" "${endpoint}images" |
    python3 -c 'import json, sys; print(json.load(sys.stdin)["id"])'
}
# Each run's image is deleted at once: a few 1 GiB images would fill a small store.
delete_image() { login; curl -fsS -o /dev/null -X DELETE -H "X-Auth-Token: $token" "${endpoint}images/$1" || true; }
put() { # $1 = image ID; the data comes from stdin or -T FILE given as $2
  curl -fsS -X PUT -H "X-Auth-Token: $token" -H "Content-Type: application/octet-stream" -T "$2" "${endpoint}images/$1/file"
}

# Every case sets t (seconds) and may set rss (MiB).
case_curl() {
  login; local id; id=$(new_image bench-curl)
  drop_caches; local t0; t0=$(now)
  put "$id" "$work/disk.raw"
  t=$(elapsed "$t0" "$(now)"); delete_image "$id"
}
case_cli() {
  drop_caches; local t0 id; t0=$(now)
  id=$(openstack image create --disk-format raw --container-format bare --file "$work/disk.raw" bench-cli -f value -c id </dev/null)
  t=$(elapsed "$t0" "$(now)"); delete_image "$id"
}
case_plugin() { # $1 = -file PATH or -url URL, $2 = its argument
  drop_caches; local out
  if ! out=$("$work/importbench" "$1" "$2" -name bench-plugin 2>"$work/plugin.log"); then
    cat "$work/plugin.log" >&2
    exit 1
  fi
  t=$(sed -n 's/.*seconds=\([0-9.]*\).*/\1/p' <<<"$out"); rss=$(sed -n 's/.*peak_rss_mib=\([0-9]*\).*/\1/p' <<<"$out")
  phases=$(sed -n 's/.*phases=\([^ ]*\).*/\1/p' <<<"$out")
  delete_image "$(sed -n 's/.*image=\([^ ]*\).*/\1/p' <<<"$out")"
}
case_pipe() { # $1 = decompressor command, $2 = URL: every stage a C tool, all overlapped
  local -a dec; read -ra dec <<<"$1"
  login; local id; id=$(new_image "bench-pipe-${dec[0]}")
  drop_caches; local t0; t0=$(now)
  curl -fsS "$2" | "${dec[@]}" | put "$id" -
  t=$(elapsed "$t0" "$(now)"); delete_image "$id"
}
case_shell() { # $1 = decompressor command, $2 = URL: download and decompress, then upload
  local -a dec; read -ra dec <<<"$1"
  drop_caches; local t0 id; t0=$(now)
  curl -fsS "$2" | "${dec[@]}" >"$work/shell.raw"
  id=$(openstack image create --disk-format raw --container-format bare --file "$work/shell.raw" bench-shell -f value -c id </dev/null)
  rm -f "$work/shell.raw"
  t=$(elapsed "$t0" "$(now)"); delete_image "$id"
}

xz_url="http://127.0.0.1:$port/xzblob" gz_url="http://127.0.0.1:$port/gzblob"
declare -a cases=(curl cli file xz-pipe xz-plugin gz-pipe gz-plugin)
if [[ ${BENCH_SHELL:-1} != 0 ]]; then cases+=(xz-shell gz-shell); fi
if [[ -n ${BENCH_CASES:-} ]]; then read -ra cases <<<"$BENCH_CASES"; fi
declare -A times rsss
for ((r = 1; r <= runs; r++)); do
  for c in "${cases[@]}"; do
    rss='' phases='' l=$(load)
    case $c in
    curl) case_curl ;;
    cli) case_cli ;;
    file) case_plugin -file "$work/disk.raw" ;;
    xz-pipe) case_pipe "xz -dc -T0" "$xz_url" ;;
    xz-plugin) case_plugin -url "$xz_url" ;;
    xz-shell) case_shell "xz -dc -T0" "$xz_url" ;;
    gz-pipe) case_pipe "gzip -dc" "$gz_url" ;;
    gz-plugin) case_plugin -url "$gz_url" ;;
    gz-shell) case_shell "gzip -dc" "$gz_url" ;;
    esac
    times[$c]+="$t "
    if [[ -n $rss ]]; then rsss[$c]+="$rss "; fi
    printf 'bench: run %d %-10s %7s s%s%s  (load %s)\n' "$r" "$c" "$t" "${rss:+, peak RSS $rss MiB}" "${phases:+, $phases}" "$l" >&2
  done
done

# Each takes one string of space-separated values.
med() { python3 -c 'import statistics, sys; print(f"{statistics.median(float(x) for x in sys.argv[1].split()):.2f}")' "$1"; }
span() { python3 -c 'import sys; v=[float(x) for x in sys.argv[1].split()]; print(f"{min(v):.2f}-{max(v):.2f}")' "$1"; }
maxof() { python3 -c 'import sys; print(max(int(x) for x in sys.argv[1].split()))' "$1"; }
ratio() { python3 -c "print(f'{$1 / $2:.2f}')"; }
declare -A m
for c in "${cases[@]}"; do m[$c]=$(med "${times[$c]}"); done
row() { # $1 = label, $2 = case, $3 = what to add; nothing for a case that did not run
  if [[ -n ${m[$2]:-} ]]; then printf '  %-52s %7s s  (%s)%s\n' "$1" "${m[$2]}" "$(span "${times[$2]}")" "${3:-}"; fi
}
# vs A B TEXT: "TEXT <A/B>" when both cases ran.
vs() { if [[ -n ${m[$1]:-} && -n ${m[$2]:-} ]]; then printf '%s %s' "$3" "$(ratio "${m[$1]}" "${m[$2]}")"; fi; }

xz_mb=$(($(stat -c %s "$work/disk.raw.xz") >> 20)) gz_mb=$(($(stat -c %s "$work/disk.raw.gz") >> 20))
echo "glance-import benchmark: ${size} MiB image (xz ${xz_mb} MiB, gzip ${gz_mb} MiB), cloud ${OS_CLOUD}, $(nproc) cores, median of ${runs} runs (min-max)"
row "raw curl -T PUT" curl
row "openstack image create --file" cli
row "plugin, local file" file "   $(vs file curl "ratio to curl") (target <= 1.05)$(vs file cli ", to the CLI")"
for f in xz gz; do
  tool=$([[ $f == xz ]] && echo "xz -dc -T0" || echo "gzip -dc")
  row "C pipe: curl URL | $tool | curl -T -" "$f-pipe"
  row "shell way: curl | $tool > f; openstack --file f" "$f-shell"
  row "plugin, $([[ $f == xz ]] && echo xz || echo gzip) URL" "$f-plugin" "   $(vs "$f-plugin" "$f-pipe" "ratio to the C pipe") (target <= 1.1)$(vs "$f-plugin" "$f-shell" ", to the shell way")"
done
for c in file xz-plugin gz-plugin; do
  if [[ -n ${rsss[$c]:-} ]]; then echo "  plugin peak RSS ($c), highest of the runs: $(maxof "${rsss[$c]}") MiB (target <= 64)"; fi
done
echo "  load average at the end: $(load)"
