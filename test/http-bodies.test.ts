// HTTP bodies as sources (issue #17): a server's request body piped to a
// file (uploads), a client's response body piped to a file (downloads). The
// same scenario runs with Node's fs.WriteStream and with ours; what the
// application and the peer observe must be the same, and on the zerocopy run
// the kernel must have moved the body.
import * as fs from 'node:fs';
import * as http from 'node:http';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import * as stream from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as zc from '../dist/index.js';
import { recordTransfers } from './helpers/diag';
import {
  declineReasons,
  fastPathOff,
  fileFacts,
  type Impl,
  KiB,
  Log,
  MiB,
  pattern,
  putHead,
  REQ_EVENTS,
  rawExchange,
  receivedUntil,
  runBoth,
  sha,
  splicedBytes,
  startServer,
  WS_EVENTS,
  withoutDate,
  writeStreamOf,
} from './helpers/http-bodies';
import { until } from './helpers/wait';

let base: string;
let previous: ReturnType<typeof zc.configure>;
beforeAll(() => {
  base = fs.mkdtempSync(path.join(os.tmpdir(), 'zerocopy-bodies-'));
  // Every body size on the fast path here (the default threshold is for speed).
  previous = zc.configure({ minHttpBodyBytes: 0, minSplicedBodyBytes: 0 });
});
afterAll(() => {
  zc.configure(previous);
  fs.rmSync(base, { recursive: true, force: true });
});

/**
 * An upload server: PUT bodies go to numbered files; a GET answers 'bye'.
 * Its file streams are pushed to `files`.
 */
function uploadServer(impl: Impl, dir: string, log: Log, files: fs.WriteStream[], options: http.ServerOptions = {}) {
  return startServer((req, res, n) => {
    if (req.method === 'GET') {
      log.add(`GET ${req.url}`);
      res.end('bye');
      return;
    }
    const file = path.join(dir, `up${n}`);
    log.watch(`req${n}`, req, REQ_EVENTS);
    log.watch(`res${n}`, res, ['finish', 'close']);
    const ws = log.watch(`ws${n}`, writeStreamOf(impl)(file), WS_EVENTS);
    files.push(ws);
    req.pipe(ws);
    ws.on('finish', () => {
      log.add(`stored${n} ${fileFacts(file)} complete=${req.complete} bytesWritten=${ws.bytesWritten}`);
      res.end(`stored ${ws.bytesWritten}`);
    });
  }, options);
}

/** Node reads a socket 64 KiB at a time: body bytes that came with the headers are the parser's. */
const FIRST_READ = 64 * KiB;

/** Resolves once every stream has emitted 'close'. */
function allClosed(streams: fs.WriteStream[]): Promise<void> {
  return Promise.all(streams.map((s) => (s.closed ? null : new Promise<void>((r) => s.once('close', () => r()))))).then(
    () => undefined,
  );
}

const BODY_SIZES = [0, 1, 100, 64 * KiB + 1, 200 * KiB, 1 * MiB, 8 * MiB];

describe('uploads: request bodies piped to a file', () => {
  it.each(BODY_SIZES)('%i-byte bodies, twice on one keep-alive connection, then a GET', async (size) => {
    const bodies = [pattern(size, 1), pattern(size, 2)];
    const both = await runBoth(base, async (impl, dir) => {
      const log = new Log();
      const files: fs.WriteStream[] = [];
      const srv = await uploadServer(impl, dir, log, files);
      const wire = await rawExchange(srv.port, [
        putHead('/a', size),
        bodies[0],
        (s, got) => receivedUntil(s, got, (t) => t.includes('stored')),
        putHead('/b', size),
        bodies[1],
        (s, got) => receivedUntil(s, got, (t) => t.split('stored').length === 3),
        'GET /end HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n',
      ]);
      await srv.close();
      await allClosed(files);
      const order = [0, 1].map((i) => [
        log.before(`req${i} end`, `ws${i} finish`),
        log.before(`ws${i} finish`, `res${i} finish`),
        log.before(`res${i} finish`, `req${i + 1} end`),
      ]);
      return { events: log.byLabel(), order, wire };
    });
    expect(both.zerocopy.result).toEqual(both.node.result);
    // The runs agree, and agree with what was sent.
    const { events } = both.node.result;
    expect([events.stored0, events.stored1]).toEqual([
      [`${size} ${sha(bodies[0]).slice(0, 16)} complete=true bytesWritten=${size}`],
      [`${size} ${sha(bodies[1]).slice(0, 16)} complete=true bytesWritten=${size}`],
    ]);
    expect(both.node.transfers).toEqual([]);
    if (fastPathOff || size === 0) expect(splicedBytes(both.zerocopy.transfers)).toBe(0);
    // All but what Node's first read of the connection took with the headers (at most 64 KiB).
    else if (size >= 1 * MiB)
      expect(splicedBytes(both.zerocopy.transfers)).toBeGreaterThanOrEqual(2 * (size - FIRST_READ));
    else
      expect(splicedBytes(both.zerocopy.transfers) + declineReasons(both.zerocopy.transfers).length).toBeGreaterThan(0);
  });
});

