// HTTP edge cases, stock vs zerocopy: a file that shrinks while it is being
// sent, a server timeout during a long slow transfer, a keep-alive timeout
// closing an idle connection after a response, and a server process that
// exits by itself once closed with responses mid-body.

import * as fs from 'node:fs';
import * as net from 'node:net';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeSource } from '../differential/common';
import { tmpDir } from '../helpers/files';
import {
  type Corpus,
  expectSame,
  FILES,
  fastPathOff,
  get,
  MiB,
  makeCorpus,
  PROBE,
  rangeHash,
  runBoth,
} from '../helpers/http-scenarios';
import { closePair, MODES, type Mode, type Pair, Server, startPair } from '../helpers/http-server';
import { header } from '../helpers/http-wire';

const VICTIM_SIZE = 64 * MiB;
const TRUNCATED_TO = MiB;
// Random bytes up to the truncation point, then a sparse tail (zeros): see
// the truncation test for why the data ends exactly there.
const VICTIM_DATA = TRUNCATED_TO;

const FRAMEWORKS = ['plain', 'plain-chunked', 'express'] as const;
type Fw = (typeof FRAMEWORKS)[number];

// Each scenario runs for the three servers at once (it.concurrent): they
// mostly wait — on a slow reader, on an idle timeout.
let corpus: Corpus;
let reference: string;
const pairs = new Map<Fw, Pair>();
beforeAll(async () => {
  // The probe, the 8 and 64 MiB files: what these tests need besides the victims.
  corpus = await makeCorpus(
    tmpDir(),
    FILES.filter(([name]) => ['f1.txt', 'f8m.txt', 'f64m.txt'].includes(name)),
  );
  reference = victim(path.join(corpus.dir, 'reference'));
  const started = await Promise.allSettled(FRAMEWORKS.map((fw) => startPair(fw, corpus.dir)));
  started.forEach((r, i) => {
    if (r.status === 'fulfilled') pairs.set(FRAMEWORKS[i], r.value);
  });
  const failed = started.find((r) => r.status === 'rejected');
  if (failed) throw (failed as PromiseRejectedResult).reason;
});
afterAll(async () => {
  await Promise.all([...pairs.values()].map(closePair));
  fs.rmSync(corpus.dir, { recursive: true, force: true });
});

/**
 * A 64 MiB file whose first MiB is random (the same for every victim),
 * the rest a hole; one mtime for all, so validators (ETag, Last-Modified) match.
 */
function victim(file: string): string {
  const made = makeSource(path.dirname(file), path.basename(file), VICTIM_DATA, 99);
  fs.truncateSync(made, VICTIM_SIZE);
  fs.utimesSync(made, 1_700_000_000, 1_700_000_000);
  return made;
}

