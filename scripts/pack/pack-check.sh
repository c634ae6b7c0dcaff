#!/usr/bin/env bash
# Usage: scripts/pack/pack-check.sh [TARBALL]
#
# zerocopy as a user receives it: the packed tarball (npm pack, unless one is
# given), installed into fresh apps in a scratch directory outside the repo.
#
#   contents   what the tarball holds (and must not), its packed/unpacked size
#   prebuilt   PATH without a compiler, python or make: the install compiles
#              nothing and warns nothing; the core scenarios, `node --require
#              zerocopy/register` and `node --import zerocopy/register` take the
#              kernel path (diagnostics channel, NODE_DEBUG=zerocopy); CommonJS
#              and ESM consumers resolve every entry point; tsc checks the
#              shipped .d.ts/.d.mts under moduleResolution node16 and bundler
#   fallback   the same tarball without prebuilds/, still no compiler: the
#              install succeeds with one warning on stderr, and everything
#              works on the normal path, which the channel says
#   source     without prebuilds/, with the system's compiler: the install
#              script compiles the shipped native/ + binding.gyp, and the
#              scenarios take the kernel path (PACK_CHECK_SOURCE=0 skips it)
#
# PACK_CHECK_KEEP=1 keeps the scratch directory. Exit status: 0 when all pass.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../.."
ROOT="$PWD"
# The checks expect the defaults: the fast path on, its usual threshold.
unset ZEROCOPY_DISABLE ZEROCOPY_MIN_BYTES
APP_FILES="$ROOT/scripts/pack/pack-app"
# What the fresh apps install beside zerocopy for the TypeScript consumers.
TS_DEPS=(typescript@~5.9.3 @types/node@^20.19.0)

