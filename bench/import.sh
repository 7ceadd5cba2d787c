#!/usr/bin/env bash
# Benchmark of the glance-import engine against the tools users compare it with,
# on the same image and the same cloud, in one run (never a timed test):
#
#   local file:  plugin upload  vs  `openstack image create --file`  vs  raw `curl -T` PUT
#   xz URL:      plugin stream  vs  `curl URL | xz -d > f; openstack image create --file f`
#   gzip URL:    plugin stream  vs  `curl URL | gzip -d > f; openstack image create --file f`
#
# It prints each wall time, the ratios the issue sets targets for, and the
# plugin's peak RSS. Environment:
#   BENCH_SIZE_MIB     image size (default 1024)
#   BENCH_CLOUDS_YAML  a clouds.yaml to use instead of starting the test cloud
#   BENCH_CLOUD        the cloud entry in it (default testcloud)
#   BENCH_KEEP=1       keep the work folder
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
size=${BENCH_SIZE_MIB:-1024}
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
ratio() { python3 -c "print(f'{$1 / $2:.2f}')"; }
drop_caches() { sync; echo 1 >/proc/sys/vm/drop_caches 2>/dev/null || true; }

# 1. Raw curl PUT of the file into a fresh image (the ceiling: no hashing, no logic).
read -r endpoint token < <("$work/importbench" -endpoint 2>/dev/null)
# (Created with curl: `openstack image create` without --file uploads its standard input.)
id=$(curl -fsS -X POST -H "X-Auth-Token: $token" -H "Content-Type: application/json" \
  -d '{"name": "bench-curl", "disk_format": "raw", "container_format": "bare"}' "${endpoint}images" |
  python3 -c 'import json, sys; print(json.load(sys.stdin)["id"])')
drop_caches; t0=$(now)
curl -fsS -X PUT -H "X-Auth-Token: $token" -H "Content-Type: application/octet-stream" -T "$work/disk.raw" "${endpoint}images/$id/file"
t_curl=$(elapsed "$t0" "$(now)")

# 2. The OpenStack CLI.
drop_caches; t0=$(now)
openstack image create --disk-format raw --container-format bare --file "$work/disk.raw" bench-cli -f value -c id >/dev/null </dev/null
t_cli=$(elapsed "$t0" "$(now)")

# 3. The plugin's engine, local file.
drop_caches
out=$("$work/importbench" -file "$work/disk.raw" -name bench-plugin-file 2>"$work/plugin-file.log")
t_file=$(sed -n 's/.*seconds=\([0-9.]*\).*/\1/p' <<<"$out"); rss_file=$(sed -n 's/.*peak_rss_mib=\([0-9]*\).*/\1/p' <<<"$out")

# 4. Compressed URLs: the plugin against the shell way.
shell_way() { # $1 = decompressor, $2 = URL
  local t0; t0=$(now)
  curl -fsS "$2" | $1 -d >"$work/shell.raw"
  openstack image create --disk-format raw --container-format bare --file "$work/shell.raw" "bench-shell-$1" -f value -c id >/dev/null </dev/null
  rm -f "$work/shell.raw"
  elapsed "$t0" "$(now)"
}
declare -A t_url rss_url t_shell
for fmt in xz gz; do
  tool=$([[ $fmt == xz ]] && echo xz || echo gzip)
  url="http://127.0.0.1:$port/${fmt}blob"
  drop_caches
  out=$("$work/importbench" -url "$url" -name "bench-plugin-$fmt" 2>"$work/plugin-$fmt.log")
  t_url[$fmt]=$(sed -n 's/.*seconds=\([0-9.]*\).*/\1/p' <<<"$out")
  rss_url[$fmt]=$(sed -n 's/.*peak_rss_mib=\([0-9]*\).*/\1/p' <<<"$out")
  drop_caches
  t_shell[$fmt]=$(shell_way "$tool" "$url")
done

xz_mb=$(( $(stat -c %s "$work/disk.raw.xz") >> 20 )); gz_mb=$(( $(stat -c %s "$work/disk.raw.gz") >> 20 ))
cat <<REPORT
glance-import benchmark: ${size} MiB image (xz ${xz_mb} MiB, gzip ${gz_mb} MiB), cloud ${OS_CLOUD}, $(nproc) cores
  raw curl -T PUT                      ${t_curl} s
  openstack image create --file        ${t_cli} s
  plugin, local file                   ${t_file} s   ratio to curl $(ratio "$t_file" "$t_curl") (target <= 1.15), to CLI $(ratio "$t_file" "$t_cli") (target < 1)
  shell way, xz URL                    ${t_shell[xz]} s
  plugin, xz URL                       ${t_url[xz]} s   ratio to shell way $(ratio "${t_url[xz]}" "${t_shell[xz]}") (target <= 0.75)
  shell way, gzip URL                  ${t_shell[gz]} s
  plugin, gzip URL                     ${t_url[gz]} s   ratio to shell way $(ratio "${t_url[gz]}" "${t_shell[gz]}") (target <= 0.75)
  plugin peak RSS: file ${rss_file} MiB, xz ${rss_url[xz]} MiB, gzip ${rss_url[gz]} MiB (target <= 64)
REPORT

# Remove what the benchmark created.
for n in bench-curl bench-cli bench-plugin-file bench-plugin-xz bench-plugin-gz bench-shell-xz bench-shell-gzip; do
  openstack image delete "$n" >/dev/null 2>&1 || true
done
