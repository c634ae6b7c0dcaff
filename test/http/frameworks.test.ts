// Real static-file servers, unchanged, run stock and with the register hook
// (`node --require zerocopy/register`), compared response by response on the
// wire (see test/helpers/http-scenarios.ts for what is compared). For bodies
// of 1 MiB and more, the zerocopy run must have moved ≥ 99% of the body
// bytes with sendfile — except behind the compression middleware, which
// replaces res.write/res.end: there the fast path must decline, with a reason.

import * as fs from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { tmpDir } from '../helpers/files';
import {
  type Both,
  bodyBytes,
  type Corpus,
  conditionalRequests,
  everySize,
  expectSame,
  fastPathOff,
  get,
  HEADS,
  KiB,
  leakable,
  MiB,
  makeCorpus,
  PIPELINED,
  PROBE,
  RANGES,
  runBoth,
  slowReader,
} from '../helpers/http-scenarios';
import { closePair, type Framework, MODES, type Mode, type Pair, type Stats, startPair } from '../helpers/http-server';
import { header } from '../helpers/http-wire';

const FAST: Framework[] = [
  'plain',
  'plain-chunked',
  'express',
  'express-sendfile',
  'fastify',
  'koa-send',
  'koa-static',
  'sirv',
  'serve-handler',
];

/**
 * Files a framework leaves open per client that goes away mid-body — stock
 * as much as zerocopy: sirv and serve-handler end with a bare
 * `stream.pipe(res)`, and pipe() leaves the source paused, its fd open, when
 * the destination closes (Node's rule). zerocopy must leak exactly as much,
 * no more. (serve-handler also opens, and never closes, a stream for each
 * 304 it answers.)
 */
const LEAKED_ON_ABORT: Partial<Record<Framework, number>> = { sirv: 1, 'serve-handler': 1 };

const ALL: Framework[] = [...FAST, 'express-compression'];

let corpus: Corpus;
// Every server starts at once (they start in ~0.5 s of CPU each and then
// sit idle); each framework's tests take theirs and close it when done.
const starting = new Map<Framework, Promise<Pair>>();
beforeAll(async () => {
  corpus = await makeCorpus(tmpDir());
  for (const fw of ALL) {
    const p = startPair(fw, corpus.dir);
    p.catch(() => undefined); // awaited by the framework's beforeAll
    starting.set(fw, p);
  }
});
afterAll(async () => {
  await Promise.all([...starting.values()].map((p) => p.then(closePair, () => undefined)));
  fs.rmSync(corpus.dir, { recursive: true, force: true });
});

