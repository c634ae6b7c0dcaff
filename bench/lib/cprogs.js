'use strict';
// The bench's C programs (bench/c/*.c), built into bench/bin/ with the system
// compiler: bench/c has no Makefile, so this file is the one place that knows
// how. bench/run.js rebuilds them all on every run; the tools under
// bench/tools build the ones they use when missing or older than their source
// (`node bench/lib/cprogs.js NAME...` from a shell script).
const fs = require('node:fs');
const path = require('node:path');
const { execFileSync } = require('node:child_process');

const SRC = path.join(__dirname, '..', 'c');
const BIN = path.join(__dirname, '..', 'bin');

const C_PROGRAMS = [
  'receiver',
  'sendfile_client',
  'cfr_copy',
  'splice_proxy',
  'echo_server',
  'pingpong',
  'http_client',
  'upload_server',
];

/** Path of a built program. */
const cbin = (name) => path.join(BIN, name);

/** Builds each named program (all by default), whether or not it is there. */
function buildC(names = C_PROGRAMS) {
  fs.mkdirSync(BIN, { recursive: true });
  for (const name of names) {
    execFileSync('cc', ['-O2', '-Wall', '-pthread', '-o', cbin(name), path.join(SRC, `${name}.c`)], {
      stdio: 'inherit',
    });
  }
}

/** Built before its source last changed, or not built at all. */
function stale(name) {
  const built = fs.statSync(cbin(name), { throwIfNoEntry: false });
  return !built || built.mtimeMs < fs.statSync(path.join(SRC, `${name}.c`)).mtimeMs;
}

/** Builds the named programs that are missing or stale; returns the path of the first. */
function ensureC(...names) {
  buildC(names.filter(stale));
  return cbin(names[0]);
}

if (require.main === module) ensureC(...process.argv.slice(2));

module.exports = { C_PROGRAMS, BIN, cbin, buildC, ensureC };
