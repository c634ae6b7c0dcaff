// Property-based: random sizes (some exactly at 64 KiB boundaries), ranges,
// { end: false }, destinations (socket peers fast or slow to read) and ways
// of piping give equal traces; random
// interruptions (destroy of either side, unpipe and continue) at a random
// byte count keep the invariants: bytes arrive as an exact prefix (and
// unpipe + a later pipe() deliver the range exactly once), every stream
// closes at most once, errors are the ones Node uses, no fd is leaked.
import * as fs from 'node:fs';
import * as fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fdCountSettles, openFdCount, tmpDir } from '../helpers/files';
import { type RunCtx, runBoth, type Trace, tookFastPath } from '../helpers/trace';
import {
  closed,
  DEST_KINDS,
  type DestKind,
  expectEquivalent,
  KiB,
  kernelExpected,
  MiB,
  makeDest,
  makeSource,
} from './common';

const MAX = 8 * MiB;
const seed = process.env.FC_SEED ? Number(process.env.FC_SEED) : undefined;

let dir: string;
const files = new Map<number, string>();
function sourceOf(size: number): string {
  let f = files.get(size);
  if (!f) {
    f = makeSource(dir, `p-${size}`, size, size + 3);
    files.set(size, f);
  }
  return f;
}

beforeAll(() => {
  dir = tmpDir();
});
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

const sizeArb = fc.oneof(
  fc.integer({ min: 0, max: MAX }),
  // exactly at, or one byte around, a multiple of 64 KiB (Node's read size)
  fc
    .tuple(fc.integer({ min: 0, max: MAX / (64 * KiB) }), fc.constantFrom(-1, 0, 0, 1))
    .map(([k, d]) => Math.min(MAX, Math.max(0, k * 64 * KiB + d))),
  fc.constantFrom(0, 1, 4096),
);

/** A source range: no options, start only, end only, or both (end inclusive, may pass EOF). */
function rangeArb(size: number): fc.Arbitrary<{ start?: number; end?: number }> {
  const pos = fc.integer({ min: 0, max: size + 2 });
  return fc.oneof(
    fc.constant({}),
    pos.map((start) => ({ start })),
    pos.map((end) => ({ end })),
    fc.tuple(pos, pos).map(([a, b]) => ({ start: Math.min(a, b), end: Math.max(a, b) })),
  );
}

function expectedLength(size: number, range: { start?: number; end?: number }): number {
  const start = range.start ?? 0;
  const last = Math.min(range.end ?? Infinity, size - 1);
  return Math.max(0, last - start + 1);
}

const plainArb = sizeArb.chain((size) =>
  fc.record({
    size: fc.constant(size),
    range: rangeArb(size),
    kind: fc.constantFrom(...DEST_KINDS),
    mode: fc.constantFrom('pipe', 'pipe-end-false', 'pipeline', 'promises'),
    // a socket peer that stops reading for 2 ms every 256 KiB
    slow: fc.boolean(),
  }),
);

describe('property: random transfers give equal traces', () => {
  it('size × range × destination × mode', async () => {
    await fc.assert(
      fc.asyncProperty(plainArb, async ({ size, range, kind, mode, slow }) => {
        const file = sourceOf(size);
        const fds = openFdCount();
        const r = await runBoth(async (ctx) => {
          const src = ctx.source('src', file, range);
          const dst = await makeDest(ctx, 'dst', kind as DestKind, { slow });
          if (mode === 'pipe') src.pipe(dst);
          else if (mode === 'pipe-end-false') src.pipe(dst, { end: false });
          else if (mode === 'pipeline') await ctx.pipeline('pipeline', src, dst);
          else await ctx.pipelinePromise('promises', src, dst);
          await ctx.once('src', 'close');
          if (mode === 'pipe-end-false') {
            await ctx.once('src', 'end');
            dst.end();
          }
          await ctx.once('dst', 'close');
        });
        expectEquivalent(r);
        const length = expectedLength(size, range);
        expect(r.node.outputs.dst.bytes).toBe(length);
        if (kernelExpected(length, kind as DestKind)) {
          expect(tookFastPath(r.raw.zerocopy), JSON.stringify(r.raw.zerocopy.transfers)).toBe(true);
        }
        expect(await fdCountSettles(fds), 'fds leaked').toBe(fds);
      }),
      { numRuns: 40, endOnFailure: true, ...(seed !== undefined ? { seed } : {}) },
    );
  }, 300_000);
});

const interruptArb = fc.integer({ min: 64 * KiB, max: MAX }).chain((size) =>
  fc.record({
    size: fc.constant(size),
    range: rangeArb(size),
    kind: fc.constantFrom(...DEST_KINDS),
    pipeline: fc.boolean(),
    what: fc.constantFrom('destroy-src', 'destroy-dst', 'unpipe'),
    at: fc.integer({ min: 1, max: size }),
  }),
);

