// Differences between Node's streams and ours that the other differential
// tests mask (see KNOWN_STATE_DIFFERENCES in common.ts and FLOW_EVENTS in
// helpers/trace.ts) or that only show statistically. Each test here fails
// while the difference exists, and says what Node does and what ours does.
// The two statistical ones try up to 100/150 times and may, rarely, miss.
// Other differences fail in place:
//   midway.test.ts       destroy() of an fs.WriteStream destination
//                        mid-transfer (no ERR_STREAM_DESTROYED; with Node's
//                        WriteStream bytes land after 'close'), unpipe() +
//                        end() of an fs.WriteStream destination ('finish' —
//                        and with Node's WriteStream 'close' — before the
//                        kernel chunk in flight has landed);
//   property.test.ts     (intermittently) the unpipe() + end() EPIPE below.
import { execFileSync } from 'node:child_process';
import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import type * as net from 'node:net';
import * as path from 'node:path';
import * as stream from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { tmpDir } from '../helpers/files';
import { runBoth, runOnce, tookFastPath } from '../helpers/trace';
import { lightVolume } from '../helpers/volume';
import { closed, MiB, makeSource } from './common';

let dir: string;
let file: string;
let big: string;
const SIZE = 3 * MiB;

beforeAll(() => {
  dir = tmpDir();
  file = makeSource(dir, 'src', SIZE, 31);
  big = makeSource(dir, 'big', 32 * MiB, 32);
});
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

