// HTTP bodies (issue #17) at their edges: gigabyte bodies both ways. Each
// scenario runs twice in this process: once with Node's own streams and
// pipe(), once as under
// `--require zerocopy/register` — our fs streams, and IncomingMessage#pipe
// offering each flow to the fast path right after Node's pipe() set it up
// (the register's hook, installed for that run only). What every side
// observed must be the same; on the zerocopy run the kernel moved the bodies
// (the zerocopy:transfer diagnostics channel).

import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as http from 'node:http';
import type * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import type * as stream from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as zc from '../dist/index.js';
import { adoptAfterPipe } from '../dist/paths/adopt.js';
import type { TransferMessage } from '../src/diagnostics';
import {
  declineReasons,
  fastPathOff,
  type Impl,
  KiB,
  Log,
  MiB,
  REQ_EVENTS,
  runBoth,
  splicedBytes,
  startServer,
  WS_EVENTS,
  writeStreamOf,
} from './helpers/http-bodies';
import { lightVolume } from './helpers/volume';
import { until } from './helpers/wait';

const GiB = 1024 * MiB;
/** Node reads a socket 64 KiB at a time: body bytes that came with the headers are the parser's. */
const FIRST_READ = 64 * KiB;

let base: string;
let previous: ReturnType<typeof zc.configure>;
beforeAll(() => {
  base = fs.mkdtempSync(path.join(os.tmpdir(), 'zerocopy-bodies-edges-'));
  // Every body size on the fast path here (the default threshold is for speed).
  previous = zc.configure({ minHttpBodyBytes: 0 });
});
afterAll(() => {
  zc.configure(previous);
  fs.rmSync(base, { recursive: true, force: true });
});

type PipeProto = { pipe: stream.Readable['pipe'] };

/**
 * What `--require zerocopy/register` does to IncomingMessage#pipe
 * (src/register.ts): Node's own pipe(), then the flow offered to the fast
 * path. Installed for one run; the returned function takes it off.
 */
function registerPipeHook(): () => void {
  const proto = http.IncomingMessage.prototype as unknown as PipeProto;
  const own = Object.hasOwn(proto, 'pipe');
  const nodePipe = proto.pipe;
  proto.pipe = function pipe<T extends NodeJS.WritableStream>(
    this: stream.Readable,
    dest: T,
    options?: { end?: boolean },
  ): T {
    const result = nodePipe.call(this, dest, options) as T;
    adoptAfterPipe(this, dest as unknown as stream.Writable);
    return result;
  };
  return () => {
    if (own) proto.pipe = nodePipe;
    else delete (proto as Partial<PipeProto>).pipe;
  };
}

/** runBoth, with the register's pipe hook on during the zerocopy run. */
function runRegistered<T>(scenario: (impl: Impl, dir: string) => Promise<T>) {
  return runBoth(base, async (impl, dir) => {
    const unhook = impl === 'zerocopy' ? registerPipeHook() : null;
    try {
      return await scenario(impl, dir);
    } finally {
      unhook?.();
    }
  });
}

function readStreamOf(impl: Impl): typeof fs.createReadStream {
  return impl === 'node' ? fs.createReadStream : (zc.createReadStream as typeof fs.createReadStream);
}

/** Sums what the kernel moved by one syscall. */
function movedBy(transfers: TransferMessage[], syscall: string): number {
  return transfers.filter((t) => t.path === syscall).reduce((a, t) => a + t.bytes, 0);
}

/** Resolves once `s` has emitted 'close' (at once if it already has). */
function closed(s: stream.Readable | stream.Writable | net.Socket): Promise<void> {
  return new Promise((r) => (s.closed ? r() : s.once('close', () => r())));
}

/** The response's text, once the request has also closed (its 'close' follows the response's end). */
function answerOf(req: http.ClientRequest, log: Log, label: string): Promise<string> {
  log.watch(label, req, ['finish', 'error', 'close']);
  const reqClosed = closed(req);
  return new Promise<string>((resolve) => {
    req.on('response', (res) => {
      let t = `${res.statusCode} `;
      res.on('data', (d: Buffer) => {
        t += d.toString();
      });
      res.on('end', () => resolve(t));
    });
  }).then(async (t) => {
    await reqClosed;
    return t;
  });
}

// ---------------------------------------------------------------- 1 GiB ----

// A 1 GiB sparse file: zeros, with marker blocks at known offsets (one across
// the first 64 KiB read, one on each side of 512 MiB, one near the end). A
// byte lost, doubled or moved anywhere before a marker moves that marker.
const MARKS = [0, FIRST_READ - 5, 128 * MiB + 3, 512 * MiB - 4096 - 1, 512 * MiB + 77, GiB - 8 * KiB - 7];

function markBlock(i: number): Buffer {
  // 4 KiB, different for every marker.
  return Buffer.from(crypto.createHash('sha512').update(`mark ${i}`).digest('hex').repeat(32));
}

function makeMarkedSparse(file: string): void {
  const fd = fs.openSync(file, 'w');
  fs.ftruncateSync(fd, GiB);
  for (const [i, at] of MARKS.entries()) fs.writeSync(fd, markBlock(i), 0, undefined, at);
  fs.closeSync(fd);
}

