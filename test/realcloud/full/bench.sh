#!/usr/bin/env bash
# Benchmark of our builder on the full real-cloud profile (issues 8 and 14): per run, the wall time,
# the cloud's own critical path for the same build (Nova's instance actions, timed by the services'
# logs; port 22 probed every 100 ms), the overhead (wall minus critical path) and where it went, the
# API requests and the load average; then medians. RUNS builds (default 3).
# OFFICIAL=1 also runs HashiCorp's openstack builder (built by official.sh, never in CI) on the same
# template, alternating with ours, and compares the two.
# Needs `make realcloud PROFILE=full` (make realcloud-full-bench brings it up first) and bin/packer.
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
top=$(cd "$here/../../.." && pwd)
cd "$top"
clouds=${REALCLOUD_FULL_CLOUDS_YAML:-$top/.realcloud/clouds.yaml}
log=${BENCH_LOG:-$(mktemp /tmp/realcloud-full-bench.XXXXXX.log)}
[[ -s $clouds ]] || { echo "bench: $clouds missing: run make realcloud PROFILE=full" >&2; exit 1; }
official=
if [[ ${OFFICIAL:-0} == 1 ]]; then official=$("$here/official.sh"); fi
echo "bench: $(uptime)"
PACKER_ACC=1 REALCLOUD_FULL_BENCH=1 REALCLOUD_FULL_BENCH_RUNS=${RUNS:-3} REALCLOUD_FULL_CLOUDS_YAML=$clouds \
  REALCLOUD_FULL_BENCH_OFFICIAL=$official \
  go test -count=1 -timeout 60m -run '^TestAccFullBench$' -v ./test/realcloud/full/ >"$log" 2>&1 || status=$?
grep -E '^(BENCH|--- |ok|FAIL)' "$log" || true
echo "bench: $(uptime)"
if ((${status:-0})); then tail -n 60 "$log" >&2; echo "bench: failed (full log: $log)" >&2; exit 1; fi
echo "bench: full log in $log"
