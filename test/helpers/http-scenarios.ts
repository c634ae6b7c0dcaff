// The HTTP scenarios, each run against a stock server and a zerocopy server
// (the same fixture, test/fixtures/http-server.js, without and with the
// register hook) at once, and compared response by response on the wire:
// status line, headers (in order, as sent; Date dropped), the decoded body's
// length and sha256, whether each body was complete, how the connection
// ended and how many responses it carried. What the server code saw (each
// response's 'finish'/'close', writableFinished, headersSent; each
// connection's timeouts) is compared too, and socket.bytesWritten must be
// what the client received in each run — it is not compared between runs,
// since a chunked body's chunk structure may differ.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { expect } from 'vitest';
import { KiB, MiB, makeSource } from '../differential/common';
import { type Fds, MODES, type Mode, type Pair, type RequestRecord, type Server, type ServerLog } from './http-server';
import {
  BodyDigest,
  comparable,
  type DigestKind,
  type Exchange,
  type ExchangeOptions,
  exchange,
  header,
  type WireRequest,
  type WireResponse,
} from './http-wire';

export { KiB, MiB };

/** The test corpus: random (AES-CTR) bytes, different at every offset. `.txt` so compression applies. */
export const FILES: ReadonlyArray<readonly [name: string, size: number]> = [
  ['f0.txt', 0],
  ['f1.txt', 1],
  ['f4k.txt', 4 * KiB],
  ['f64k.txt', 64 * KiB],
  ['f200k.txt', 200 * KiB],
  ['f1m.txt', MiB],
  ['f8m.txt', 8 * MiB],
  ['f64m.txt', 64 * MiB],
];

export interface Corpus {
  dir: string;
  /** How bodies are digested (see BodyDigest). */
  kind: DigestKind;
  /** Digest of each file, by URL path. */
  hashes: Map<string, string>;
  sizes: Map<string, number>;
  /** Digest of a part of a file, by URL path; by default read from the file. */
  digestOf?: (urlPath: string, start: number, length: number) => string;
}

export async function makeCorpus(dir: string, files = FILES, kind: DigestKind = 'sha256'): Promise<Corpus> {
  const corpus: Corpus = { dir, kind, hashes: new Map(), sizes: new Map() };
  let seed = 1;
  for (const [name, size] of files) addFile(corpus, name, makeSource(dir, name, size, seed++));
  return corpus;
}

export function addFile(corpus: Corpus, name: string, file: string): void {
  const size = fs.statSync(file).size;
  corpus.hashes.set(
    `/${name}`,
    corpus.digestOf ? corpus.digestOf(`/${name}`, 0, size) : rangeHash(file, 0, Infinity, corpus.kind),
  );
  corpus.sizes.set(`/${name}`, size);
}

/** The digest (see BodyDigest) of `length` bytes of `file` from `start` (to its end at most). */
export function rangeHash(file: string, start: number, length: number, kind: DigestKind = 'sha256'): string {
  const d = new BodyDigest(kind);
  const fd = fs.openSync(file, 'r');
  const buf = Buffer.allocUnsafe(4 * MiB);
  try {
    for (let pos = start, left = length; left > 0; ) {
      const n = fs.readSync(fd, buf, 0, Math.min(buf.length, left), pos);
      if (n === 0) break;
      d.update(buf.subarray(0, n));
      pos += n;
      left -= n;
    }
  } finally {
    fs.closeSync(fd);
  }
  return d.digest();
}

// ---- requests --------------------------------------------------------------

/** Browsers ask for gzip; only the compression middleware acts on it (no framework here has precompressed files). */
export const GZIP: WireRequest['headers'] = [['Accept-Encoding', 'gzip']];

export const get = (p: string, headers: WireRequest['headers'] = GZIP): WireRequest => ({ path: p, headers });
export const head = (p: string, headers: WireRequest['headers'] = GZIP): WireRequest => ({
  method: 'HEAD',
  path: p,
  headers,
});
export const range = (p: string, spec: string): WireRequest => ({ path: p, headers: [...GZIP!, ['Range', spec]] });
/** The last request of a sequence: answered only if the connection was still usable. */
export const PROBE = get('/f1.txt');