/** The size of `file`, and which markers (with 16 zero bytes either side) are not where they belong. */
function markedFacts(file: string): string {
  let size: number;
  try {
    size = fs.statSync(file).size;
  } catch {
    return 'missing';
  }
  const fd = fs.openSync(file, 'r');
  const bad: number[] = [];
  for (const [i, at] of MARKS.entries()) {
    const from = Math.max(0, at - 16);
    const want = Buffer.concat([Buffer.alloc(at - from), markBlock(i), Buffer.alloc(16)]);
    const got = Buffer.alloc(want.length);
    const n = fs.readSync(fd, got, 0, got.length, from);
    if (n !== want.length || !got.equals(want)) bad.push(i);
  }
  fs.closeSync(fd);
  return `${size} marks ${bad.length === 0 ? 'ok' : `bad ${bad.join(',')}`}`;
}

// Gigabytes run where the other gigabyte cases run: not on the light-volume
// CI runs (test/helpers/volume.ts). Node's own path takes about 1.2 s for
// each on these machines, so both sides move the whole gigabyte.
describe.skipIf(lightVolume)('1 GiB bodies', () => {
  let sparse: string;
  beforeAll(() => {
    sparse = path.join(base, 'gib-sparse');
    makeMarkedSparse(sparse);
  });
  afterAll(() => fs.rmSync(sparse, { force: true }));

  it('a 1 GiB request body: a file piped into http.request → req.pipe(file)', async () => {
    const both = await runRegistered(async (impl, dir) => {
      const log = new Log();
      const out = path.join(dir, 'up');
      let stored!: Promise<void>;
      const srv = await startServer((req, res) => {
        log.watch('req', req, REQ_EVENTS);
        log.watch('res', res, ['finish', 'close']);
        const ws = log.watch('ws', writeStreamOf(impl)(out), WS_EVENTS);
        stored = closed(ws);
        req.pipe(ws);
        ws.on('finish', () => {
          log.add(`stored complete=${req.complete} bytesWritten=${ws.bytesWritten} bytesRead=${req.socket.bytesRead}`);
          res.end(`stored ${ws.bytesWritten}`);
        });
      });
      const req = http.request({
        port: srv.port,
        host: '127.0.0.1',
        method: 'PUT',
        agent: false,
        headers: { 'content-length': GiB },
      });
      const answer = answerOf(req, log, 'client');
      const src = log.watch('src', readStreamOf(impl)(sparse), ['end', 'close', 'error']);
      src.pipe(req);
      const got = await answer;
      await Promise.all([stored, closed(src)]);
      await srv.close();
      const file = markedFacts(out);
      fs.rmSync(out);
      return { got, file, bytesRead: src.bytesRead, events: log.byLabel() };
    });
    expect(both.zerocopy.result).toEqual(both.node.result);
    expect(both.node.result.got).toBe(`200 stored ${GiB}`);
    expect(both.node.result.file).toBe(`${GiB} marks ok`);
    expect(both.node.transfers).toEqual([]);
    const moved = both.zerocopy.transfers;
    if (fastPathOff) expect(splicedBytes(moved) + movedBy(moved, 'sendfile')).toBe(0);
    else {
      // The client's file → socket by sendfile, the server's socket → file by splice.
      expect(movedBy(moved, 'sendfile'), declineReasons(moved).join()).toBeGreaterThanOrEqual(0.99 * GiB);
      expect(splicedBytes(moved), declineReasons(moved).join()).toBeGreaterThanOrEqual(0.99 * GiB);
    }
  }, 120_000);

  it('a 1 GiB response body: a file piped to the response → http.get, res.pipe(file)', async () => {
    const both = await runRegistered(async (impl, dir) => {
      const log = new Log();
      const out = path.join(dir, 'down');
      const srv = await startServer((_req, res) => {
        log.watch('sres', res, ['finish', 'close']);
        res.setHeader('content-length', GiB);
        const rs = log.watch('src', readStreamOf(impl)(sparse), ['end', 'close', 'error']);
        rs.pipe(res);
      });
      await new Promise<void>((resolve) => {
        const req = http.get({ port: srv.port, host: '127.0.0.1', path: '/', agent: false }, (res) => {
          log.watch('res', res, REQ_EVENTS);
          const ws = log.watch('ws', writeStreamOf(impl)(out), WS_EVENTS);
          res.pipe(ws);
          ws.on('close', () => {
            log.add(`file complete=${res.complete} bytesWritten=${ws.bytesWritten}`);
            resolve();
          });
        });
        log.watch('req', req, ['finish', 'error', 'close']);
      });
      await until(() => log.lines.includes('sres close') && log.lines.includes('req close'));
      await srv.close();
      const file = markedFacts(out);
      fs.rmSync(out);
      return { file, events: log.byLabel() };
    });
    expect(both.zerocopy.result).toEqual(both.node.result);
    expect(both.node.result.file).toBe(`${GiB} marks ok`);
    expect(both.node.result.events.file).toEqual([`complete=true bytesWritten=${GiB}`]);
    expect(both.node.transfers).toEqual([]);
    const moved = both.zerocopy.transfers;
    if (fastPathOff) expect(splicedBytes(moved) + movedBy(moved, 'sendfile')).toBe(0);
    else {
      // The server's file → response by sendfile, the client's response → file by splice.
      expect(movedBy(moved, 'sendfile'), declineReasons(moved).join()).toBeGreaterThanOrEqual(0.99 * GiB);
      expect(splicedBytes(moved), declineReasons(moved).join()).toBeGreaterThanOrEqual(0.99 * GiB);
    }
  }, 120_000);
});