describe.each(ALL)('%s, stock vs zerocopy', (framework) => {
  // gzip of random bytes runs at ~30 MB/s: the compressing server gets no 64 MiB body.
  const compressing = framework === 'express-compression';
  let pair: Pair;
  beforeAll(async () => {
    pair = await starting.get(framework)!;
  });
  afterAll(() => closePair(pair));

  // First: the fd counts before it are those of a server that has served
  // nothing yet, with no file of a previous response still being closed.
  it('a client that goes away mid-body: the server lets go of every fd (as many as stock)', async () => {
    const file = compressing ? '/f8m.txt' : '/f64m.txt';
    const leak = LEAKED_ON_ABORT[framework] ?? 0;
    const before = { stock: await pair.stock.fds(), zerocopy: await pair.zerocopy.fds() };
    const both = await runBoth(pair, [get(file)], { onData: (p) => (p.bodyBytes >= MiB ? 'destroy' : undefined) });
    for (const mode of MODES) {
      const x = both[mode];
      expect(x.closedBy).toBe('destroyed');
      expect(x.responses).toHaveLength(0);
      expect(x.partial?.statusLine).toBe('HTTP/1.1 200 OK');
      const expected = leakable({ ...before[mode], files: before[mode].files + leak });
      const after = await pair[mode].fdsUntil((f) => JSON.stringify(leakable(f)) === JSON.stringify(expected));
      expect(leakable(after), `${mode}: fds after the abort`).toEqual(expected);
    }
    expect(both.zerocopy.partial!.headers).toEqual(both.stock.partial!.headers);
    const seen = (m: Mode): unknown => both.logs[m].requests.map((r) => [r.url, r.events, r.writableFinished]);
    expect(seen('zerocopy')).toEqual(seen('stock'));
  });

  // The keep-alive run's zerocopy stats: the sendfile proof below is about
  // its bodies (≥ 1 MiB each: 1 MiB, 8 MiB, 64 MiB).
  let keepAlive: { both: Both; stats: Stats } | undefined;

  it('keep-alive: every size from 0 B to 64 MiB on one connection; a slow reader makes the server meet a full socket', async () => {
    const requests = everySize(compressing ? 8 * MiB : Infinity);
    const slow = requests.findIndex((r) => r.path === '/f64m.txt');
    const stops = [MiB, 4 * MiB, 12 * MiB, 20 * MiB];
    const pressured: Record<Mode, boolean[]> = { stock: [], zerocopy: [] };
    const both = await runBoth(pair, requests, (s) => ({ onData: slowReader(s, slow, stops, pressured[s.mode]) }));
    const stats = await pair.zerocopy.stats();
    expectSame(both, corpus, requests);
    // Every request answered on the one connection, the client closed it.
    expect(both.stock.responses).toHaveLength(requests.length);
    expect(both.stock.closedBy).toBe('client');
    if (!compressing) {
      for (const mode of MODES)
        expect(pressured[mode], `${mode}: blocked at every stop`).toEqual(stops.map(() => true));
    }
    keepAlive = { both, stats };
  });

  it('pipelining: ten requests in one write, HEAD, Range, 404 and 0 B among them', async () => {
    const both = await runBoth(pair, PIPELINED, { pipelined: true });
    expectSame(both, corpus, PIPELINED);
    expect(both.stock.responses).toHaveLength(PIPELINED.length);
  });

  it('Range: bounded, suffix, open-ended, one byte, unsatisfiable', async () => {
    const both = await runBoth(pair, RANGES);
    expectSame(both, corpus, RANGES);
    expect(both.stock.responses).toHaveLength(RANGES.length);
  });

  it('HEAD, then conditional GETs with the validators it gave (304 where supported)', async () => {
    const heads = await runBoth(pair, HEADS);
    expectSame(heads, corpus, HEADS);
    const cond = await runBoth(pair, (s) =>
      Promise.resolve(conditionalRequests(s === pair.stock ? heads.stock : heads.zerocopy)),
    );
    expectSame(cond, corpus, conditionalRequests(heads.stock));
    expect(cond.stock.responses).toHaveLength(HEADS.length);
  });

  if (!compressing) {
    it("sendfile moved ≥ 99% of the keep-alive run's body bytes of bodies of 1 MiB and more", () => {
      expect(keepAlive, 'the keep-alive test ran to its end').toBeDefined();
      const { both, stats } = keepAlive!;
      // Node reads a file's first 128 KiB itself (see README), so a 1 MiB
      // body alone stays under 99%; with the 8 and 64 MiB ones the total must not.
      const total = bodyBytes(both.zerocopy.responses);
      expect(total).toBe(73 * MiB);
      if (fastPathOff) expect(stats.sendfileBytes).toBe(0);
      else
        expect(
          stats.sendfileBytes / total,
          `sendfile moved ${stats.sendfileBytes} of ${total}; declined: ${JSON.stringify(stats.reasons)}`,
        ).toBeGreaterThanOrEqual(0.99);
    });
  } else {
    it('compression: the fast path declines with a reason; bytes as stock, a slow reader too', async () => {
      // Without Accept-Encoding the middleware does not compress, but its
      // res.write/res.end replacements are in place all the same. The first
      // body is read slowly from a fresh connection (small buffers yet).
      const requests = [get('/f8m.txt'), get('/f1m.txt'), get('/f8m.txt', []), PROBE];
      const stops = [64 * KiB];
      const pressured: Record<Mode, boolean[]> = { stock: [], zerocopy: [] };
      const both = await runBoth(pair, requests, (s) => ({ onData: slowReader(s, 0, stops, pressured[s.mode]) }));
      expectSame(both, corpus, requests);
      for (const mode of MODES) expect(pressured[mode], `${mode}: blocked at every stop`).toEqual([true]);
      expect(header(both.stock.responses[0], 'content-encoding')).toBe('gzip');
      expect(header(both.stock.responses[2], 'content-encoding')).toBeUndefined();
      const stats = await pair.zerocopy.stats();
      expect(stats.sendfileBytes).toBe(0);
      expect(Object.keys(stats.byPath)).toEqual(['normal']);
      const big = both.logs.zerocopy.requests.filter((r) => r.url !== PROBE.path);
      expect(big).toHaveLength(3);
      for (const r of big) {
        expect(r.transfers.length, `${r.url}: a decision was published`).toBeGreaterThan(0);
        for (const t of r.transfers) {
          expect(t.path).toBe('normal');
          expect(t.reason).toMatch(/\S/);
        }
      }
    });
  }
});
