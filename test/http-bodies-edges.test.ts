// HTTP bodies (issue #17) at their edges: gigabyte bodies both ways, a proxy
// whose client side goes away mid-body, a slow origin behind a proxy, a slow
// origin reading a proxied upload, Expect: 100-continue answered by a
// 'checkContinue' listener, and TLS. Each scenario runs twice in this
// process: once with Node's own streams and pipe(), once as under
// `--require zerocopy/register` — our fs streams, and IncomingMessage#pipe
// offering each flow to the fast path right after Node's pipe() set it up
// (the register's hook, installed for that run only). What every side
// observed must be the same; on the zerocopy run the kernel moved the bodies
// (the zerocopy:transfer diagnostics channel).

import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as http from 'node:http';
import * as https from 'node:https';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import type * as stream from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as zc from '../dist/index.js';
import { adoptAfterPipe, pipeOffers } from '../dist/paths/adopt.js';
import type { TransferMessage } from '../src/diagnostics';
import { fdCountSettles, openFdCount } from './helpers/files';
import {
  declineReasons,
  fastPathOff,
  fileFacts,
  type Impl,
  KiB,
  Log,
  MiB,
  pattern,
  REQ_EVENTS,
  runBoth,
  sha,
  splicedBytes,
  startServer,
  WS_EVENTS,
  writeStreamOf,
} from './helpers/http-bodies';
import { selfSignedCert } from './helpers/tls';
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
  previous = zc.configure({ minHttpBodyBytes: 0, minSplicedBodyBytes: 0 });
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
    // As the register: our WriteStream offers the flow itself, on 'pipe'.
    if (!pipeOffers(this, dest as unknown as stream.Writable)) adoptAfterPipe(this, dest as unknown as stream.Writable);
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
      // The server's file closes on its own schedule (its close runs on the
      // pool), after or before the client has its file: wait for it too.
      await until(() => ['sres close', 'req close', 'src close'].every((l) => log.lines.includes(l)));
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

// ---------------------------------------------------------------- proxy ----

/** Headers without the hop-by-hop ones a proxy must not pass on (Connection, Keep-Alive). */
function endToEnd(headers: http.IncomingHttpHeaders): http.OutgoingHttpHeaders {
  const { connection: _c, 'keep-alive': _k, ...rest } = headers;
  return rest;
}

/**
 * A raw GET through the proxy: resolves with the body bytes that arrived, and
 * how the connection ended. `onBody(n, sock)` runs at every chunk with the
 * body bytes so far.
 */
function rawGet(
  port: number,
  url: string,
  onBody: (n: number, sock: net.Socket) => void = () => {},
): Promise<{ body: Buffer; ended: boolean; error?: string }> {
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    let received = 0;
    let headerEnd = -1;
    let ended = false;
    let error: string | undefined;
    const sock = net.connect(port, '127.0.0.1', () =>
      sock.write(`GET ${url} HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n`),
    );
    sock.on('data', (d: Buffer) => {
      chunks.push(d);
      received += d.length;
      if (headerEnd < 0) {
        const i = Buffer.concat(chunks).indexOf('\r\n\r\n');
        if (i >= 0) headerEnd = i + 4;
      }
      if (headerEnd >= 0) onBody(received - headerEnd, sock);
    });
    sock.on('end', () => {
      ended = true;
    });
    sock.on('error', (e: NodeJS.ErrnoException) => {
      error = e.code;
    });
    sock.on('close', () => {
      const all = Buffer.concat(chunks);
      resolve({ body: all.subarray(all.indexOf('\r\n\r\n') + 4), ended, error });
    });
  });
}

