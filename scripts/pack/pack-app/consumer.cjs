// Every entry point resolves from CommonJS, with the shapes the types promise.
'use strict';
const assert = require('node:assert/strict');
const fs = require('node:fs');
const z = require('zerocopy');
const p = require('zerocopy/promises');
require('zerocopy/register');
const pkg = require('zerocopy/package.json');
for (const k of [
  'createReadStream',
  'createWriteStream',
  'pipeline',
  'configure',
  'pipeStats',
  'drainPipePool',
  'transferStats',
]) {
  assert.equal(typeof z[k], 'function', `zerocopy.${k}`);
}
assert.ok(z.createReadStream(__filename) instanceof fs.ReadStream);
assert.equal(typeof p.pipeline, 'function');
assert.equal(typeof p.finished, 'function');
assert.equal(z.transferChannel.name, 'zerocopy:transfer');
assert.equal(fs.ReadStream, z.ReadStream, 'zerocopy/register patched fs');
console.log(
  `ok   CommonJS consumer: zerocopy, zerocopy/promises, zerocopy/register, zerocopy/package.json (${pkg.version})`,
);