describe('uploads: the connection after a body, and bodies Node keeps', () => {
  it('a GET pipelined right behind a 2 MiB body is parsed and answered', async () => {
    const body = pattern(2 * MiB, 3);
    const both = await runBoth(base, async (impl, dir) => {
      const log = new Log();
      const files: fs.WriteStream[] = [];
      const srv = await uploadServer(impl, dir, log, files);
      // One write: the GET waits in the kernel right behind the body.
      const wire = await rawExchange(srv.port, [
        Buffer.concat([
          Buffer.from(putHead('/a', body.length)),
          body,
          Buffer.from('GET /next HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n'),
        ]),
      ]);
      await srv.close();
      await allClosed(files);
      return { events: log.byLabel(), wire };
    });
    expect(both.zerocopy.result).toEqual(both.node.result);
    expect(both.node.result.events.GET).toEqual(['/next']);
    expect(both.node.result.wire.text).toContain('bye');
    if (!fastPathOff)
      expect(
        splicedBytes(both.zerocopy.transfers),
        declineReasons(both.zerocopy.transfers).join(),
      ).toBeGreaterThanOrEqual(body.length - FIRST_READ);
  });

  it.each([
    ['chunked', 'Transfer-Encoding: chunked\r\n', 'Transfer-Encoding (chunked) body'],
    ['no length', '', 'no Content-Length'],
  ])('a %s body declines and goes through Node', async (_name, header, reason) => {
    const body = pattern(300 * KiB, 4);
    const chunked = Buffer.concat([Buffer.from(`${body.length.toString(16)}\r\n`), body, Buffer.from('\r\n0\r\n\r\n')]);
    const both = await runBoth(base, async (impl, dir) => {
      const log = new Log();
      const files: fs.WriteStream[] = [];
      const srv = await uploadServer(impl, dir, log, files);
      const head = `PUT /c HTTP/1.1\r\nHost: t\r\n${header}Connection: close\r\n\r\n`;
      const wire = await rawExchange(srv.port, header ? [head, chunked] : [head]);
      await srv.close();
      await allClosed(files);
      return { events: log.byLabel(), wire };
    });
    expect(both.zerocopy.result).toEqual(both.node.result);
    if (!fastPathOff) expect(declineReasons(both.zerocopy.transfers)).toEqual([reason]);
    expect(splicedBytes(both.zerocopy.transfers)).toBe(0);
  });

  it.skipIf(fastPathOff)('a body piped into a stream with no fd is declined within pipe()', async () => {
    const body = pattern(1 * MiB, 17);
    const transfers = recordTransfers();
    let atPipe = -1;
    const srv = await startServer((req, res) => {
      const pass = new stream.PassThrough();
      zc.pipeline(req, pass, () => {});
      // Decided before pipeline() returned: no later turn holds the socket's reads.
      atPipe = transfers.messages.length;
      let n = 0;
      pass.on('data', (d: Buffer) => {
        n += d.length;
      });
      pass.on('end', () => res.end(`got ${n}`));
    });
    const wire = await rawExchange(srv.port, [putHead('/p', body.length, 'Connection: close\r\n'), body]);
    transfers.stop();
    await srv.close();
    expect(wire.text).toContain(`got ${body.length}`);
    expect(transfers.messages.map((m) => `${m.path} ${m.reason}`)).toEqual(['normal destination has no fd']);
    expect(atPipe).toBe(1);
  });

  it('Expect: 100-continue: the body sent after the 100 is spliced', async () => {
    const body = pattern(1 * MiB, 5);
    const both = await runBoth(base, async (impl, dir) => {
      const log = new Log();
      const files: fs.WriteStream[] = [];
      const srv = await uploadServer(impl, dir, log, files);
      const wire = await rawExchange(srv.port, [
        putHead('/e', body.length, 'Expect: 100-continue\r\nConnection: close\r\n'),
        (s, got) => receivedUntil(s, got, (t) => t.includes('100 Continue\r\n\r\n')),
        body,
      ]);
      await srv.close();
      await allClosed(files);
      return { events: log.byLabel(), wire };
    });
    expect(both.zerocopy.result).toEqual(both.node.result);
    expect(both.node.result.events.stored0?.[0]).toMatch(/^1048576 /);
    // The body came after the headers' read: all of it is the kernel's.
    if (!fastPathOff) expect(splicedBytes(both.zerocopy.transfers)).toBe(body.length);
  });
});

