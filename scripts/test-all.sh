#!/usr/bin/env bash
# make test-all: every tier. The real OpenStack services take ten minutes or more to install and
# start on a fresh machine, mostly downloading and unpacking packages, so their bring-up runs in the
# background while `make test` runs the test-cloud tiers; the real tiers follow once both are done.
# Usage: scripts/test-all.sh REAL_TIER...
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
mkdir -p .realcloud
log=.realcloud/bringup.log
start=$(date +%s)
test/realcloud/realcloud.sh up full >"$log" 2>&1 &
bringup=$!
status=0
make --no-print-directory test || status=$?
echo "test-all: make test ended with $status after $(($(date +%s) - start)) s; waiting for the real cloud" >&2
if ! wait "$bringup"; then
  tail -n 60 "$log" >&2
  echo "test-all: the real cloud did not come up (log: $log)" >&2
  exit 1
fi
echo "test-all: real cloud up after $(($(date +%s) - start)) s" >&2
((status == 0)) || exit "$status"
make --no-print-directory "$@"
echo "test-all: every tier passed in $(($(date +%s) - start)) s" >&2
