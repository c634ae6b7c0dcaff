// Past 2 GiB: offsets and counters beyond 32 bits, on a sparse file (holes
// cost no disk), with data at the start, across the 2 GiB mark and at the end
// so a wrong offset changes the hash.
import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { tmpDir } from '../helpers/files';
import { runBoth, tookFastPath } from '../helpers/trace';
import { lightVolume } from '../helpers/volume';
import { closed, expectEquivalent, makeDest } from './common';

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
  if (!lightVolume) wholeHash = hashRange(0, SIZE - 1);
}, 120_000);
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

function hashRange(start: number, end: number): string {
  const h = crypto.createHash('sha256');
  const rfd = fs.openSync(file, 'r');
  const buf = Buffer.allocUnsafe(8 << 20);
  for (let at = start; at <= end; ) {
    const n = fs.readSync(rfd, buf, 0, Math.min(buf.length, end + 1 - at), at);
    if (n === 0) break;
    h.update(buf.subarray(0, n));
    at += n;
  }
  fs.closeSync(rfd);
  return h.digest('hex');
}

describe('a sparse file larger than 2 GiB', () => {
  // The whole file: every counter and offset past 32 bits, on Node 20's
  // full-volume run (a 2 GiB stock run takes ~20 s).
  it.skipIf(lightVolume).each(['ws-ours', 'tcp'] as const)(
    'whole file to %s',
    async (kind) => {
      const r = await runBoth(
        async (ctx) => {
          const src = ctx.source('src', file);
          const dst = await makeDest(ctx, 'dst', kind);
          src.pipe(dst);
          await closed(ctx, 'src', 'dst');
        },
        { timeoutMs: 120_000 },
      );
      expectEquivalent(r);
      expect(r.node.outputs.dst).toEqual({ bytes: SIZE, sha256: wholeHash });
      expect(r.node.streams.src.state.bytesRead).toBe(SIZE);
      expect(tookFastPath(r.raw.zerocopy)).toBe(true);
    },
    300_000,
  );

  // On every run: a { start, end } range that begins below 2 GiB and ends
  // past it, so offsets cross 2^31 inside one transfer on each Node version.
  it.each(['ws-ours', 'tcp'] as const)(
    'a range across the 2 GiB mark to %s',
    async (kind) => {
      const start = 2 * GiB - 24 * 1024 * 1024 - 5;
      const end = 2 * GiB + 4097 + 65536;
      const r = await runBoth(
        async (ctx) => {
          const src = ctx.source('src', file, { start, end });
          const dst = await makeDest(ctx, 'dst', kind);
          src.pipe(dst);
          await closed(ctx, 'src', 'dst');
        },
        { timeoutMs: 120_000 },
      );
      expectEquivalent(r);
      expect(r.node.outputs.dst).toEqual({ bytes: end + 1 - start, sha256: hashRange(start, end) });
      expect(r.node.streams.src.state.bytesRead).toBe(end + 1 - start);
      expect(tookFastPath(r.raw.zerocopy)).toBe(true);
    },
    300_000,
  );
});
