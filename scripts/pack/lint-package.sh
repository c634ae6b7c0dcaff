#!/usr/bin/env bash
# Usage: scripts/pack/lint-package.sh [TARBALL]   (npm run lint:package)
#
# Lints the package as published, with the tools made for it: publint (the
# package.json fields against the files they point at) and
# @arethetypeswrong/cli (how TypeScript resolves every entry point under
# node10, node16 from CommonJS and from ESM, and bundler). Both run on the
# packed tarball (npm pack, unless one is given) and must report nothing:
# publint --strict makes its warnings errors; attw exits non-zero on any problem.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../.."
if [ $# -ge 1 ]; then
  tarball="$(readlink -f "$1")"
else
  scratch="$(mktemp -d "${TMPDIR:-/tmp}/zerocopy-lint.XXXXXX")"
  trap 'rm -rf "$scratch"' EXIT
  npm pack --pack-destination "$scratch" --silent >/dev/null
  tarball="$(ls "$scratch"/*.tgz)"
fi
rc=0
echo "--- publint $(basename "$tarball")"
node node_modules/publint/src/cli.js run --strict "$tarball" || rc=1
echo "--- attw $(basename "$tarball")"
node node_modules/@arethetypeswrong/cli/dist/index.js --format ascii "$tarball" || rc=1
exit "$rc"