// ---- running and comparing -------------------------------------------------

export interface Both {
  stock: Exchange;
  zerocopy: Exchange;
  logs: Record<Mode, ServerLog>;
}

/**
 * Runs the exchange against both servers at once (stats and logs reset
 * first) and waits until each server has seen its connection close. The
 * caller compares (expectSame, or its own checks).
 */
export async function runBoth(
  pair: Pair,
  requests: WireRequest[] | ((s: Server) => Promise<WireRequest[]>),
  options: ExchangeOptions | ((s: Server) => ExchangeOptions) = {},
): Promise<Both> {
  const one = async (s: Server): Promise<[Exchange, ServerLog]> => {
    await s.reset();
    const reqs = typeof requests === 'function' ? await requests(s) : requests;
    const x = await exchange(s.port, reqs, {
      // The client hangs up once the server has closed every response.
      beforeEnd: (n) => s.logWith(0, n),
      ...(typeof options === 'function' ? options(s) : options),
    });
    const log = await s.logWith(1);
    return [x, log];
  };
  const [[stock, stockLog], [zerocopy, zcLog]] = await Promise.all([one(pair.stock), one(pair.zerocopy)]);
  return { stock, zerocopy, logs: { stock: stockLog, zerocopy: zcLog } };
}

/** What the server code could observe of each response, minus what only the zerocopy run has. */
function serverView(log: ServerLog): unknown {
  return {
    requests: log.requests.map((r: RequestRecord) => ({
      method: r.method,
      url: r.url,
      status: r.status,
      events: r.events,
      headersSent: r.headersSent,
      writableFinished: r.writableFinished,
      writableEnded: r.writableEnded,
    })),
    connections: log.connections.map((c) => ({ timeouts: c.timeouts })),
  };
}

/**
 * The whole comparison for an exchange that ran to its end: the same on the
 * wire and at the server, no client error, every body as the file says,
 * and socket.bytesWritten true in both runs.
 */
export function expectSame(both: Both, corpus: Corpus, requests: WireRequest[]): void {
  expect(comparable(both.zerocopy)).toEqual(comparable(both.stock));
  expect(serverView(both.logs.zerocopy)).toEqual(serverView(both.logs.stock));
  for (const mode of MODES) {
    const x = both[mode];
    expect(x.error, `${mode}: client error`).toBeUndefined();
    expect(both.logs[mode].connections.length, `${mode}: connections`).toBe(1);
    expect(both.logs[mode].connections[0].bytesWritten, `${mode}: socket.bytesWritten vs bytes received`).toBe(
      x.rawBytes,
    );
    expectBodiesRight(x, corpus, requests, mode);
  }
}

/**
 * Each complete 200/206 body of a GET is the file (or the range that
 * Content-Range names) — unless it is content-coded, then only the stock
 * comparison speaks for it.
 */
export function expectBodiesRight(x: Exchange, corpus: Corpus, requests: WireRequest[], mode: Mode): void {
  x.responses.forEach((res, i) => {
    const req = requests[i];
    if ((req.method ?? 'GET') !== 'GET' || header(res, 'content-encoding')) return;
    const p = req.path;
    const hash = corpus.hashes.get(p);
    if (hash === undefined) return;
    if (res.status === 200) {
      expect(res.body, `${mode}: body of ${p}`).toEqual({ length: corpus.sizes.get(p), digest: hash });
    } else if (res.status === 206) {
      const m = /^bytes (\d+)-(\d+)\/(\d+)$/.exec(header(res, 'content-range') ?? '');
      expect(m, `${mode}: Content-Range of ${p}`).not.toBeNull();
      const start = Number(m![1]);
      const length = Number(m![2]) - start + 1;
      const digest = corpus.digestOf
        ? corpus.digestOf(p, start, length)
        : rangeHash(path.join(corpus.dir, p), start, length, corpus.kind);
      expect(res.body, `${mode}: body of ${p} ${m![0]}`).toEqual({ length, digest });
    }
  });
}