describe('uploads: a body that does not arrive whole', () => {
  /** Sends half the body, then ends the connection (FIN) or resets it. */
  async function cutShort(how: 'end' | 'reset') {
    const body = pattern(2 * MiB, 6);
    const half = 1 * MiB;
    return runBoth(base, async (impl, dir) => {
      const log = new Log();
      const files: fs.WriteStream[] = [];
      const srv = await uploadServer(impl, dir, log, files);
      const serverSide = new Promise<net.Socket>((r) => srv.server.once('connection', r));
      const got = new Promise<void>((r) => srv.server.once('request', () => r()));
      const client = net.connect(srv.port, '127.0.0.1');
      client.on('error', () => {});
      client.write(putHead('/h', body.length));
      client.write(body.subarray(0, half));
      const sock = await serverSide;
      log.watch('sock', sock, ['end', 'close']);
      await got;
      // Both runs cut at the same byte: once the server has stored all that was sent.
      const file = path.join(dir, 'up0');
      await new Promise<void>((resolve) => {
        const poll = (): void => {
          if (fs.existsSync(file) && fs.statSync(file).size === half) resolve();
          else setImmediate(poll);
        };
        poll();
      });
      if (how === 'end') client.end();
      else client.resetAndDestroy();
      // Node's server keeps a half-closed connection open (its socket paused
      // by the request's backpressure never emits 'end'): close it once the
      // socket has read the end of file.
      if (how === 'end')
        await until(
          () => sock.readableEnded || (sock as unknown as { _readableState: { ended: boolean } })._readableState.ended,
        );
      else await new Promise<void>((r) => (sock.destroyed ? r() : sock.once('close', () => r())));
      await srv.close();
      // An aborted request unpipes its file stream and leaves it open, on Node's path too.
      await until(() => files.every((ws) => ws.writableLength === 0));
      for (const ws of files) ws.destroy();
      await allClosed(files);
      client.destroy();
      return { events: log.byLabel(), file: fileFacts(file) };
    });
  }

  it.each(['end', 'reset'] as const)(
    'the peer %ss the connection halfway: as on Node, the file holds what came',
    async (how) => {
      const both = await cutShort(how);
      expect(both.zerocopy.result).toEqual(both.node.result);
      expect(both.node.result.file).toMatch(/^1048576 /);
      expect(both.node.result.events.req0).toContain('aborted');
    },
  );
});

/** A server that answers every GET with `body` (Content-Length); `/cut` sends half, then destroys the socket. */
async function downloadServer(body: Buffer) {
  return startServer((req, res) => {
    res.setHeader('content-length', body.length);
    if (req.url === '/cut') {
      res.write(body.subarray(0, body.length / 2), () => setImmediate(() => res.destroy()));
      return;
    }
    res.end(body);
  });
}