describe("a proxy's client side goes away mid-body (proxyRes.pipe(res))", () => {
  // When the client side goes, the proxy can have read at most what the
  // client had (1 MiB and a read), what the client's receive buffer and the
  // proxy's send buffer held (tcp_rmem grows to 32 MiB here, tcp_wmem to
  // 4 MiB) and a few hundred KiB of pipe and stream buffers; the origin can
  // have handed its kernel at most that, plus the proxy's receive buffer and
  // its own send buffer: under 75 MiB. With 96 MiB, on either run, the
  // origin response is neither read whole nor flushed when things settle.
  const SIZE = 96 * MiB;
  const CUT_AFTER = 1 * MiB;
  let body: Buffer;
  let next: Buffer;
  beforeAll(() => {
    body = crypto.randomBytes(SIZE);
    next = pattern(1 * MiB, 22);
  });

  /**
   * An origin (a 96 MiB body at '/', 1 MiB at '/next') behind a proxy that
   * does `proxyRes.pipe(res)` over one keep-alive upstream connection. Once
   * the client has CUT_AFTER body bytes, `cut` runs. When everything has
   * settled, the application drains the rest of the origin response
   * (proxyRes.resume()), and a second GET goes through the proxy on the
   * same upstream connection.
   */
  async function cutMidBody(
    cut: (client: net.Socket, proxyRes: http.ServerResponse) => void,
    afterPipe: (proxyRes: http.ServerResponse) => void = () => {},
  ) {
    zc.drainPipePool();
    const fdsBefore = openFdCount();
    const both = await runRegistered(async () => {
      const log = new Log();
      let originRes!: http.ServerResponse;
      const origin = await startServer((req, res) => {
        const b = req.url === '/next' ? next : body;
        if (req.url !== '/next') originRes = log.watch('ores', res, ['finish', 'close']);
        res.setHeader('content-length', b.length);
        res.end(b);
      });
      const upstream = new http.Agent({ keepAlive: true, maxSockets: 1 });
      let frees = 0;
      upstream.on('free', () => frees++);
      const clientErrors: string[] = [];
      let proxyRes!: http.ServerResponse;
      let pres!: http.IncomingMessage;
      const reused: boolean[] = [];
      const proxy = await startServer((req, res, n) => {
        if (n === 0) proxyRes = res;
        log.watch(`req${n}`, req, REQ_EVENTS);
        log.watch(`res${n}`, res, ['finish', 'unpipe', 'error', 'close']);
        const preq = http.get({ port: origin.port, host: '127.0.0.1', path: req.url, agent: upstream }, (r) => {
          if (n === 0) pres = r;
          reused.push(preq.reusedSocket);
          log.watch(`pres${n}`, r, REQ_EVENTS);
          res.writeHead(r.statusCode ?? 502, endToEnd(r.headers));
          r.pipe(res);
          if (n === 0) afterPipe(res);
        });
        log.watch(`preq${n}`, preq, ['finish', 'error', 'close']);
      });
      // Which error (EPIPE or ECONNRESET), if any, the proxy's socket meets
      // depends on whether it was writing or reading when the reset came:
      // kept apart, not compared.
      proxy.server.on('clientError', (e: NodeJS.ErrnoException, sock: net.Socket) => {
        clientErrors.push(String(e.code));
        sock.destroy();
      });
      let cutDone = false;
      const got = await rawGet(proxy.port, '/', (n, sock) => {
        if (n >= CUT_AFTER && !cutDone) {
          cutDone = true;
          cut(sock, proxyRes);
        }
      });
      await until(() => log.lines.includes('res0 close') && zc.transferStats().running === 0);
      // Settled: the proxy's response is gone, the origin response unpiped.
      const settled = {
        complete: pres.complete,
        destroyed: pres.destroyed,
        flowing: pres.readableFlowing,
        upstreamOpen: !pres.socket.destroyed,
        originFinished: originRes.writableFinished,
      };
      // The application reads the rest of the origin response: it ends where
      // Node's parser says, and the connection goes back to the Agent.
      pres.resume();
      await until(() => frees === 1 && log.lines.includes('ores close'));
      const second = await rawGet(proxy.port, '/next');
      await until(() => log.lines.includes('res1 close') && frees === 2);
      upstream.destroy();
      await proxy.close();
      await origin.close();
      return {
        events: log.byLabel(),
        settled,
        drained: { complete: pres.complete, frees, reused },
        second: { ended: second.ended, error: second.error, body: `${second.body.length} ${sha(second.body)}` },
        prefix: got.body.equals(body.subarray(0, got.body.length)) && got.body.length < SIZE,
        client: { ended: got.ended, error: got.error },
        clientErrors,
      };
    });
    await until(() => zc.pipeStats().inUse === 0, 1000);
    expect(zc.pipeStats().inUse).toBe(0);
    zc.drainPipePool();
    expect(await fdCountSettles(fdsBefore)).toBe(fdsBefore);
    return both;
  }

  function expectSame(both: Awaited<ReturnType<typeof cutMidBody>>, minSpliced = CUT_AFTER + 1): void {
    const { clientErrors: nodeErrors, ...node } = both.node.result;
    const { clientErrors: ourErrors, ...ours } = both.zerocopy.result;
    for (const codes of [nodeErrors, ourErrors])
      for (const code of codes) expect(['EPIPE', 'ECONNRESET']).toContain(code);
    expect(ours).toEqual(node);
    expect(node.prefix).toBe(true);
    // Node unpipes a response that closed and pauses the origin response:
    // the upstream connection stays open, the origin still sending.
    expect(node.settled).toEqual({
      complete: false,
      destroyed: false,
      flowing: false,
      upstreamOpen: true,
      originFinished: false,
    });
    expect(node.drained).toEqual({ complete: true, frees: 2, reused: [false, true] });
    expect(node.second.body).toBe(`${next.length} ${sha(next)}`);
    if (!fastPathOff)
      expect(
        splicedBytes(both.zerocopy.transfers),
        declineReasons(both.zerocopy.transfers).join(),
      ).toBeGreaterThanOrEqual(minSpliced);
  }

  it('the client destroys its socket after 1 MiB: the same events, the upstream connection reusable', async () => {
    const both = await cutMidBody((client) => client.destroy());
    expectSame(both);
    expect(both.node.result.client).toEqual({ ended: false, error: undefined });
  });

  it('the proxy calls res.destroy() once the client has 1 MiB: the same events, the upstream connection reusable', async () => {
    const both = await cutMidBody((_client, proxyRes) => proxyRes.destroy());
    expectSame(both);
    // The client reads on to the end of what the proxy had sent: a prefix, then the end of the connection.
    expect(both.node.result.client).toEqual({ ended: true, error: undefined });
  });

  it('the proxy calls res.destroy() right after proxyRes.pipe(res): declined (destination ended), the same as Node', async () => {
    // No body byte reaches the client: the cut never runs.
    const both = await cutMidBody(
      () => {},
      (proxyRes) => proxyRes.destroy(),
    );
    // Only the second GET's body is the kernel's.
    expectSame(both, next.length - FIRST_READ);
    expect(both.node.result.client).toEqual({ ended: true, error: undefined });
    if (!fastPathOff) expect(declineReasons(both.zerocopy.transfers)).toEqual(['destination ended']);
  });
});