describe('a file truncated while it is sent: never a clean response with a wrong body', () => {
  it.concurrent.each(FRAMEWORKS)('%s, stock vs zerocopy', async (framework) => {
    const pair = pairs.get(framework)!;
    // The client truncates the file to 1 MiB as soon as the first body bytes
    // arrive; the server has read at most a few MiB by then (socket buffers).
    //
    // What stock does with Content-Length: its read stream meets end of file
    // early and pipe() calls res.end(). Node does not check the count against
    // Content-Length (it only refuses bytes beyond it, with
    // strictContentLength), so the server code sees a response that went
    // well, and a client can tell only because the connection closes before
    // Content-Length bytes came (Connection: close here; on a kept-alive
    // connection it would wait until the keep-alive timeout closes it). With
    // chunked framing no length was promised: stock ends the response
    // cleanly with the shorter body. zerocopy may end either sooner (a
    // destroyed connection) but never complete a response whose body is not
    // the file as it was.
    //
    // Past the truncation point no one promises the old bytes: the kernel
    // zeroes the truncated part of a (large) folio in place, so bytes
    // zerocopy queued with sendfile (the README's limit: sendfile reads the
    // pages when it sends them) and Node's own read() racing the truncation
    // alike may be zeros there. A stock run under load got such a body (a
    // clean chunked response, 1.125 MiB, not the file's old bytes); plain
    // fs.read() racing a truncate returned zeros in place of data in 67 of
    // 12,000 reads of 64 KiB, never any other byte. So the file's data ends
    // at the truncation point: past it the file only ever held zeros, and a
    // body is right exactly when it is a prefix of the file.
    const files = { stock: '', zerocopy: '' };
    for (const mode of MODES) files[mode] = victim(path.join(corpus.dir, `victim-${framework}-${mode}.txt`));
    const both = await runBoth(
      pair,
      (s) => Promise.resolve([get(`/${path.basename(files[s.mode])}`, [['Connection', 'close']])]),
      (s) => {
        let truncated = false;
        return {
          mark: TRUNCATED_TO,
          onData: (p) => {
            if (!truncated && p.bodyBytes > 0) {
              truncated = true;
              fs.truncateSync(files[s.mode], TRUNCATED_TO);
            }
            return undefined;
          },
        };
      },
    );
    const chunked = framework === 'plain-chunked';
    const prefix = rangeHash(reference, 0, TRUNCATED_TO);
    for (const mode of MODES) {
      const x = both[mode];
      const res = x.responses[0] ?? x.partial;
      expect(res, `${mode}: a response came`).toBeDefined();
      expect(res!.statusLine).toBe('HTTP/1.1 200 OK');
      expect(res!.framing).toBe(chunked ? 'chunked' : 'length');
      expect(res!.body.length).toBeLessThan(VICTIM_SIZE);
      // zerocopy resets the connection once it sees the file shorter than
      // the bytes it queued (ERR_ZEROCOPY_SOURCE_SHRANK), and a reset drops
      // what the client had not read yet: a shorter failed body, still the
      // file's first bytes.
      if (mode === 'zerocopy' && !res!.complete && res!.body.length < TRUNCATED_TO) {
        expect(res!.body.digest, `${mode}: a reset body is a prefix of the file`).toBe(
          rangeHash(reference, 0, res!.body.length),
        );
      } else {
        expect(res!.body.length).toBeGreaterThanOrEqual(TRUNCATED_TO);
        expect(res!.head, `${mode}: the first 1 MiB is the file's`).toEqual({ length: TRUNCATED_TO, digest: prefix });
      }
      const exactPrefix = res!.body.digest === rangeHash(reference, 0, res!.body.length);
      if (mode === 'stock' || res!.complete)
        expect(
          exactPrefix,
          `${mode}: ${res!.body.length} bytes (complete: ${res!.complete}), a prefix of the file`,
        ).toBe(true);
      if (!chunked) {
        expect(header(res, 'content-length')).toBe(String(VICTIM_SIZE));
        expect(x.responses, `${mode}: no complete response`).toHaveLength(0);
        expect(x.closedBy).toBe('server');
      }
    }
    // Stock ends a chunked body cleanly, a Content-Length one never.
    expect(both.stock.responses).toHaveLength(chunked ? 1 : 0);
    const headers = (m: Mode): unknown => (both[m].responses[0] ?? both[m].partial)!.headers;
    expect(headers('zerocopy')).toEqual(headers('stock'));
  });
});

