#!/usr/bin/env bash
# Benchmark of copy_to (never a timed test): a 1 GiB image of RegionOne copied to kz-ala-1 under two
# names (two copy_to blocks: one read, two writes), against one plain `curl -T` upload of the same
# image to kz-ala-1. It prints both wall times, their ratio (target <= 1.5: the read is fanned out, not
# repeated per target) and the engine's peak RSS. Environment:
#   BENCH_SIZE_MIB     image size (default 1024)
#   BENCH_CLOUDS_YAML  a clouds.yaml to use instead of starting the test cloud (e.g. .realcloud/clouds.yaml)
#   BENCH_CLOUD        the cloud entry in it (default testcloud)
#   BENCH_TARGET       the copies' region (default kz-ala-1)
#   BENCH_SOURCE_REGION the source's region (default RegionOne), for the two-Glances comparison
#   BENCH_KEEP=1       keep the work folder
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
size=${BENCH_SIZE_MIB:-1024}
target=${BENCH_TARGET:-kz-ala-1}
work=$(mktemp -d /tmp/glance-copy-bench.XXXXXX)
pids=()
src_id=""
cleanup() {
  if [[ -n $src_id ]]; then curl -fsS -o /dev/null -X DELETE -H "X-Auth-Token: $token1" "${endpoint1}images/$src_id" || true; fi
  if [[ -n ${curl_id:-} ]]; then curl -fsS -o /dev/null -X DELETE -H "X-Auth-Token: $token2" "${endpoint2}images/$curl_id" || true; fi
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
  [[ ${BENCH_KEEP:-0} == 1 ]] || rm -rf "$work"
}
trap cleanup EXIT

need() { command -v "$1" >/dev/null || { echo "bench: $1 is missing (make deps)" >&2; exit 1; }; }
need curl; need python3

cd "$root"
go build -o "$work/importbench" ./bench/importbench
go build -o "$work/copybench" ./bench/copybench
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

now() { date +%s.%N; }
elapsed() { python3 -c "print(f'{$2 - $1:.2f}')"; }
ratio() { python3 -c "print(f'{$1 / $2:.2f}')"; }
drop_caches() { sync; echo 1 >/proc/sys/vm/drop_caches 2>/dev/null || true; }

echo "bench: generating a ${size} MiB image and importing it into the source region (not timed)" >&2
"$work/importbench" -generate "$work/disk.raw" -size "$size"
read -r endpoint1 token1 < <("$work/importbench" -endpoint 2>/dev/null)
src_id=$("$work/importbench" -file "$work/disk.raw" -name bench-copy-source 2>"$work/import.log" | sed -n 's/.*image=\([^ ]*\).*/\1/p')
[[ -n $src_id ]] || { cat "$work/import.log"; exit 1; }
read -r endpoint2 token2 < <(OS_REGION_NAME=$target "$work/importbench" -endpoint 2>/dev/null)
[[ $endpoint1 != "$endpoint2" ]] || { echo "bench: region $target has the same image endpoint as the source's" >&2; exit 1; }

# 1. One plain upload of the same bytes to the target region (the ceiling of one write).
curl_id=$(curl -fsS -X POST -H "X-Auth-Token: $token2" -H "Content-Type: application/json" \
  -d '{"name": "bench-copy-curl", "disk_format": "raw", "container_format": "bare"}' "${endpoint2}images" |
  python3 -c 'import json, sys; print(json.load(sys.stdin)["id"])')
drop_caches; t0=$(now)
curl -fsS -X PUT -H "X-Auth-Token: $token2" -H "Content-Type: application/octet-stream" -T "$work/disk.raw" "${endpoint2}images/$curl_id/file"
t_curl=$(elapsed "$t0" "$(now)")

# 2. The copy engine with one copy_to block: one read, one write.
drop_caches
out=$("$work/copybench" -image "$src_id" -region "$target" -names bench-copy-0 2>"$work/copy1.log") ||
  { cat "$work/copy1.log"; exit 1; }
t_one=$(sed -n 's/^seconds=\([0-9.]*\).*/\1/p' <<<"$out")

# 3. The copy engine with two copy_to blocks: one read of the source image, two copies.
drop_caches
out=$("$work/copybench" -image "$src_id" -region "$target" -names bench-copy-1,bench-copy-2 2>"$work/copy.log") ||
  { cat "$work/copy.log"; exit 1; }
t_copy=$(sed -n 's/^seconds=\([0-9.]*\).*/\1/p' <<<"$out")
methods=$(sed -n 's/.*methods=\([^ ]*\).*/\1/p' <<<"$out")
rss=$(sed -n 's/.*peak_rss_mib=\([0-9]*\).*/\1/p' <<<"$out")
cpu=$(sed -n 's/.*cpu_seconds=\([0-9.]*\).*/\1/p' <<<"$out")

# 4. For comparison: two copies into two Glances (the target region and the source's own), which
# can take their writes at the same time.
drop_caches
source_region=${BENCH_SOURCE_REGION:-RegionOne}
out=$("$work/copybench" -image "$src_id" -region "$target" -names "bench-copy-3,bench-copy-4@$source_region" 2>"$work/copy2.log") ||
  { cat "$work/copy2.log"; exit 1; }
t_two_glances=$(sed -n 's/^seconds=\([0-9.]*\).*/\1/p' <<<"$out")

cat <<REPORT
copy_to benchmark: ${size} MiB image, cloud ${OS_CLOUD}, copies to ${target}, $(nproc) cores, load $(cut -d' ' -f1-3 /proc/loadavg)
  one curl -T upload to ${target}              ${t_curl} s
  one copy (one read, one write)                ${t_one} s   ratio $(ratio "$t_one" "$t_curl")
  two copies (one read, two writes: ${methods})   ${t_copy} s   ratio $(ratio "$t_copy" "$t_curl") (target <= 1.5); $(ratio "$t_copy" "$(python3 -c "print(2 * $t_one)")") of two copies made one after the other
  two copies into two Glances (${target}, ${source_region})   ${t_two_glances} s   ratio $(ratio "$t_two_glances" "$t_curl")
  engine peak RSS ${rss} MiB, CPU ${cpu} s (the rest of the CPU is the clouds': each write hashes the data again)
REPORT
