// Every setting and the environment variable it comes from, read once at load
// (process.env is slow to read on every decision). configure() changes the
// run-time ones for this process.

/**
 * A file must have at least this many bytes left after its first two reads
 * (so, with the default 64 KiB highWaterMark, be 512 KiB or more) for its
 * pipe() to be offered to the kernel. Below it, Node's own reads (their
 * open, reads and close in the event loop when the file is cached) are as
 * fast or faster than setting up a transfer (two dups, fstat/fcntl on both
 * ends, threadpool round trips). Measured (2026-12, bench "small", page-cached
 * files to TCP, ack per file): at 256 KiB Node's reads in the loop did
 * 2.30-2.57x Node's streams against 1.00-1.03x for sendfile; at 512 KiB both
 * about 1.5-2x; at 1 MiB sendfile 2.1-2.2x against 1.1-1.6x.
 */
export const MIN_FAST_PATH_BYTES = 384 * 1024;

/**
 * An HTTP response whose body is smaller than this takes Node's path: there
 * the kernel's gain is larger (no JavaScript write, no chunk through the HTTP
 * stack), and it pays from here (2026-12, register hook, wrk -c16 pinned:
 * 256 KiB node:http 6.0-6.7k req/s with sendfile against 5.7-7.1k in the
 * loop, @fastify/static 3.2-3.8k against 2.1-2.7k).
 */
export const MIN_HTTP_BODY_BYTES = 128 * 1024;

/**
 * An HTTP message body (a request's, a client's response) whose bytes left
 * are fewer than this takes Node's path instead of socket → pipe → file or
 * socket. Spliced bodies pay more per transfer than sendfile does (an
 * intermediate pipe, a file descriptor watcher, the parser handed back) and
 * gain less (the bytes still cross the socket's queue and, for a file, are
 * copied into the page cache either way). Measured (2026-12,
 * `node bench/tools/bodies-ab.js PART SIZE 8`, median of 8 alternated 1 s
 * slices, register / stock): http-proxy 256 KiB 0.71x req/s at 1.36x CPU
 * per request, 384 KiB 0.92x / 1.09x, 512 KiB 1.01-1.06x / 0.90-0.99x,
 * 768 KiB 1.15x / 0.82x; uploads 384 KiB 1.05x / 0.96x, 512 KiB 1.14x /
 * 0.78x (at 256 KiB uploads were below stock spliced or not: 0.85-0.98x
 * spliced, 0.72-0.91x declined).
 */
export const MIN_SPLICED_BODY_BYTES = 512 * 1024;

export interface Settings {
  /** ZEROCOPY_DISABLE=1: the normal path everywhere. */
  disabled: boolean;
  /** ZEROCOPY_MIN_BYTES: files with fewer bytes left than this (after their first two reads) take the normal path. */
  minFastPathBytes: number;
  /** ZEROCOPY_MIN_HTTP_BYTES (default: ZEROCOPY_MIN_BYTES if set): files smaller than this, sent as an HTTP body, take the normal path. */
  minHttpBodyBytes: number;
  /**
   * ZEROCOPY_MIN_SPLICED_BYTES (default: ZEROCOPY_MIN_HTTP_BYTES, then
   * ZEROCOPY_MIN_BYTES, if set): HTTP message bodies (uploads, downloads,
   * proxied bodies) with fewer bytes left than this take the normal path.
   */
  minSplicedBodyBytes: number;
  /**
   * ZEROCOPY_IN_LOOP=0: every open, read, close and (under the register)
   * stat of a file goes to Node's threadpool, cached or not.
   */
  inLoop: boolean;
}

function flag(value: string | undefined): boolean {
  return value !== undefined && value !== '' && value !== '0' && value.toLowerCase() !== 'false';
}

function count(value: string | undefined): number {
  return value === undefined || value.trim() === '' ? NaN : Number(value);
}

/** The first of `counts` that is a count of bytes (finite, not negative); `fallback` when none is. */
function firstCount(counts: number[], fallback: number): number {
  return counts.find((n) => Number.isFinite(n) && n >= 0) ?? fallback;
}

function fromEnv(): Settings {
  // The narrower setting wins; when unset, the broader one stands for it.
  const min = count(process.env.ZEROCOPY_MIN_BYTES);
  const http = count(process.env.ZEROCOPY_MIN_HTTP_BYTES);
  const spliced = count(process.env.ZEROCOPY_MIN_SPLICED_BYTES);
  return {
    disabled: flag(process.env.ZEROCOPY_DISABLE),
    minFastPathBytes: firstCount([min], MIN_FAST_PATH_BYTES),
    minHttpBodyBytes: firstCount([http, min], MIN_HTTP_BODY_BYTES),
    minSplicedBodyBytes: firstCount([spliced, http, min], MIN_SPLICED_BODY_BYTES),
    inLoop: process.env.ZEROCOPY_IN_LOOP === undefined || flag(process.env.ZEROCOPY_IN_LOOP),
  };
}

export const settings: Settings = fromEnv();

/** Overrides settings for this process; returns the previous ones. */
export function configure(changes: Partial<Settings>): Settings {
  const previous = { ...settings };
  Object.assign(settings, changes);
  return previous;
}

/**
 * How many of our chunks may be on the libuv threadpool at once
 * (ZEROCOPY_POOL_JOBS): a quarter of the pool (UV_THREADPOOL_SIZE, 4 by
 * default), at least one thread. Measured with 1000 transfers
 * (bench/reliability/fairness.js): one job gave fs.readFile p99 44-55 ms and
 * as much throughput as none at all (2.2 GB/s into files, 1.6 into sockets);
 * two gave 98-153 ms; no gate 3-15 s.
 */
export const MAX_POOL_JOBS = Math.max(
  1,
  Number(process.env.ZEROCOPY_POOL_JOBS) || Math.floor((Number(process.env.UV_THREADPOOL_SIZE) || 4) / 4),
);
