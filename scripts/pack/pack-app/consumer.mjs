// Every entry point resolves from ESM: named exports, the default export, and
// the side-effect import of zerocopy/register.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import { createRequire } from 'node:module';
import zDefault, {
  createReadStream,
  createWriteStream,
  pipeline,
  ReadStream,
  transferChannel,
  configure,
} from 'zerocopy';
import * as p from 'zerocopy/promises';
import 'zerocopy/register';

for (const f of [createReadStream, createWriteStream, pipeline, configure, p.pipeline, p.finished])
  assert.equal(typeof f, 'function');
assert.equal(zDefault.createReadStream, createReadStream);
assert.ok(createReadStream(new URL(import.meta.url)) instanceof fs.ReadStream);
assert.equal(transferChannel.name, 'zerocopy:transfer');
assert.equal(fs.ReadStream, ReadStream, 'zerocopy/register patched fs');
const { version } = createRequire(import.meta.url)('zerocopy/package.json');
console.log(
  `ok   ESM consumer: zerocopy (named + default), zerocopy/promises, zerocopy/register, zerocopy/package.json (${version})`,
);
