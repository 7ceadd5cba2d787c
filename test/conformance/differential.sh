#!/usr/bin/env bash
# Runs the differential Glance + Keystone suite (test/realcloud/differential) against the test cloud:
# the same requests and the same expectations as against real Keystone 22 and Glance 25, so every
# failure is a difference of the emulator. Starts the built command standalone on 127.0.0.1, waits for
# its "ready" line, runs the suite, and stops the cloud whatever happens.
#
# Environment: DIFF_TOKEN_LIFETIME (default 45s: the token-expiry scenario waits that long; the real
# cloud uses 120s), DIFF_RUN (a go test -run pattern), DIFF_VERBOSE=1 (go test -v).
set -euo pipefail

repo=$(cd "$(dirname "$0")/../.." && pwd)
work=$(mktemp -d /tmp/testcloud-differential.XXXXXX)
cloud_pid=""
cleanup() {
  if [[ -n $cloud_pid ]]; then kill -TERM "$cloud_pid" 2>/dev/null || true; wait "$cloud_pid" 2>/dev/null || true; fi
  rm -rf "$work"
}
trap cleanup EXIT

# The suite serves web-download sources itself, on this port; the cloud is told to allow it.
web_port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
lifetime=${DIFF_TOKEN_LIFETIME:-45s}

(cd "$repo" && go build -o "$work/glance-testcloud" ./cmd/glance-testcloud)
"$work/glance-testcloud" --clouds-yaml "$work/clouds.yaml" --token-lifetime "$lifetime" --delay 200ms \
  --web-download-ports "$web_port" > "$work/cloud.log" 2>&1 &
cloud_pid=$!
for _ in $(seq 1 100); do grep -q ready "$work/cloud.log" 2>/dev/null && break; sleep 0.1; done
if ! grep -q ready "$work/cloud.log"; then cat "$work/cloud.log" >&2; echo "FAIL: the test cloud did not start" >&2; exit 1; fi
control=$(sed -n 's/^# control API: \([^ ]*\).*/\1/p' "$work/cloud.log")

args=(-count=1 -timeout 15m)
[[ ${DIFF_VERBOSE:-} == 1 ]] && args+=(-v)
[[ -n ${DIFF_RUN:-} ]] && args+=(-run "$DIFF_RUN")
status=0
(cd "$repo" && DIFF_CLOUDS_YAML="$work/clouds.yaml" DIFF_CLOUD=testcloud DIFF_WEB_PORT="$web_port" \
  DIFF_MAX_EXPIRY_WAIT=5m go test "${args[@]}" ./test/realcloud/differential/) || status=$?

# The suite deletes what it creates: anything left is reported (a leak of the suite, not of the cloud).
leaks=$(curl -fsS "$control/leaks" || true)
if python3 -c 'import json,sys; d=json.loads(sys.argv[1]); sys.exit(1 if any(d.values()) else 0)' "$leaks" 2>/dev/null; then
  echo "differential: nothing left behind"
else
  echo "differential: left behind: $leaks" >&2
fi
if ((status != 0)); then
  echo "FAIL: the test cloud differs from real Glance/Keystone (see above); cloud log:" >&2
  tail -n 50 "$work/cloud.log" >&2
fi
exit $status