describe('server.setTimeout(1500): a transfer slower than that, bytes flowing all along, is not cut', () => {
  it.concurrent.each(FRAMEWORKS)('%s, stock vs zerocopy', async (framework) => {
    const pair = pairs.get(framework)!;
    // The reader takes 256 KiB (one read at most) every 10 ms for 2 s, then
    // the rest at full speed. Node's socket timeout counts time without
    // activity, and a write's completion is activity: bytes the kernel
    // moves must count as much as Node's own writes. The pace matters: the
    // kernel tells a writer its socket has room only once half its send
    // buffer (up to 4 MiB) has drained — at 1.6 MB/s that is over a second
    // without activity, and stock times out too; at ~25 MB/s it is every
    // ~80 ms, twenty times below the timeout. The timeout is that long
    // because it is wall-clock: with 400 ms, a loaded 2-core machine stalled
    // stock itself past it (no byte written yet) in 2 runs of 6. The pauses
    // only pace the reader: no outcome waits on a timer.
    const TIMEOUT = 1500;
    const SLOW_FOR = 2000;
    await Promise.all(MODES.map((m) => pair[m].configure({ timeout: TIMEOUT })));
    try {
      const requests = [get('/f64m.txt'), PROBE];
      // Where the body was when the slow phase ended (-1: it never did).
      const slowUntil = { stock: -1, zerocopy: -1 };
      const both = await runBoth(pair, requests, (s) => {
        let started = 0;
        return {
          readSize: 256 * 1024,
          onData: (p) => {
            if (p.index !== 0 || p.bodyBytes === 0) return undefined;
            started ||= Date.now();
            if (Date.now() - started > SLOW_FOR) {
              if (slowUntil[s.mode] < 0) slowUntil[s.mode] = p.bodyBytes;
              return undefined;
            }
            return new Promise((r) => setTimeout(r, 10));
          },
        };
      });
      for (const mode of MODES) {
        const c = both.logs[mode].connections[0];
        expect(
          c.timeouts,
          `${mode}: socket timeouts, at ${JSON.stringify(c.timeoutAt)} (the client had ${both[mode].rawBytes})`,
        ).toBe(0);
        // The slow phase ran out with part of the body still to come (at
        // 256 KiB a pause, 64 MiB takes 256 of them, ≥ 2.56 s).
        expect(slowUntil[mode], `${mode}: body bytes when the slow phase ended`).toBeGreaterThan(0);
        expect(slowUntil[mode]).toBeLessThan(64 * MiB);
      }
      expectSame(both, corpus, requests);
    } finally {
      await Promise.all(MODES.map((m) => pair[m].configure({ timeout: 0 })));
    }
  });
});

describe('keepAliveTimeout: the server closes the idle connection after an 8 MiB response, as stock', () => {
  it.concurrent.each(FRAMEWORKS)(
    '%s, stock vs zerocopy',
    async (framework) => {
      const pair = pairs.get(framework)!;
      await Promise.all(MODES.map((m) => pair[m].configure({ keepAliveTimeout: 100 })));
      try {
        const requests = [get('/f8m.txt')];
        const both = await runBoth(pair, requests, { linger: true });
        expectSame(both, corpus, requests);
        for (const mode of MODES) {
          expect(both[mode].closedBy).toBe('server');
          expect(both[mode].responses).toHaveLength(1);
        }
      } finally {
        await Promise.all(MODES.map((m) => pair[m].configure({ keepAliveTimeout: 5000 })));
      }
    },
    30_000,
  );
});

describe('server.close() and closeAllConnections() with responses mid-body to clients that stopped reading: the process exits by itself', () => {
  it.concurrent.each(FRAMEWORKS)('%s, stock and zerocopy', async (framework) => {
    // Each mode's own server: this one is closed, not the shared pair. Its
    // fixture does not call process.exit() here: a kernel transfer, fd
    // watcher or socket the library kept alive would keep the process alive
    // (and this test pending) where stock's exits.
    const servers = await Promise.all(MODES.map((m) => Server.start(m, framework, corpus.dir)));
    const clients: net.Socket[] = [];
    try {
      const codes = await Promise.all(
        servers.map(async (server) => {
          for (let i = 0; i < 2; i++) {
            const c = net.connect(server.port, '127.0.0.1');
            c.on('error', () => {}); // the server's close may reset it
            clients.push(c);
            c.write('GET /f64m.txt HTTP/1.1\r\nHost: x\r\n\r\n');
            await new Promise((r) => c.once('data', r));
            c.pause();
          }
          expect(await server.blocked(), `${server.mode}: the server is held up by its clients`).toBe(true);
          if (server.mode === 'zerocopy' && !fastPathOff) {
            expect((await server.fds()).running, 'kernel transfers waiting on the clients').toBeGreaterThan(0);
          }
          return server.closeNaturally();
        }),
      );
      expect(codes).toEqual([0, 0]);
    } finally {
      for (const c of clients) c.destroy();
      for (const s of servers) s.kill();
    }
  });
});