describe('a proxy in front of a slow origin, and an upload proxy in front of a slow reader', () => {
  it('the origin writes 8 MiB in 32 pieces, each once the client has the one before: the same bytes and events', async () => {
    const size = 8 * MiB;
    const piece = 256 * KiB;
    const body = pattern(size, 31);
    const both = await runRegistered(async () => {
      const log = new Log();
      let clientHas = 0;
      const origin = await startServer((_req, res) => {
        log.watch('ores', res, ['finish', 'close']);
        res.writeHead(200, { 'content-length': size });
        const write = async (): Promise<void> => {
          for (let at = 0; at < size; at += piece) {
            // The proxy has passed on everything so far: its kernel transfer
            // (or Node's read) finds the socket empty and must wait. A few
            // more loop turns, then the next piece.
            await until(() => clientHas >= at);
            for (let turns = 0; turns < 3; turns++) await new Promise<void>((r) => setImmediate(r));
            const chunk = body.subarray(at, at + piece);
            if (at + piece >= size) res.end(chunk);
            else res.write(chunk);
          }
        };
        void write();
      });
      const proxy = await startServer((req, res) => {
        log.watch('req', req, REQ_EVENTS);
        log.watch('res', res, ['finish', 'unpipe', 'error', 'close']);
        const preq = http.get({ port: origin.port, host: '127.0.0.1', path: req.url, agent: false }, (pres) => {
          log.watch('pres', pres, REQ_EVENTS);
          res.writeHead(pres.statusCode ?? 502, endToEnd(pres.headers));
          pres.pipe(res);
        });
        log.watch('preq', preq, ['finish', 'error', 'close']);
      });
      const got = await new Promise<string>((resolve) => {
        const h = crypto.createHash('sha256');
        const req = http.get({ port: proxy.port, host: '127.0.0.1', path: '/', agent: false }, (res) => {
          log.watch('cres', res, REQ_EVENTS);
          res.on('data', (d: Buffer) => {
            clientHas += d.length;
            h.update(d);
          });
          res.on('end', () => resolve(`${res.statusCode} ${clientHas} ${h.digest('hex')}`));
        });
        log.watch('creq', req, ['finish', 'error', 'close']);
      });
      await until(() => ['res close', 'ores close', 'creq close', 'preq close'].every((l) => log.lines.includes(l)));
      await proxy.close();
      await origin.close();
      return { got, events: log.byLabel() };
    });
    expect(both.zerocopy.result).toEqual(both.node.result);
    expect(both.node.result.got).toBe(`200 ${size} ${sha(body)}`);
    // All but what Node's first read took with the headers.
    if (!fastPathOff)
      expect(
        splicedBytes(both.zerocopy.transfers),
        declineReasons(both.zerocopy.transfers).join(),
      ).toBeGreaterThanOrEqual(size - FIRST_READ);
  });

  it('an 8 MiB upload through req.pipe(proxyReq) to an origin that pauses at every chunk: the same bytes and events', async () => {
    const size = 8 * MiB;
    const body = pattern(size, 41);
    const both = await runRegistered(async () => {
      const log = new Log();
      const origin = await startServer((req, res) => {
        log.watch('oreq', req, REQ_EVENTS);
        const h = crypto.createHash('sha256');
        let n = 0;
        req.on('data', (d: Buffer) => {
          n += d.length;
          h.update(d);
          // A slow reader: stop at every chunk for a few loop turns.
          req.pause();
          let turns = 20;
          const later = (): void => {
            if (--turns > 0) setImmediate(later);
            else req.resume();
          };
          setImmediate(later);
        });
        req.on('end', () => res.end(`${n} ${h.digest('hex')}`));
      });
      const proxy = await startServer((req, res) => {
        log.watch('req', req, REQ_EVENTS);
        log.watch('res', res, ['finish', 'error', 'close']);
        const preq = http.request(
          {
            port: origin.port,
            host: '127.0.0.1',
            method: req.method,
            path: req.url,
            headers: req.headers,
            agent: false,
          },
          (pres) => {
            log.watch('pres', pres, REQ_EVENTS);
            res.writeHead(pres.statusCode ?? 502, endToEnd(pres.headers));
            pres.pipe(res);
          },
        );
        log.watch('preq', preq, ['finish', 'unpipe', 'error', 'close']);
        req.pipe(preq);
      });
      const creq = http.request({
        port: proxy.port,
        host: '127.0.0.1',
        method: 'PUT',
        agent: false,
        headers: { 'content-length': size },
      });
      const answer = answerOf(creq, log, 'client');
      creq.end(body);
      const got = await answer;
      await until(() => ['res close', 'preq close'].every((l) => log.lines.includes(l)));
      await proxy.close();
      await origin.close();
      return { got, events: log.byLabel() };
    });
    expect(both.zerocopy.result).toEqual(both.node.result);
    expect(both.node.result.got).toBe(`200 ${size} ${sha(body)}`);
    if (!fastPathOff)
      expect(
        splicedBytes(both.zerocopy.transfers),
        declineReasons(both.zerocopy.transfers).join(),
      ).toBeGreaterThanOrEqual(size - FIRST_READ);
  });
});