scratch="$(mktemp -d "${TMPDIR:-/tmp}/zerocopy-pack-check.XXXXXX")"
if [ "${PACK_CHECK_KEEP:-0}" = 1 ]; then echo "pack-check: scratch kept at $scratch"
else trap 'rm -rf "$scratch"' EXIT; fi
case "$scratch" in ("$ROOT"/*) echo "pack-check: scratch must be outside the repo" >&2; exit 1;; esac

failures=0
fail() { echo "FAIL $*"; failures=$((failures + 1)); }
phase() { echo; echo "--- pack-check: $* (+$(( $(date +%s) - T0 ))s)"; }
T0=$(date +%s)

# ------------------------------------------------------------ the tarball --
if [ $# -ge 1 ]; then
  tarball="$(readlink -f "$1")"
else
  phase "npm pack"
  npm pack --pack-destination "$scratch" --json > "$scratch/pack.json"
  tarball="$scratch/$(node -p 'require(process.argv[1])[0].filename' "$scratch/pack.json")"
fi
phase "contents of $(basename "$tarball")"
tar -tzf "$tarball" | sed 's|^package/||' | sort > "$scratch/files.txt"
node -e '
  const fs = require("node:fs"), zlib = require("node:zlib");
  const files = fs.readFileSync(process.argv[1], "utf8").trim().split("\n");
  const raw = zlib.gunzipSync(fs.readFileSync(process.argv[2]));
  // Unpacked size: the sum of the tar members (512-byte headers give each size).
  let unpacked = 0;
  for (let off = 0; off + 512 <= raw.length;) {
    const size = parseInt(raw.subarray(off + 124, off + 136).toString().replace(/\0.*$/s, "").trim() || "0", 8);
    if (!raw.subarray(off, off + 100).toString().replace(/\0.*$/s, "")) break;
    unpacked += size; off += 512 + Math.ceil(size / 512) * 512;
  }
  const groups = {};
  for (const f of files) { const top = f.includes("/") ? f.split("/")[0] + "/" : f; groups[top] = (groups[top] || 0) + 1; }
  console.log(`packed ${fs.statSync(process.argv[2]).size} bytes, unpacked ${unpacked} bytes, ${files.length} files:`);
  console.log("  " + Object.entries(groups).map(([k, n]) => `${k} ${n}`).join(", "));
' "$scratch/files.txt" "$tarball"
for need in LICENSE README.md package.json binding.gyp scripts/build/install.js native/addon.cc \
            dist/index.js dist/index.mjs dist/index.d.ts dist/index.d.mts dist/register.js dist/register.mjs \
            dist/promises.js dist/promises.d.mts \
            prebuilds/linux-x64/zerocopy.glibc.node prebuilds/linux-arm64/zerocopy.glibc.node; do
  grep -qxF "$need" "$scratch/files.txt" || fail "tarball lacks $need"
done
if unwanted="$(grep -P '^(test|bench|src|\.ci|build|node_modules)/|\.map$|^scripts/(?!build/install\.js$)' "$scratch/files.txt")"; then
  fail "tarball holds files users do not need:"; echo "$unwanted" | sed 's/^/  /'
fi

# ------------------------------------------------ a PATH with no toolchain --
nocc="$scratch/nocc-bin"
mkdir -p "$nocc"
for tool in node npm npx sh bash env cat ls mkdir rm cp mv ln tar gzip grep sed head tail \
            mkfifo uname id date dirname basename readlink mktemp tr wc sort cut find xargs touch chmod; do
  p="$(command -v "$tool" || true)"; [ -n "$p" ] && ln -sf "$p" "$nocc/$tool"
done
NOCC_PATH="$nocc"
for tool in cc c++ gcc g++ clang clang++ make gmake python3 python node-gyp; do
  if PATH="$NOCC_PATH" command -v "$tool" >/dev/null 2>&1; then fail "the no-compiler PATH still finds $tool"; fi
done
# Nothing from the environment may hand node-gyp a toolchain or python either.
NOCC_ENV=(env -u CC -u CXX -u PYTHON -u npm_config_python -u npm_config_node_gyp PATH="$NOCC_PATH")

# new_app DIR TARBALL LOG ts|no-ts [ENV...]: a fresh app with zerocopy (and, with
# ts, the TypeScript consumers' deps) installed, ENV... prefixed to npm.
new_app() {
  local dir="$1" tgz="$2" log="$3" ts="$4"; shift 4
  local -a extra=()
  [ "$ts" = ts ] && extra=("${TS_DEPS[@]}")
  mkdir -p "$dir"
  cp -r "$APP_FILES"/. "$dir/"
  printf '{ "name": "fresh-app", "version": "1.0.0", "private": true }\n' > "$dir/package.json"
  # --foreground-scripts: the install script's own output reaches the log.
  (cd "$dir" && "$@" npm install --no-audit --no-fund --prefer-offline --foreground-scripts \
      "$tgz" "${extra[@]}") >"$log.out" 2>"$log.err"
}

# run_app DIR EXPECT LABEL ts|no-ts ENV...: the scenarios, both register hooks,
# the consumers and, with ts, tsc (the types do not depend on prebuilds/).
run_app() {
  local dir="$1" expect="$2" label="$3" ts="$4"; shift 4
  local -a run=("$@" EXPECT="$expect")
  (cd "$dir" && "${run[@]}" node scenarios.cjs) || fail "$label: scenarios"
  (cd "$dir" && "${run[@]}" NODE_DEBUG=zerocopy node --require zerocopy/register register-app.cjs 2>"$dir/debug.err") \
    || fail "$label: node --require zerocopy/register"
  if [ "$expect" = fast ]; then
    grep -q '^ZEROCOPY [0-9]*: sendfile ' "$dir/debug.err" && echo "ok   NODE_DEBUG=zerocopy: $(grep -m1 ': sendfile ' "$dir/debug.err")" \
      || { fail "$label: NODE_DEBUG=zerocopy shows no sendfile"; cat "$dir/debug.err"; }
  else
    grep -q 'native addon unavailable' "$dir/debug.err" && echo "ok   NODE_DEBUG=zerocopy: $(grep -m1 'native addon unavailable' "$dir/debug.err")" \
      || { fail "$label: NODE_DEBUG=zerocopy does not say the addon is unavailable"; cat "$dir/debug.err"; }
  fi
  (cd "$dir" && "${run[@]}" node --import zerocopy/register register-app.mjs) || fail "$label: node --import zerocopy/register"
  (cd "$dir" && "${run[@]}" node consumer.cjs) || fail "$label: CommonJS consumer"
  (cd "$dir" && "${run[@]}" node consumer.mjs) || fail "$label: ESM consumer"
  [ "$ts" = ts ] || return 0
  local cfg pids=()
  for cfg in ts-node16 ts-bundler; do   # two cores: both at once
    (cd "$dir" && "${run[@]}" node node_modules/typescript/bin/tsc -p "$cfg" >"$dir/$cfg.log" 2>&1) & pids+=($!)
  done
  for cfg in ts-node16 ts-bundler; do
    if wait "${pids[0]}"; then echo "ok   tsc -p $cfg (moduleResolution ${cfg#ts-}) against the shipped types"
    else fail "$label: tsc -p $cfg"; cat "$dir/$cfg.log"; fi
    pids=("${pids[@]:1}")
  done
}

# ------------------------------------------------------------- prebuilt ----
phase "prebuilt: install with no compiler, python or make in PATH"
app="$scratch/app-prebuilt"
if new_app "$app" "$tarball" "$scratch/install-prebuilt" ts "${NOCC_ENV[@]}"; then
  grep -h 'zerocopy' "$scratch/install-prebuilt.out" "$scratch/install-prebuilt.err" | sed 's/^/  install: /' || true
  if grep -q '^zerocopy: ' "$scratch/install-prebuilt.err"; then fail "prebuilt: the install warned"; fi
  grep -qF 'zerocopy: using prebuilds/linux-x64/zerocopy.glibc.node' "$scratch/install-prebuilt.out" \
    || echo "  (the install script did not run or said nothing: npm may have skipped it; the prebuild needs none)"
  [ ! -e "$app/node_modules/zerocopy/build" ] || fail "prebuilt: the install compiled something (build/ exists)"
  run_app "$app" fast prebuilt ts "${NOCC_ENV[@]}"
else
  fail "prebuilt: npm install"; cat "$scratch/install-prebuilt.err"
fi

# ------------------------------------------------------------- fallback ----
phase "fallback: the tarball without prebuilds/, no compiler"
mkdir -p "$scratch/repack"
tar -xzf "$tarball" -C "$scratch/repack"
rm -rf "$scratch/repack/package/prebuilds"
noprebuild="$scratch/zerocopy-noprebuild.tgz"
tar -czf "$noprebuild" -C "$scratch/repack" package
app="$scratch/app-fallback"
if new_app "$app" "$noprebuild" "$scratch/install-fallback" no-ts "${NOCC_ENV[@]}"; then
  warnings="$(grep -c '^zerocopy: ' "$scratch/install-fallback.err" || true)"
  grep '^zerocopy: ' "$scratch/install-fallback.err" | sed 's/^/  install stderr: /' || true
  if [ "$warnings" = 1 ]; then echo "ok   fallback: the install succeeded with one warning"
  else fail "fallback: expected exactly one 'zerocopy:' warning on stderr, got $warnings"; cat "$scratch/install-fallback.err"; fi
  run_app "$app" normal fallback no-ts "${NOCC_ENV[@]}"
else
  fail "fallback: npm install failed"; cat "$scratch/install-fallback.err"
fi

# --------------------------------------------------------------- source ----
if [ "${PACK_CHECK_SOURCE:-1}" = 1 ]; then
  phase "source: the tarball without prebuilds/, with the system's compiler"
  app="$scratch/app-source"
  if new_app "$app" "$noprebuild" "$scratch/install-source" no-ts env; then
    grep -h '^zerocopy: ' "$scratch/install-source.out" "$scratch/install-source.err" | sed 's/^/  install: /' || true
    grep -q '^zerocopy: built build/Release/zerocopy.node' "$scratch/install-source.out" \
      || { fail "source: the install script did not build the addon"; tail -n 30 "$scratch/install-source.err"; }
    (cd "$app" && EXPECT=fast node scenarios.cjs) || fail "source: scenarios"
  else
    fail "source: npm install failed"; cat "$scratch/install-source.err"
  fi
fi

echo
echo "pack-check: $failures failure(s) in $(( $(date +%s) - T0 ))s"
[ "$failures" -eq 0 ]
