// Whole-file transfers: every size × destination × way of piping gives the
// same trace with Node's streams and with ours, and ours really ran in the
// kernel. File destinations are created and piped in the same tick, so
// pipe() always meets a WriteStream that is still opening.
import * as fs from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { tmpDir } from '../helpers/files';
import { runBoth, tookFastPath } from '../helpers/trace';
import { closed, DEST_KINDS, expectEquivalent, kernelExpected, MiB, makeDest, makeSource } from './common';

const SIZES = [0, 1, 4096, 65536 + 7, 3 * MiB];
const MODES = ['pipe', 'pipeline', 'promises'] as const;

let dir: string;
const files = new Map<number, string>();

beforeAll(() => {
  dir = tmpDir();
  for (const size of SIZES) files.set(size, makeSource(dir, `src-${size}`, size, size));
});
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

describe.each(SIZES)('%i bytes', (size) => {
  describe.each(DEST_KINDS)('to %s', (kind) => {
    it.each(MODES)('via %s: same trace as Node, through the kernel', async (mode) => {
      const file = files.get(size)!;
      const r = await runBoth(
        async (ctx) => {
          const src = ctx.source('src', file);
          const dst = await makeDest(ctx, 'dst', kind);
          if (mode === 'pipe') {
            ctx.note('pipe() returns dst', src.pipe(dst) === dst);
          } else if (mode === 'pipeline') {
            await ctx.pipeline('pipeline', src, dst);
          } else {
            await ctx.pipelinePromise('promises', src, dst);
          }
          await closed(ctx, 'src', 'dst');
        },
        {
          order: [
            ['src:end', 'dst:finish'],
            ['src:end', 'dst:unpipe'],
            ...(mode === 'pipe' ? [] : [['dst:finish', `result:${mode}`] as [string, string]]),
          ],
        },
      );
      expectEquivalent(r);
      expect(r.node.outputs.dst.bytes).toBe(size);
      if (kernelExpected(size, kind)) {
        expect(tookFastPath(r.raw.zerocopy), JSON.stringify(r.raw.zerocopy.transfers)).toBe(true);
      }
    });
  });
});
