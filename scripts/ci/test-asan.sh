#!/usr/bin/env bash
# npm run test:asan [-- <vitest args>]
#
# Builds the addon with AddressSanitizer + UndefinedBehaviorSanitizer and runs
# the vitest suite (or the files given) against it, with the sanitizer runtimes
# preloaded into every process the tests start (Node itself is not
# instrumented, so libasan must come first in the link order: LD_PRELOAD).
#
# The build happens in a copy of this tree (the working tree as it is, without
# node_modules/build/dist, which is linked), so build/Release/zerocopy.node,
# which other processes may be using, is never touched. Last line:
# "test:asan: N passed, N failed (S s)"; the exit status is vitest's, or 1
# when a sanitizer reported anything (reports are listed before that line).
#
# Knobs: ZEROCOPY_ASAN_DIR (the copy; default a fresh mktemp dir, removed at
# the end unless ZEROCOPY_ASAN_KEEP=1), ZEROCOPY_ASAN_REPORTS (where the
# sanitizer reports go, default <copy>/asan-reports; kept when a report exists).
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
T0=$(date +%s)
WORK="${ZEROCOPY_ASAN_DIR:-$(mktemp -d "${TMPDIR:-/tmp}/zerocopy-asan.XXXXXX")}"
mkdir -p "$WORK"
rm -rf "$WORK/build" "$WORK/dist"   # a reused copy: no addon from an earlier build is loaded unpreloaded
REPORTS="${ZEROCOPY_ASAN_REPORTS:-$WORK/asan-reports}"

echo "test:asan: copying $ROOT to $WORK"
tar -C "$ROOT" --exclude=./node_modules --exclude=./build --exclude=./dist \
  --exclude=./.git --exclude=./.ci/out --exclude=./bench/out --exclude=./bench/bin \
  -cf - . | tar -C "$WORK" -xf -
ln -sfn "$ROOT/node_modules" "$WORK/node_modules"
cd "$WORK"

# -fno-sanitize-recover: the first undefined behaviour stops the process (a
# report that scrolls past in a passing run is easy to miss).
# float-cast-overflow is not part of -fsanitize=undefined, but a double from
# JavaScript cast to an integer is exactly what argument checks must prevent.
SAN="-fsanitize=address,undefined,float-cast-overflow -fno-sanitize-recover=undefined,float-cast-overflow"
export CXXFLAGS="$SAN -fno-omit-frame-pointer -g -O1"
export LDFLAGS="-fsanitize=address,undefined"
# TypeScript first: its ESM step loads dist/, which would load an ASan addon
# without the runtime preloaded.
npm run --silent build:ts
echo "test:asan: building the addon with $SAN"
npx --no-install node-gyp rebuild >"$WORK/asan-build.log" 2>&1 || { cat "$WORK/asan-build.log"; exit 1; }

LIBASAN="$(g++ -print-file-name=libasan.so)"
LIBUBSAN="$(g++ -print-file-name=libubsan.so)"
[ -e "$LIBASAN" ] && [ -e "$LIBUBSAN" ] || { echo "test:asan: libasan/libubsan not found (apt-get install g++)" >&2; exit 1; }
# (grep without -q: it reads all of nm's output, so pipefail never sees a SIGPIPE)
nm -D build/Release/zerocopy.node | grep __asan_init >/dev/null || { echo "test:asan: the addon was built without ASan" >&2; exit 1; }

mkdir -p "$REPORTS"
rm -f "$REPORTS"/*
# detect_leaks=0: Node does not free its isolate, V8 heap or libuv loop at exit
# (by design: the OS reclaims them faster), so LeakSanitizer reports thousands of
# allocations from Node and V8 that no suppression list keeps up with across
# Node 20-26; the addon's own allocations (workers, poll handles) are freed in
# its callbacks, which ASan still checks for use-after-free and double free.
# allow_user_segv_handler=1: Node installs a SIGSEGV handler for WebAssembly
# bounds checks (V8's trap handler); ASan must not refuse it.
# log_path: the tests start many processes (some with their stderr ignored); each
# writes its ASan report to its own file, checked below. A SIGSEGV outside an
# instrumented access (a jump into unmapped code) shows as the signal only:
# Node resets signal dispositions at startup, ASan's handler included.
export ASAN_OPTIONS="detect_leaks=0:allow_user_segv_handler=1:abort_on_error=1:halt_on_error=1:log_path=$REPORTS/asan"
# UBSan, preloaded beside ASan, writes to stderr whatever log_path says:
# abort_on_error makes each finding a SIGABRT a test sees, and vitest's output
# (which carries its workers' stderr) is searched for reports below.
export UBSAN_OPTIONS="halt_on_error=1:abort_on_error=1:print_stacktrace=1"
export LD_PRELOAD="$LIBASAN:$LIBUBSAN${LD_PRELOAD:+:$LD_PRELOAD}"
export ZEROCOPY_EXPECT_ADDON=1   # test/native-api.test.ts fails instead of skipping

echo "test:asan: node $(node --version), vitest run $*"
set +e
# Three times the config's hang guards: every Node process the tests start runs
# on ASan's allocator (a fixture server's start took over the 60 s hook limit
# beside other load).
npx --no-install vitest run --testTimeout=360000 --hookTimeout=180000 --reporter=default --reporter=json --outputFile.json="$WORK/asan-vitest.json" "$@" 2>&1 |
  tee "$WORK/asan-vitest.log"
RC=${PIPESTATUS[0]}
set -e
unset LD_PRELOAD

FOUND=0
for f in "$REPORTS"/*; do
  [ -e "$f" ] || continue
  FOUND=$((FOUND + 1))
  echo "=== sanitizer report: $f"; head -60 "$f"
done
COUNTS=$(node -e '
  const r = require(process.argv[1]);
  const files = r.numFailedTestSuites ? `, ${r.numFailedTestSuites} file(s) failed` : "";
  console.log(`${r.numPassedTests} passed, ${r.numFailedTests} failed${files}`);' "$WORK/asan-vitest.json" 2>/dev/null || echo "? passed, ? failed")
INLINE=$(grep -cE 'runtime error:|ERROR: AddressSanitizer' "$WORK/asan-vitest.log" || true)
if [ "$INLINE" -gt 0 ]; then
  echo "=== sanitizer reports in the test output ($INLINE lines; all in $WORK/asan-vitest.log):"
  grep -E -A12 'runtime error:|ERROR: AddressSanitizer' "$WORK/asan-vitest.log" | head -80
  FOUND=$((FOUND + INLINE))
fi
if [ "$FOUND" -gt 0 ]; then
  echo "test:asan: $FOUND sanitizer report(s), kept in $WORK"
  [ "$RC" -ne 0 ] || RC=1
elif [ -z "${ZEROCOPY_ASAN_DIR:-}" ] && [ "${ZEROCOPY_ASAN_KEEP:-0}" != 1 ]; then
  cd / && rm -rf "$WORK"
fi
echo "test:asan: $COUNTS ($(( $(date +%s) - T0 )) s)"
exit "$RC"
