#!/usr/bin/env bash
# Benchmark of our builder on the full real-cloud profile (issue 8): phase timings (boot, SSH ready,
# provision, stop, snapshot, cleanup) and API requests per service, RUNS builds (default 3), on a
# template comparable to the one the official openstack builder took 98-115 s and 48-52 requests on.
# Needs `make realcloud PROFILE=full` (make realcloud-full-bench brings it up first) and bin/packer.
set -euo pipefail
top=$(cd "$(dirname "${BASH_SOURCE[0]}")/../../.." && pwd)
cd "$top"
clouds=${REALCLOUD_FULL_CLOUDS_YAML:-$top/.realcloud/clouds.yaml}
log=${BENCH_LOG:-$(mktemp /tmp/realcloud-full-bench.XXXXXX.log)}
[[ -s $clouds ]] || { echo "bench: $clouds missing: run make realcloud PROFILE=full" >&2; exit 1; }
PACKER_ACC=1 REALCLOUD_FULL_BENCH=1 REALCLOUD_FULL_BENCH_RUNS=${RUNS:-3} REALCLOUD_FULL_CLOUDS_YAML=$clouds \
  go test -count=1 -timeout 30m -run '^TestAccFullBench$' -v ./test/realcloud/full/ >"$log" 2>&1 || status=$?
grep -E '^(BENCH|--- |ok|FAIL)' "$log" || true
if ((${status:-0})); then tail -n 60 "$log" >&2; echo "bench: failed (full log: $log)" >&2; exit 1; fi
echo "bench: full log in $log"