const NODE_ERRORS = new Set(['ERR_STREAM_PREMATURE_CLOSE', 'ERR_STREAM_DESTROYED']);

function expectInvariants(t: Trace, where: string): void {
  expect(t.timedOut, where).toBeUndefined();
  for (const [label, out] of Object.entries(t.outputs)) {
    expect(out.prefix, `${where}: ${label} got a prefix of the range`).toBe(true);
  }
  for (const [label, s] of Object.entries(t.streams)) {
    const closes = s.events.filter((e) => e === 'close').length;
    expect(closes, `${where}: ${label} closes at most once`).toBeLessThanOrEqual(1);
    const afterClose = s.events.slice(s.events.indexOf('close') + 1);
    if (closes)
      expect(
        afterClose.filter((e) => e !== 'unpipe'),
        `${where}: ${label} events after close`,
      ).toEqual([]);
    const errors = s.events.filter((e) => e.startsWith('error('));
    expect(errors.length, `${where}: ${label} errors at most once`).toBeLessThanOrEqual(1);
    for (const e of errors) expect(NODE_ERRORS.has(e.slice(6, -1)), `${where}: ${label} ${e}`).toBe(true);
  }
}

describe('property: interruptions at a random byte count keep the invariants', () => {
  it('destroy of either side, or unpipe and continue', async () => {
    await fc.assert(
      fc.asyncProperty(interruptArb, async ({ size, range, kind, pipeline, what, at }) => {
        const file = sourceOf(size);
        const start = range.start ?? 0;
        const length = expectedLength(size, range);
        const usePipeline = pipeline && what !== 'unpipe';
        const fds = openFdCount();
        const r = await runBoth(async (ctx: RunCtx) => {
          const src = ctx.source('src', file, range);
          const dst = await makeDest(ctx, 'dst', kind as DestKind, { prefixOf: { file, start } });
          let ended = false;
          src.once('end', () => {
            ended = true;
          });
          src.once('close', () => {
            ended = true;
          });
          let done: Promise<unknown>;
          if (usePipeline) done = ctx.pipeline('pipeline', src, dst);
          else {
            src.pipe(dst);
            done = Promise.resolve();
          }
          await ctx.until(() => ended || ctx.received('dst') >= Math.min(at, length));
          if (what === 'destroy-src') {
            // Read to its end (EOF seen) but 'end' not yet emitted: Node's
            // pipeline() then takes the source's 'close' for one that comes
            // before 'end' (lib/internal/streams/pipeline.js, its "close
            // before end" allowance), waits for an 'end' a destroyed stream
            // never emits, and never calls back, even once the destination
            // is destroyed. Node's fs.ReadStream does it too (waiting for
            // that state, then destroying: 3 in 50 hung on Node 22, 1 in 50
            // on 26); ours, whose cached reads run in the loop, stays in the
            // state longer (35 in 50 on 26; the Node 26 CI failure). The hang
            // is Node's: the scenario then ends as a user would, destroying
            // the destination.
            const eofRead = (src as unknown as { _readableState?: { ended?: boolean } })._readableState?.ended === true;
            src.destroy();
            await ctx.once('src', 'close');
            if (!usePipeline && !dst.writableEnded) dst.end();
            if (usePipeline && eofRead && !src.readableEnded) {
              if (!dst.destroyed) dst.destroy();
            } else await done;
            await ctx.once('dst', 'close');
          } else if (what === 'destroy-dst') {
            dst.destroy();
            await done;
            await ctx.once('dst', 'close');
            if (!src.destroyed) src.destroy();
            await ctx.once('src', 'close');
          } else {
            src.unpipe(dst);
            if (!dst.writableEnded) dst.end();
            await ctx.once('dst', 'close');
            const dst2 = ctx.fileDest('dst2', { prefixOf: { file, start: () => start + ctx.received('dst') } });
            src.pipe(dst2);
            await closed(ctx, 'src', 'dst2');
          }
        });
        for (const impl of ['node', 'zerocopy'] as const) {
          expectInvariants(r[impl], impl);
          if (what === 'unpipe') {
            expect(
              r[impl].outputs.dst.bytes + r[impl].outputs.dst2.bytes,
              `${impl}: unpipe + pipe deliver the range once`,
            ).toBe(length);
          }
        }
        expect(await fdCountSettles(fds), 'fds leaked').toBe(fds);
      }),
      { numRuns: 30, endOnFailure: true, ...(seed !== undefined ? { seed } : {}) },
    );
  }, 300_000);
});
