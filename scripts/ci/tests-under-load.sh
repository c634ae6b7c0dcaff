#!/usr/bin/env bash
# Usage: scripts/ci/tests-under-load.sh LOOPS [NODE_MAJOR...] [-- vitest args]
#
# Runs the vitest suite (or the files given after --) LOOPS times on each Node
# major (default: the machine's node), with a busy process spinning beside it:
# on these 2-core machines that is what makes races show themselves. Node
# 22/24/26 are fetched as CI fetches them (scripts/ci/ci-fetch-node.sh). Prints
# one line per run and, last, "N passed, N failed" counted in runs. Logs go to
# $TMPDIR/zerocopy-under-load (OUT to change it).
#
#   scripts/ci/tests-under-load.sh 20 20 22 24 26 -- test/differential test/socket-source.test.ts test/socket-source-trace.test.ts
set -uo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../.."
loops="${1:?usage: tests-under-load.sh LOOPS [NODE_MAJOR...] [-- vitest args]}"; shift
majors=()
while [ $# -gt 0 ] && [ "$1" != "--" ]; do majors+=("$1"); shift; done
[ "${1:-}" = "--" ] && shift
[ ${#majors[@]} -gt 0 ] || majors=("$(node -p 'process.versions.node.split(".")[0]')")
out="${OUT:-${TMPDIR:-/tmp}/zerocopy-under-load}"
mkdir -p "$out"
system_major="$(node -p 'process.versions.node.split(".")[0]')"

# BUSY=0: no busy process of its own (when several of these run at once,
# they are each other's load).
if [ "${BUSY:-1}" != 0 ]; then
  node -e 'for (;;) {}' &
  busy=$!
  trap 'kill $busy 2>/dev/null' EXIT
fi

passed=0 failed=0
for major in "${majors[@]}"; do
  if [ "$major" = "$system_major" ]; then bin="$(command -v node)"
  else bin="$(scripts/ci/ci-fetch-node.sh "$major")/node" || { echo "cannot fetch Node $major"; exit 1; }; fi
  for i in $(seq "$loops"); do
    log="$out/node$major-$i.log"
    if "$bin" node_modules/vitest/vitest.mjs run "$@" >"$log" 2>&1; then
      passed=$((passed + 1)); status=ok
    else
      failed=$((failed + 1)); status="FAILED ($log)"
    fi
    summary="$(sed 's/\x1b\[[0-9;]*m//g' "$log" | grep -E '^ +Tests ' | tail -n 1 | sed 's/^ *//')"
    echo "node $major run $i: $status  $summary"
    sed 's/\x1b\[[0-9;]*m//g' "$log" | grep -E '^ FAIL ' | sort -u | sed 's/^/    /'
  done
done
echo "$passed passed, $failed failed"