describe('downloads: client response bodies piped to a file', () => {
  it.each([200 * KiB, 1 * MiB, 8 * MiB])('%i bytes, three downloads on one keep-alive Agent', async (size) => {
    const body = pattern(size, 7);
    const srv = await downloadServer(body);
    const both = await runBoth(base, async (impl, dir) => {
      const log = new Log();
      const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
      let frees = 0;
      agent.on('free', () => frees++);
      // What Node's client leaves on its socket after each response (its
      // 'data', 'end' and 'drain' listeners come off once the response is
      // complete): kept equal, or they pile up on a keep-alive socket.
      const left: string[] = [];
      for (let i = 0; i < 3; i++) {
        const file = path.join(dir, `down${i}`);
        await new Promise<void>((resolve, reject) => {
          const req = http.get({ port: srv.port, host: '127.0.0.1', path: '/', agent }, (res) => {
            const sock = res.socket;
            res.on('end', () =>
              setImmediate(() =>
                left.push(['data', 'end', 'drain', 'error', 'close'].map((e) => sock.listenerCount(e)).join(',')),
              ),
            );
            log.watch(`res${i}`, res, REQ_EVENTS);
            const ws = log.watch(`ws${i}`, writeStreamOf(impl)(file), WS_EVENTS);
            res.pipe(ws);
            ws.on('close', () => {
              log.add(`file${i} ${fileFacts(file)} complete=${res.complete} reused=${req.reusedSocket}`);
              resolve();
            });
          });
          log.watch(`req${i}`, req, ['finish', 'error', 'close']);
          req.on('error', reject);
        });
      }
      agent.destroy();
      return { events: log.byLabel(), frees, left };
    });
    await srv.close();
    expect(both.zerocopy.result).toEqual(both.node.result);
    expect(both.node.result.events.file2).toEqual([`${size} ${sha(body).slice(0, 16)} complete=true reused=true`]);
    if (!fastPathOff)
      expect(
        splicedBytes(both.zerocopy.transfers),
        declineReasons(both.zerocopy.transfers).join(),
      ).toBeGreaterThanOrEqual(size < MiB ? 1 : 3 * (size - FIRST_READ));
  });

  it('the server destroys the response halfway: the same abort as on Node', async () => {
    const body = pattern(4 * MiB, 8);
    const srv = await downloadServer(body);
    const both = await runBoth(base, async (impl, dir) => {
      const log = new Log();
      const file = path.join(dir, 'cut');
      const ws = log.watch('ws', writeStreamOf(impl)(file), WS_EVENTS);
      await new Promise<void>((resolve) => {
        const req = http.get({ port: srv.port, host: '127.0.0.1', path: '/cut', agent: false }, (res) => {
          log.watch('res', res, REQ_EVENTS);
          res.pipe(ws);
          res.on('close', () => resolve());
        });
        req.on('error', (e: NodeJS.ErrnoException) => log.add(`req error ${e.code}`));
      });
      // The aborted response leaves its file stream open: close it once its writes are done.
      await until(() => ws.writableLength === 0);
      ws.destroy();
      await allClosed([ws]);
      const got = fs.readFileSync(file);
      return { events: log.byLabel(), prefix: got.equals(body.subarray(0, got.length)), bytes: got.length };
    });
    await srv.close();
    // Node drops what its streams still buffered when the response aborts
    // (how much depends on timing); the kernel path has none buffered. Both
    // files are a prefix of what the server sent before it cut.
    const { bytes: nodeBytes, ...node } = both.node.result;
    const { bytes: ours, ...zerocopy } = both.zerocopy.result;
    expect(zerocopy).toEqual(node);
    expect(node.prefix).toBe(true);
    expect(node.events.res).toContain('aborted');
    expect(nodeBytes).toBeLessThanOrEqual(2 * MiB);
    expect(ours).toBeLessThanOrEqual(2 * MiB);
  });
});