describe('differences found by the differential tests (each fails while the difference exists)', () => {
  // Node: after pipe() moved the file, src.readableDidRead === true and
  // stream.isDisturbed(src) === true. Ours before commit c6d448f: both
  // false, because no 'data' was ever emitted (fixed there: moved bytes now
  // count as data emitted).
  it('readableDidRead / stream.isDisturbed() after a pipe', async () => {
    const r = await runBoth(async (ctx) => {
      const src = ctx.source('src', file);
      src.pipe(ctx.fileDest('dst'));
      await closed(ctx, 'src', 'dst');
      ctx.note('isDisturbed', (stream as unknown as { isDisturbed(s: unknown): boolean }).isDisturbed(src));
    });
    expect(tookFastPath(r.raw.zerocopy)).toBe(true);
    expect({
      readableDidRead: r.zerocopy.streams.src.state.readableDidRead,
      isDisturbed: r.zerocopy.notes.isDisturbed,
    }).toEqual({ readableDidRead: r.node.streams.src.state.readableDidRead, isDisturbed: r.node.notes.isDisturbed });
  });

  // Node: a 3 MiB file piped into an fs.WriteStream emits 'drain' on the
  // destination (every 64 KiB write is over its 16 KiB highWaterMark) and
  // 'pause' on the source each time. Ours: no 'drain' at all, and 'pause'
  // only once, when the pipe ends. Flow-control events are left out of the
  // other traces because their count depends on chunk sizes.
  it("'drain' on the destination, 'pause' on the source", async () => {
    const r = await runBoth(async (ctx) => {
      const src = ctx.source('src', file);
      src.pipe(ctx.fileDest('dst'));
      await closed(ctx, 'src', 'dst');
    });
    expect(tookFastPath(r.raw.zerocopy)).toBe(true);
    const seen = (impl: 'node' | 'zerocopy') => ({
      dst: Object.keys(r.raw[impl].flow.dst ?? {}).sort(),
      srcPausedMoreThanOnce: (r.raw[impl].flow.src?.pause ?? 0) > 1,
    });
    expect(seen('zerocopy')).toEqual(seen('node'));
  });

  // Node: while the destination is still opening, pipe() reads ahead — 128
  // KiB from the source, 64 KiB queued in the destination (writableLength
  // 65536, writableNeedDrain true), 64 KiB in the source's buffer, source
  // paused. Ours waits for the destination to open before reading anything:
  // bytesRead 0, both buffers empty, source flowing.
  it('read-ahead while the destination is still opening (a FIFO without reader)', async () => {
    const r = await runBoth(async (ctx) => {
      const fifo = path.join(ctx.dir, 'fifo');
      execFileSync('mkfifo', [fifo]);
      const src = ctx.source('src', file);
      const dst = ctx.watch('dst', ctx.api.createWriteStream(fifo));
      src.pipe(dst);
      await new Promise((res) => setTimeout(res, 100));
      ctx.snapshot('destination opening');
      const reader = fs.createReadStream(fifo);
      const h = crypto.createHash('sha256');
      reader.on('data', (d) => h.update(d));
      await new Promise<void>((res) => reader.on('close', () => res()));
      await closed(ctx, 'src', 'dst');
    });
    const pick = (t: typeof r.node) => {
      const s = t.snapshots['destination opening'];
      return {
        src: {
          bytesRead: s.src.bytesRead,
          readableLength: s.src.readableLength,
          readableFlowing: s.src.readableFlowing,
        },
        dst: { writableLength: s.dst.writableLength, writableNeedDrain: s.dst.writableNeedDrain },
      };
    };
    expect(tookFastPath(r.raw.zerocopy)).toBe(true);
    expect(pick(r.zerocopy)).toEqual(pick(r.node));
  });

  // A TCP peer that resets mid-transfer, under pipeline(). Node always
  // reports the reset as the socket's only event besides pipe/unpipe/close:
  // 'error(ECONNRESET write)' or 'error(ECONNRESET read)', and pipeline's
  // callback gets it (no other outcome in 30+48 runs while writing these
  // tests). Ours used to give, in 5-40% of runs, 'end' first: the kernel
  // hands a reset to one caller, our sendfile on the threadpool took it, and
  // libuv's read of the same socket found a plain end of file. An end of
  // file read while a chunk is in flight now waits for that chunk
  // (holdEofWhileWriting in node-internals.ts): 30 tries (15 at light
  // volume) must show no 'end'. A rarer face (README, "Limits"): about 1
  // reset in 250 in CI loops gave 'error(EPIPE write)', a sendfile that had
  // moved bytes having dropped the ECONNRESET; on TCP that EPIPE is now
  // reported as ECONNRESET (socketWriteError in endpoint.ts), but it has not
  // been reproduced since, so the default run still accepts it; the strict
  // comparison, 100 tries, runs with ZEROCOPY_KNOWN_DIFFERENCES=1.
  const strict = process.env.ZEROCOPY_KNOWN_DIFFERENCES === '1';
  it(`a TCP peer reset gives one of the outcomes Node gives${strict ? '' : ' (or write EPIPE), never a clean end'}`, async () => {
    const NODE = new Set(['pipe,error(ECONNRESET write),unpipe,close', 'pipe,error(ECONNRESET read),unpipe,close']);
    if (!strict) NODE.add('pipe,error(EPIPE write),unpipe,close');
    const other = { node: [] as string[], zerocopy: [] as string[] };
    const runs = { node: 0, zerocopy: 0 };
    const tries = strict ? 100 : lightVolume ? 15 : 30;
    for (const impl of ['node', 'zerocopy'] as const) {
      while (runs[impl] < (impl === 'node' ? 10 : tries) && other.zerocopy.length === 0) {
        runs[impl]++;
        const { trace, raw } = await runOnce(impl, async (ctx) => {
          const src = ctx.source('src', big);
          const dst = await ctx.socketDest('dst', 'tcp', { resetAfter: MiB });
          await ctx.pipeline('pipeline', src, dst);
          await closed(ctx, 'src', 'dst');
        });
        const events = trace.streams.dst.events.join();
        if (!NODE.has(events)) {
          const lost = raw.transfers.filter((t) => t.error).map((t) => `${t.reason}: ${t.error}`);
          other[impl].push(
            `run ${runs[impl]}: socket ${events}; pipeline got ` +
              `${JSON.stringify(trace.results.pipeline)}; transfer: ${lost.join() || 'no error'}`,
          );
        }
      }
    }
    expect(other).toEqual({ node: [], zerocopy: [] });
  }, 120_000);

  // unpipe() then end() on a TCP socket destination, from the receiver's
  // first 'data' event. Node: 'pipe', 'unpipe', 'prefinish', 'finish',
  // 'end', 'close' every time (100/100 while writing these tests) — end()
  // waits for the queued writes. Ours, in ~5-20% of runs: 'finish' is
  // emitted while the first sendfile is still running on the socket (the
  // socket's bytesWritten was still 0), the shutdown that end() causes makes
  // that sendfile fail, and the socket then emits 'error(EPIPE write)'
  // (errored 'write EPIPE') after 'finish' instead of 'end'. The bytes stay
  // right: what arrived is a prefix, a later pipe() continues from the next
  // byte. Ours is tried until the first error (at most 150 runs).
  it('unpipe() + end() of a TCP socket mid-transfer never errors', async () => {
    const errors = { node: [] as string[], zerocopy: [] as string[] };
    const runs = { node: 0, zerocopy: 0 };
    for (const impl of ['node', 'zerocopy'] as const) {
      while (runs[impl] < (impl === 'node' ? 30 : 150) && errors.zerocopy.length === 0) {
        runs[impl]++;
        const { trace } = await runOnce(impl, async (ctx) => {
          const src = ctx.source('src', big);
          let dst: net.Socket | undefined;
          let fired = false;
          dst = await ctx.socketDest('dst', 'tcp', {
            onData: () => {
              if (fired || !dst) return;
              fired = true;
              src.unpipe(dst);
              dst.end();
            },
          });
          src.pipe(dst);
          await ctx.once('dst', 'close');
          src.destroy();
          await ctx.once('src', 'close');
        });
        const events = trace.streams.dst.events;
        const e = events.find((x) => x.startsWith('error'));
        if (e) errors[impl].push(`run ${runs[impl]}: ${events.join(', ')}`);
      }
    }
    expect(errors).toEqual({ node: [], zerocopy: [] });
  }, 120_000);
});