describe("Expect: 100-continue answered by a 'checkContinue' listener", () => {
  type Answer = 'continue, then pipe' | 'pipe, then continue' | '417' | 'pipe, then 417';

  /**
   * A server whose 'checkContinue' listener answers on a later loop turn;
   * an http.request client that sends its 1 MiB body on 'continue' only.
   */
  async function checkContinue(answer: Answer) {
    const body = pattern(1 * MiB, 51);
    return runRegistered(async (impl, dir) => {
      const log = new Log();
      const file = path.join(dir, 'up');
      let ws: fs.WriteStream | null = null;
      const srv = await startServer(() => log.add('request'));
      const store = (req: http.IncomingMessage, res: http.ServerResponse): void => {
        const w = log.watch('ws', writeStreamOf(impl)(file), [...WS_EVENTS, 'unpipe']);
        ws = w;
        req.pipe(w);
        w.on('finish', () => {
          log.add(`stored complete=${req.complete} bytesWritten=${w.bytesWritten}`);
          res.end(`stored ${w.bytesWritten}`);
        });
      };
      let sreq!: http.IncomingMessage;
      let sock!: net.Socket;
      srv.server.on('checkContinue', (req: http.IncomingMessage, res: http.ServerResponse) => {
        sreq = req;
        sock = req.socket;
        log.watch('req', req, REQ_EVENTS);
        log.watch('res', res, ['finish', 'close']);
        if (answer === 'pipe, then continue' || answer === 'pipe, then 417') store(req, res);
        setImmediate(() => {
          if (answer === '417' || answer === 'pipe, then 417') {
            res.writeHead(417);
            res.end('no');
            return;
          }
          res.writeContinue();
          if (answer === 'continue, then pipe') store(req, res);
        });
      });
      const req = http.request({
        port: srv.port,
        host: '127.0.0.1',
        method: 'PUT',
        agent: false,
        headers: { 'content-length': body.length, expect: '100-continue' },
      });
      req.on('continue', () => {
        log.add('client continue');
        req.end(body);
      });
      const got = await answerOf(req, log, 'client');
      // A request whose body never came never emits 'close' (Node took it
      // off the connection when the response finished): wait for its socket.
      await until(() => log.lines.includes('res close') && sock.destroyed);
      const final = { complete: sreq.complete, destroyed: sreq.destroyed, readableEnded: sreq.readableEnded };
      await srv.close();
      // A request closed before its body came leaves the file stream open, on Node's path too.
      const w = ws as fs.WriteStream | null;
      if (w) {
        await until(() => w.writableLength === 0);
        w.destroy();
        await closed(w);
      }
      return { got, events: log.byLabel(), final, file: fileFacts(file) };
    });
  }

  it('writeContinue() on a later turn, then req.pipe(file): the body after the 100 is spliced', async () => {
    const both = await checkContinue('continue, then pipe');
    expect(both.zerocopy.result).toEqual(both.node.result);
    expect(both.node.result.got).toBe(`200 stored ${MiB}`);
    expect(both.node.result.file).toBe(`${MiB} ${sha(pattern(MiB, 51)).slice(0, 16)}`);
    // The body came after the 100: none of it with the headers, all of it the kernel's.
    if (!fastPathOff) expect(splicedBytes(both.zerocopy.transfers)).toBe(MiB);
  });

  it('req.pipe(file) first, writeContinue() a turn later: declined (not answered yet), the same as Node', async () => {
    const both = await checkContinue('pipe, then continue');
    expect(both.zerocopy.result).toEqual(both.node.result);
    expect(both.node.result.got).toBe(`200 stored ${MiB}`);
    expect(both.node.result.file).toBe(`${MiB} ${sha(pattern(MiB, 51)).slice(0, 16)}`);
    expect(splicedBytes(both.zerocopy.transfers)).toBe(0);
    if (!fastPathOff) expect(declineReasons(both.zerocopy.transfers)).toEqual(['Expect: 100-continue not answered']);
  });

  it.each(['417', 'pipe, then 417'] as const)(
    'the listener answers %s without the body ever sent: the same answer and close as on Node',
    async (answer) => {
      const both = await checkContinue(answer);
      expect(both.zerocopy.result).toEqual(both.node.result);
      expect(both.node.result.got).toBe('417 no');
      expect(both.node.result.events.client).not.toContain('continue');
      expect(splicedBytes(both.zerocopy.transfers)).toBe(0);
      if (!fastPathOff && answer === 'pipe, then 417')
        expect(declineReasons(both.zerocopy.transfers)).toEqual(['Expect: 100-continue not answered']);
    },
  );
});

