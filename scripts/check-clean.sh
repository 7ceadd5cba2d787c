#!/usr/bin/env bash
# Fails when the given paths differ from what git has committed, or hold files git
# does not know: used after `make generate` to catch stale generated files.
set -euo pipefail
cd "$(dirname "$0")/.."
changes=$(git status --porcelain -- "$@")
if [[ -n $changes ]]; then
  echo "generated files are stale; run 'make generate' and commit:" >&2
  echo "$changes" >&2
  git --no-pager diff --stat -- "$@" >&2
  exit 1
fi
