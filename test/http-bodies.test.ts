// HTTP bodies as sources (issue #17): a server's request body piped to a
// file (uploads), a client's response body piped to a file (downloads). The
// same scenario runs with Node's fs.WriteStream and with ours; what the
// application and the peer observe must be the same, and on the zerocopy run
// the kernel must have moved the body.
import * as fs from 'node:fs';
import type * as http from 'node:http';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as zc from '../dist/index.js';
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
  writeStreamOf,
} from './helpers/http-bodies';

let base: string;
let previous: ReturnType<typeof zc.configure>;
beforeAll(() => {
  base = fs.mkdtempSync(path.join(os.tmpdir(), 'zerocopy-bodies-'));
  // Every body size on the fast path here (the default threshold is for speed).
  previous = zc.configure({ minHttpBodyBytes: 0 });
});
afterAll(() => {
  zc.configure(previous);
  fs.rmSync(base, { recursive: true, force: true });
});

/**
 * An upload server: PUT bodies go to numbered files; a GET answers 'bye'.
 * `settled` holds a promise per file stream that resolves at its 'close'.
 */
function uploadServer(impl: Impl, dir: string, log: Log, settled: Promise<void>[], options: http.ServerOptions = {}) {
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
    settled.push(new Promise((r) => ws.on('close', () => r())));
    req.pipe(ws);
    ws.on('finish', () => {
      log.add(`stored${n} ${fileFacts(file)} complete=${req.complete} bytesWritten=${ws.bytesWritten}`);
      res.end(`stored ${ws.bytesWritten}`);
    });
  }, options);
}

/** Node reads a socket 64 KiB at a time: body bytes that came with the headers are the parser's. */
const FIRST_READ = 64 * KiB;

const BODY_SIZES = [0, 1, 100, 64 * KiB + 1, 200 * KiB, 1 * MiB, 8 * MiB];

describe('uploads: request bodies piped to a file', () => {
  it.each(BODY_SIZES)('%i-byte bodies, twice on one keep-alive connection, then a GET', async (size) => {
    const bodies = [pattern(size, 1), pattern(size, 2)];
    const both = await runBoth(base, async (impl, dir) => {
      const log = new Log();
      const settled: Promise<void>[] = [];
      const srv = await uploadServer(impl, dir, log, settled);
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
      await Promise.all(settled);
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