function listen(server: net.Server): Promise<number> {
  return new Promise((r) => server.listen(0, '127.0.0.1', () => r((server.address() as net.AddressInfo).port)));
}

describe('TLS: an https message body declines', () => {
  let tls: { key: Buffer; cert: Buffer };
  beforeAll(() => {
    tls = selfSignedCert(base);
  });

  it("a 1 MiB upload to an https server doing req.pipe(file): Node's path (TLS socket), the same file", async () => {
    const body = pattern(1 * MiB, 61);
    const both = await runRegistered(async (impl, dir) => {
      const log = new Log();
      const file = path.join(dir, 'up');
      let stored!: Promise<void>;
      const server = https.createServer(tls, (req, res) => {
        log.watch('req', req, REQ_EVENTS);
        log.watch('res', res, ['finish', 'close']);
        const ws = log.watch('ws', writeStreamOf(impl)(file), WS_EVENTS);
        stored = closed(ws);
        req.pipe(ws);
        ws.on('finish', () => {
          log.add(`stored complete=${req.complete} bytesWritten=${ws.bytesWritten}`);
          res.end(`stored ${ws.bytesWritten}`);
        });
      });
      const port = await listen(server);
      const req = https.request({
        port,
        host: '127.0.0.1',
        method: 'PUT',
        agent: false,
        rejectUnauthorized: false,
        headers: { 'content-length': body.length },
      });
      const answer = answerOf(req, log, 'client');
      req.end(body);
      const got = await answer;
      await stored;
      await new Promise<void>((r) => {
        server.closeAllConnections();
        server.close(() => r());
      });
      return { got, events: log.byLabel(), file: fileFacts(file) };
    });
    expect(both.zerocopy.result).toEqual(both.node.result);
    expect(both.node.result.got).toBe(`200 stored ${MiB}`);
    expect(both.node.result.file).toBe(`${MiB} ${sha(body).slice(0, 16)}`);
    expect(splicedBytes(both.zerocopy.transfers)).toBe(0);
    if (!fastPathOff) expect(declineReasons(both.zerocopy.transfers)).toEqual(['TLS socket']);
  });

  it("a 1 MiB https response piped to a file: Node's path (TLS socket), the same file", async () => {
    const body = pattern(1 * MiB, 62);
    const server = https.createServer(tls, (_req, res) => {
      res.setHeader('content-length', body.length);
      res.end(body);
    });
    const port = await listen(server);
    const both = await runRegistered(async (impl, dir) => {
      const log = new Log();
      const file = path.join(dir, 'down');
      await new Promise<void>((resolve) => {
        const req = https.get(
          { port, host: '127.0.0.1', path: '/', agent: false, rejectUnauthorized: false },
          (res) => {
            log.watch('res', res, REQ_EVENTS);
            const ws = log.watch('ws', writeStreamOf(impl)(file), WS_EVENTS);
            res.pipe(ws);
            ws.on('close', () => {
              log.add(`file complete=${res.complete} bytesWritten=${ws.bytesWritten}`);
              resolve();
            });
          },
        );
        log.watch('req', req, ['finish', 'error', 'close']);
      });
      await until(() => log.lines.includes('req close'));
      return { events: log.byLabel(), file: fileFacts(file) };
    });
    await new Promise<void>((r) => {
      server.closeAllConnections();
      server.close(() => r());
    });
    expect(both.zerocopy.result).toEqual(both.node.result);
    expect(both.node.result.file).toBe(`${MiB} ${sha(body).slice(0, 16)}`);
    expect(splicedBytes(both.zerocopy.transfers)).toBe(0);
    if (!fastPathOff) expect(declineReasons(both.zerocopy.transfers)).toEqual(['TLS socket']);
  });
});