/** Responses of an exchange with bodies of at least `min` bytes: their total body length. */
export function bodyBytes(responses: WireResponse[], min = MiB): number {
  return responses.filter((r) => r.body.length >= min).reduce((n, r) => n + r.body.length, 0);
}

// ---- the scenarios ---------------------------------------------------------

export const fastPathOff = process.env.ZEROCOPY_DISABLE === '1';

/** Every file, one after another on one keep-alive connection, then the probe. */
export function everySize(maxSize = Infinity): WireRequest[] {
  return [...FILES.filter(([, size]) => size <= maxSize).map(([name]) => get(`/${name}`)), PROBE];
}

/** Several requests in one write: full bodies, a HEAD, a Range, a 404 and an empty file among them. */
export const PIPELINED: WireRequest[] = [
  get('/f4k.txt'),
  get('/f1m.txt'),
  head('/f8m.txt'),
  get('/missing.txt'),
  get('/f200k.txt'),
  get('/f8m.txt'),
  get('/f0.txt'),
  range('/f64k.txt', 'bytes=100-2000'),
  get('/f64k.txt'),
  PROBE,
];

/** Single ranges: bounded, suffix, open-ended, one byte, big, and one not satisfiable. */
export const RANGES: WireRequest[] = [
  range('/f1m.txt', 'bytes=100-200000'),
  range('/f1m.txt', 'bytes=-150000'),
  range('/f8m.txt', 'bytes=100-4000099'),
  range('/f8m.txt', 'bytes=5000000-'),
  range('/f4k.txt', 'bytes=0-0'),
  range('/f4k.txt', 'bytes=999999-'),
  PROBE,
];

/** HEADs of several sizes (their validators are used by conditionalRequests). */
export const HEADS: WireRequest[] = [head('/f0.txt'), head('/f200k.txt'), head('/f1m.txt'), head('/f8m.txt'), PROBE];

/**
 * GETs carrying the validators the server gave in its own HEAD responses:
 * If-None-Match with the ETag, else If-Modified-Since with Last-Modified —
 * 304 where the framework supports it, the whole body where it does not.
 */
export function conditionalRequests(heads: Exchange): WireRequest[] {
  const out: WireRequest[] = [];
  heads.responses.slice(0, HEADS.length - 1).forEach((res, i) => {
    const etag = header(res, 'etag');
    const modified = header(res, 'last-modified');
    const extra: [string, string][] = etag
      ? [['If-None-Match', etag]]
      : modified
        ? [['If-Modified-Since', modified]]
        : [];
    out.push(get(HEADS[i].path, [...GZIP!, ...extra]));
  });
  return [...out, PROBE];
}

/**
 * A slow reader: the client stops reading response `index` at each of `at`
 * (body bytes) and resumes only once the server reports that the kernel has
 * refused it bytes (EAGAIN) — driven by byte counts and the server's
 * answers, not by timers. `pressured` records, per stop, whether that
 * happened. A stop must leave more of the body unsent than loopback's socket
 * buffers can hold (≤ 4 MiB to send, a receive window that grows with
 * reading, to 32 MiB at most), or the server never meets a full socket.
 */
export function slowReader(
  server: Server,
  index: number,
  at: number[],
  pressured: boolean[],
): ExchangeOptions['onData'] {
  let next = 0;
  return (p) => {
    if (p.index === index && next < at.length && p.bodyBytes >= at[next]) {
      next++;
      return server.blocked().then((b) => {
        pressured.push(b);
      });
    }
    return undefined;
  };
}

/** The fds that a transfer could leak: sockets, pipes, files under the corpus, native transfers. */
export const leakable = (f: Fds): unknown => ({
  sockets: f.sockets,
  pipes: f.pipes,
  files: f.files,
  running: f.running,
});
