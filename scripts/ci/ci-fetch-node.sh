#!/usr/bin/env bash
# Usage: scripts/ci/ci-fetch-node.sh MAJOR [CACHE_DIR] [ARCH]
#
# Makes a Node.js MAJOR binary available without touching package.json or the
# lockfile: the npm registry package node-linux-ARCH@MAJOR (ARCH x64 by
# default) ships it as package/bin/node. The binary is unpacked into
# CACHE_DIR/node-MAJOR/node, or CACHE_DIR/node-ARCH-MAJOR/node for another ARCH
# (default cache: $ZEROCOPY_CI_CACHE, else ${XDG_CACHE_HOME:-$HOME/.cache}/zerocopy-ci)
# and reused on later runs as long as it still runs and reports MAJOR. An arm64
# binary on an x86_64 host is run through qemu-aarch64-static
# (QEMU_LD_PREFIX=/usr/aarch64-linux-gnu, Debian's cross libc), which the
# caller provides (scripts/pack/arm64-check.sh).
#
# Prints the directory holding `node` as the only line on stdout (progress goes
# to stderr), so callers can do: PATH="$(scripts/ci/ci-fetch-node.sh 22):$PATH".
set -euo pipefail

major="${1:?usage: ci-fetch-node.sh MAJOR [CACHE_DIR]}"
case "$major" in (*[!0-9]*|'') echo "ci-fetch-node: MAJOR must be a number, got '$major'" >&2; exit 2;; esac
cache="${2:-${ZEROCOPY_CI_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/zerocopy-ci}}"
arch="${3:-x64}"
pkg="node-linux-$arch"
dir="$cache/node-$major"
run=()
if [ "$arch" != x64 ]; then
  dir="$cache/node-$arch-$major"
  [ "$arch" = arm64 ] && [ "$(uname -m)" != aarch64 ] && run=(env QEMU_LD_PREFIX=/usr/aarch64-linux-gnu qemu-aarch64-static)
fi

works() { # prints the version if $dir/node runs and is the wanted major
  local v
  [ -x "$dir/node" ] || return 1
  v="$("${run[@]}" "$dir/node" -p process.versions.node 2>/dev/null)" || return 1
  [ "${v%%.*}" = "$major" ] || return 1
  echo "$v"
}

if v="$(works)"; then
  echo "ci-fetch-node: using cached Node $v at $dir/node" >&2
  echo "$dir"
  exit 0
fi

mkdir -p "$cache"
tmp="$(mktemp -d "$cache/.fetch-$major.XXXXXX")"
trap 'rm -rf "$tmp"' EXIT

echo "ci-fetch-node: npm pack $pkg@$major ..." >&2
# npm pack resolves the highest published $major.x.y; npm's own cache makes repeats cheap.
tgz=""
for attempt in 1 2 3; do
  if tgz="$(cd "$tmp" && npm pack "$pkg@$major" --silent --pack-destination "$tmp" 2>"$tmp/npm.err" | tail -n 1)" \
     && [ -n "$tgz" ] && [ -f "$tmp/$tgz" ]; then
    break
  fi
  echo "ci-fetch-node: attempt $attempt failed:" >&2
  sed 's/^/  /' "$tmp/npm.err" >&2 || true
  tgz=""
  sleep $((attempt * 3))
done
[ -n "$tgz" ] || { echo "ci-fetch-node: could not download $pkg@$major" >&2; exit 1; }

mkdir -p "$tmp/out"
tar -xzf "$tmp/$tgz" -C "$tmp/out" --strip-components=2 package/bin/node
chmod 755 "$tmp/out/node"

# Swap in atomically enough for a cache: replace the old directory, if any.
rm -rf "$dir"
mv "$tmp/out" "$dir"
if ! v="$(works)"; then
  echo "ci-fetch-node: $dir/node from $tgz does not run as Node $major" >&2
  exit 1
fi
echo "ci-fetch-node: installed Node $v ($tgz) at $dir/node" >&2
echo "$dir"
