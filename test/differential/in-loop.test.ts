// Small and cached files read in the event loop (src/paths/in-loop-fs.ts):
// every consumer sees the trace Node's own streams give, chunk sizes
// included, and the zerocopy run really opened, read and closed in the loop.
import * as crypto from 'node:crypto';
import * as dc from 'node:diagnostics_channel';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { learnMounts } from '../../dist/internal.js';
import { fastPathOff, type RunCtx, runBoth } from '../helpers/trace';
import { closed, expectEquivalent, KiB, makeDest, makeSource } from './common';

const SIZES = [0, 1, 4096, 64 * KiB, 64 * KiB + 1, 200 * KiB];

let dir: string;
const files = new Map<number, string>();

beforeAll(async () => {
  dir = fs.mkdtempSync(path.join(require('node:os').tmpdir(), 'zerocopy-inloop-'));
  for (const size of SIZES) {
    files.set(size, makeSource(dir, `src-${size}`, size, size + 3));
    fs.readFileSync(files.get(size)!); // cached
  }
  await learnMounts();
});
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

/** Records where this module's opens and closes ran while `run` runs. */
async function whereItRan<T>(run: () => Promise<T>): Promise<{ result: T; ops: string[] }> {
  const ops: string[] = [];
  const listener = (m: unknown): void => {
    const msg = m as { op: string; where: string; path?: string };
    if (msg.op !== 'read') ops.push(`${msg.op} ${msg.where}`);
  };
  dc.subscribe('zerocopy:file', listener);
  try {
    return { result: await run(), ops };
  } finally {
    dc.unsubscribe('zerocopy:file', listener);
  }
}

/** A 'data' consumer: the chunk sizes it saw and a hash of the bytes are notes, compared. */
async function consume(ctx: RunCtx, src: fs.ReadStream): Promise<void> {
  const h = crypto.createHash('sha256');
  const chunks: number[] = [];
  src.on('data', (c: Buffer | string) => {
    h.update(c);
    chunks.push(c.length);
  });
  await ctx.once('src', 'close');
  ctx.note('data', { chunks, sha256: h.digest('hex') });
}

const expectInLoop = (ops: string[]): void => {
  if (fastPathOff) expect(ops).toEqual([]);
  else expect(ops).toEqual(['open loop', 'close loop']);
};

describe.each(SIZES)('%i bytes, cached', (size) => {
  it("a 'data' consumer: same chunks, events and state as Node", async () => {
    const { result: r, ops } = await whereItRan(() =>
      runBoth(async (ctx) => consume(ctx, ctx.source('src', files.get(size)!))),
    );
    expectEquivalent(r);
    expect((r.node.notes.data as { chunks: number[] }).chunks.reduce((a, b) => a + b, 0)).toBe(size);
    expectInLoop(ops);
  });

  it.each(['tcp', 'ws-node'] as const)('pipe() to %s: same trace as Node', async (kind) => {
    const { result: r, ops } = await whereItRan(() =>
      runBoth(async (ctx) => {
        const src = ctx.source('src', files.get(size)!);
        const dst = await makeDest(ctx, 'dst', kind);
        src.pipe(dst);
        await closed(ctx, 'src', 'dst');
      }),
    );
    expectEquivalent(r);
    expect(r.node.outputs.dst.bytes).toBe(size);
    expectInLoop(ops);
  });
});

describe('options and surprises, in the loop as with Node', () => {
  const file = () => files.get(200 * KiB)!;

  it.each([
    ['start and end', { start: 1000, end: 70_000 }],
    ['a small highWaterMark', { highWaterMark: 1000 }],
    ['an encoding', { encoding: 'latin1' as const }],
    ['start past the end', { start: 1 << 20 }],
  ])('%s', async (_name, options) => {
    const { result: r, ops } = await whereItRan(() =>
      runBoth(async (ctx) => consume(ctx, ctx.source('src', file(), options))),
    );
    expectEquivalent(r);
    expectInLoop(ops);
  });

  it("the file truncated once 'open' is emitted: the same bytes as Node read", async () => {
    const r = await runBoth(async (ctx) => {
      const copy = path.join(ctx.dir, 'shrinks');
      fs.copyFileSync(file(), copy);
      const src = ctx.source('src', copy);
      src.once('open', () => fs.truncateSync(copy, 5000));
      await consume(ctx, src);
    });
    expectEquivalent(r);
    expect((r.node.notes.data as { chunks: number[] }).chunks).toEqual([5000]);
  });

  it("the path replaced once 'open' is emitted: the opened file's bytes, as with Node", async () => {
    const r = await runBoth(async (ctx) => {
      const copy = path.join(ctx.dir, 'replaced');
      fs.copyFileSync(file(), copy);
      const src = ctx.source('src', copy);
      src.once('open', () => {
        fs.writeFileSync(`${copy}.new`, 'other');
        fs.renameSync(`${copy}.new`, copy);
      });
      await consume(ctx, src);
    });
    expectEquivalent(r);
    expect((r.node.notes.data as { chunks: number[] }).chunks.reduce((a, b) => a + b, 0)).toBe(200 * KiB);
  });

  it.each([
    ['before it opens', 'now'],
    ["on 'open'", 'open'],
    ["on the first 'data'", 'data'],
  ])('destroy() %s', async (_name, when) => {
    const { result: r } = await whereItRan(() =>
      runBoth(async (ctx) => {
        const src = ctx.source('src', file());
        if (when === 'now') src.destroy();
        else src.once(when, () => src.destroy());
        src.on('data', () => {});
        await ctx.once('src', 'close');
      }),
    );
    expectEquivalent(r);
  });

  it('a missing file: the same error, from Node', async () => {
    const r = await runBoth(async (ctx) => {
      const src = ctx.source('src', path.join(dir, 'no-such-file'));
      src.on('error', () => {});
      await ctx.once('src', 'close');
    });
    expectEquivalent(r);
    expect(JSON.stringify(r.node.streams.src.events)).toContain('ENOENT');
  });
});