describe('uploads: the application or the server stops a body midway', () => {
  /** Sends 1 MiB of a 4 MiB body; once the server has stored it, `act` runs on the server side. */
  async function midway(act: (req: http.IncomingMessage, srv: http.Server) => void, options: http.ServerOptions = {}) {
    const body = pattern(4 * MiB, 9);
    const part = 1 * MiB;
    return runBoth(base, async (impl, dir) => {
      const log = new Log();
      const files: fs.WriteStream[] = [];
      const srv = await uploadServer(impl, dir, log, files, options);
      const got = new Promise<http.IncomingMessage>((r) => srv.server.once('request', r));
      const client = net.connect(srv.port, '127.0.0.1');
      const clientClosed = new Promise<void>((r) => client.on('close', () => r()));
      client.on('error', (e: NodeJS.ErrnoException) => log.add(`client error ${e.code}`));
      let answer = '';
      client.on('data', (d: Buffer) => {
        answer += d.toString('latin1');
      });
      client.write(putHead('/m', body.length));
      client.write(body.subarray(0, part));
      const req = await got;
      const file = path.join(dir, 'up0');
      await until(() => fs.existsSync(file) && fs.statSync(file).size === part);
      act(req, srv.server);
      await clientClosed;
      await srv.close();
      await until(() => files.every((ws) => ws.writableLength === 0));
      for (const ws of files) ws.destroy();
      await allClosed(files);
      return { events: log.byLabel(), file: fileFacts(file), answer: withoutDate(answer) };
    });
  }

  it('req.destroy() mid-body: the connection closes, as on Node', async () => {
    const both = await midway((req) => req.destroy());
    expect(both.zerocopy.result).toEqual(both.node.result);
    expect(both.node.result.events.req0).toEqual(['aborted', 'close']);
    if (!fastPathOff) expect(splicedBytes(both.zerocopy.transfers)).toBeGreaterThan(0);
  });

  it("the server's requestTimeout expires while the body stalls: the same 408 and close as on Node", async () => {
    const both = await midway(() => {}, { requestTimeout: 300, connectionsCheckingInterval: 50 });
    expect(both.zerocopy.result).toEqual(both.node.result);
    expect(both.node.result.answer).toMatch(/^HTTP\/1\.1 408 /);
    if (!fastPathOff) expect(splicedBytes(both.zerocopy.transfers)).toBeGreaterThan(0);
  });

  it("the socket's idle timeout fires while the body stalls: the same end as on Node", async () => {
    // No 'timeout' listener: Node's server destroys the socket.
    const both = await midway((req) => req.socket.setTimeout(50));
    expect(both.zerocopy.result).toEqual(both.node.result);
    if (!fastPathOff) expect(splicedBytes(both.zerocopy.transfers)).toBeGreaterThan(0);
  });
});

describe("a parser that disagrees with the kernel's count", () => {
  it.skipIf(fastPathOff)('destroys the connection: the GET behind the body is never answered', async () => {
    const body = pattern(1 * MiB, 10);
    const log = new Log();
    const files: fs.WriteStream[] = [];
    const dir = fs.mkdtempSync(path.join(base, 'desync-'));
    const srv = await uploadServer('zerocopy', dir, log, files);
    const errors: string[] = [];
    srv.server.on('clientError', (e: NodeJS.ErrnoException, sock) => {
      errors.push(String(e.code));
      sock.destroy();
    });
    srv.server.once('request', (req: http.IncomingMessage) => {
      // Skipping the moved bytes empties the body slot: then answer one byte short.
      const parser = (req.socket as unknown as { parser: Record<number, unknown> & { execute(b: Buffer): unknown } })
        .parser;
      const kOnBody = (parser.constructor as unknown as { kOnBody: number }).kOnBody;
      const execute = parser.execute;
      parser.execute = function (this: typeof parser, b: Buffer) {
        const r = execute.call(this, b);
        return this[kOnBody] === null && typeof r === 'number' ? r - 1 : r;
      };
    });
    const wire = await rawExchange(srv.port, [
      Buffer.concat([
        Buffer.from(putHead('/d', body.length)),
        body,
        Buffer.from('GET /after HTTP/1.1\r\nHost: t\r\n\r\n'),
      ]),
    ]);
    await srv.close();
    for (const ws of files) ws.destroy();
    await allClosed(files);
    expect(errors).toEqual(['ERR_ZEROCOPY_BODY_DESYNC']);
    expect(wire.text).not.toContain('bye');
    expect(log.lines).not.toContain('GET /after');
  });
});
