#!/usr/bin/env bash
# npm run prebuilds: the N-API binaries shipped in the npm package, found at run
# time by node-gyp-build (prebuilds/<platform>-<arch>/zerocopy.glibc.node):
#
#   prebuilds/linux-x64/zerocopy.glibc.node     built with the host g++
#   prebuilds/linux-arm64/zerocopy.glibc.node   cross-compiled with Debian's
#                                               g++-aarch64-linux-gnu
#
# Both with `prebuildify --napi --strip --tag-libc` (one N-API build serves Node
# 20-26; the glibc tag keeps node-gyp-build from offering them on musl), each in
# a scratch copy of binding.gyp + native/, so build/Release (the developer's and
# the tests' source build) is never touched. scripts/build/prebuild/glibc-compat.h is
# force-included so the binaries load on glibc >= 2.28 (Node's own floor); the
# script checks the symbol versions it ends up with.
#
#   --if-stale   only rebuild when a binary is missing or older than
#                binding.gyp, native/ or this script (used by `npm pack`)
#
# The cross compiler is installed with apt-get when missing (root or sudo).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../.."
ROOT="$PWD"
GLIBC_FLOOR="2.28"
ARCHES=(x64 arm64)

if [ "${1:-}" = "--if-stale" ]; then
  stale=""
  for arch in "${ARCHES[@]}"; do
    f="prebuilds/linux-$arch/zerocopy.glibc.node"
    if [ ! -f "$f" ] || [ -n "$(find binding.gyp native scripts/build/prebuild.sh scripts/build/prebuild -newer "$f" -print -quit)" ]; then
      stale="$stale $arch"
    fi
  done
  if [ -z "$stale" ]; then
    echo "prebuilds: up to date (${ARCHES[*]})"
    exit 0
  fi
  echo "prebuilds: rebuilding (missing or stale:$stale)"
fi

[ "$(uname -s)" = Linux ] || { echo "prebuilds: Linux only (glibc targets)" >&2; exit 1; }
[ "$(uname -m)" = x86_64 ] || { echo "prebuilds: expects an x86_64 host (arm64 is cross-compiled)" >&2; exit 1; }

if ! command -v aarch64-linux-gnu-g++ >/dev/null 2>&1; then
  echo "prebuilds: installing g++-aarch64-linux-gnu (apt-get)" >&2
  sudo=""; [ "$(id -u)" -eq 0 ] || sudo="sudo"
  export DEBIAN_FRONTEND=noninteractive
  $sudo apt-get update -qq
  $sudo apt-get install -y -qq --no-install-recommends g++-aarch64-linux-gnu >/dev/null
fi

scratch="$(mktemp -d "${TMPDIR:-/tmp}/zerocopy-prebuild.XXXXXX")"
trap 'rm -rf "$scratch"' EXIT

# build ARCH: prebuildify in $scratch/ARCH, leaving its log in $scratch/ARCH.log.
build() {
  local arch="$1" dir="$scratch/$1"
  mkdir -p "$dir"
  cp -r binding.gyp native package.json "$dir/"
  ln -s "$ROOT/node_modules" "$dir/node_modules"   # node-addon-api's headers, prebuildify, node-gyp
  local -a env=(CPPFLAGS="-include $ROOT/scripts/build/prebuild/glibc-compat.h")
  if [ "$arch" = arm64 ]; then
    env+=(CC=aarch64-linux-gnu-gcc CXX=aarch64-linux-gnu-g++ LINK=aarch64-linux-gnu-g++
          PREBUILD_STRIP_BIN=aarch64-linux-gnu-strip)
  fi
  (cd "$dir" && env "${env[@]}" node node_modules/prebuildify/bin.js --napi --strip --tag-libc --arch "$arch") \
    >"$scratch/$arch.log" 2>&1
}

# glibc_max FILE OBJDUMP: the highest GLIBC_x.y symbol version FILE needs.
glibc_max() {
  "$2" -T "$1" | grep -oE 'GLIBC_[0-9]+(\.[0-9]+)+' | sed 's/GLIBC_//' | sort -V | tail -n 1
}

pids=()
for arch in "${ARCHES[@]}"; do build "$arch" & pids+=($!); done
failed=0
for i in "${!ARCHES[@]}"; do
  arch="${ARCHES[$i]}"
  if ! wait "${pids[$i]}"; then
    echo "prebuilds: linux-$arch build FAILED; its log:" >&2
    sed 's/^/  /' "$scratch/$arch.log" >&2
    failed=1
  fi
done
[ "$failed" -eq 0 ] || exit 1

for arch in "${ARCHES[@]}"; do
  src="$scratch/$arch/prebuilds/linux-$arch/zerocopy.glibc.node"
  dst="prebuilds/linux-$arch/zerocopy.glibc.node"
  objdump=objdump; [ "$arch" = arm64 ] && objdump=aarch64-linux-gnu-objdump
  max="$(glibc_max "$src" "$objdump")"
  if [ "$(printf '%s\n%s\n' "$GLIBC_FLOOR" "$max" | sort -V | tail -n 1)" != "$GLIBC_FLOOR" ]; then
    echo "prebuilds: linux-$arch needs GLIBC_$max, above the $GLIBC_FLOOR floor:" >&2
    "$objdump" -T "$src" | grep -E "GLIBC_$max" >&2
    exit 1
  fi
  rm -rf "prebuilds/linux-$arch"
  mkdir -p "prebuilds/linux-$arch"
  cp "$src" "$dst"
  echo "prebuilds: $dst  $(stat -c %s "$dst") bytes, needs glibc >= $max"
done

# The host's own binary must load and report its fast paths.
node -e '
  const b = require(process.argv[1]);
  if (!b.supported) { console.error("prebuilds: linux-x64 binary loads but reports no fast paths"); process.exit(1); }
  console.log("prebuilds: linux-x64 loads on Node " + process.version);
' "$ROOT/prebuilds/linux-x64/zerocopy.glibc.node"
