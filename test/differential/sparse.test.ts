// Past 2 GiB: offsets and counters beyond 32 bits, on a sparse file (holes
// cost no disk), with data at the start, across the 2 GiB mark and at the end
// so a wrong offset changes the hash.
import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runBoth, tookFastPath } from '../helpers/trace';
import { tmpDir } from '../helpers/files';
import { closed, expectEquivalent, makeDest } from './common';
import { lightVolume } from '../helpers/volume';

const GiB = 1024 ** 3;
const SIZE = 2 * GiB + 4097 + 65536 * 3;
let dir: string;
let file: string;
let wholeHash: string;

beforeAll(() => {
  dir = tmpDir();
  file = path.join(dir, 'sparse');
  const fd = fs.openSync(file, 'w');
  fs.ftruncateSync(fd, SIZE);
  for (const [i, at] of [0, GiB, 2 * GiB - 4096 - 3, 2 * GiB + 100, SIZE - 70_000].entries()) {
    fs.writeSync(fd, crypto.createHash('sha512').update(`block ${i}`).digest().toString('hex').repeat(100), at);
  }
  fs.closeSync(fd);
  const h = crypto.createHash('sha256');
  const rfd = fs.openSync(file, 'r');
  const buf = Buffer.allocUnsafe(8 << 20);
  for (;;) {
    const n = fs.readSync(rfd, buf, 0, buf.length, null);
    if (n === 0) break;
    h.update(buf.subarray(0, n));
  }
  fs.closeSync(rfd);
  wholeHash = h.digest('hex');
}, 120_000);
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

describe('a sparse file larger than 2 GiB', () => {
  it.each(lightVolume ? ['tcp'] as const : ['ws-ours', 'tcp'] as const)('whole file to %s', async (kind) => {
    const r = await runBoth(async (ctx) => {
      const src = ctx.source('src', file);
      const dst = await makeDest(ctx, 'dst', kind);
      src.pipe(dst);
      await closed(ctx, 'src', 'dst');
    }, { timeoutMs: 120_000 });
    expectEquivalent(r);
    expect(r.node.outputs.dst).toEqual({ bytes: SIZE, sha256: wholeHash });
    expect(r.node.streams.src.state.bytesRead).toBe(SIZE);
    expect(tookFastPath(r.raw.zerocopy)).toBe(true);
  }, 300_000);
});
