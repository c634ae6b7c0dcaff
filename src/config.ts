// Every setting and the environment variable it comes from, read once at load
// (process.env is slow to read on every decision). configure() changes the
// run-time ones for this process.

/**
 * Below this many bytes left (after the source's first two reads; for an HTTP
 * response, of its whole body) the normal path is as fast or faster: setting
 * up costs two dups, fstat/fcntl on both ends and a threadpool round trip.
 * Measured with `npm run bench` (docs/benchmarks.md, "Where the fast path
 * starts to pay"): with the first two 64 KiB reads always Node's, the
 * smallest file the kernel takes is 256 KiB, where it pays on one connection.
 */
export const MIN_FAST_PATH_BYTES = 128 * 1024;

export interface Settings {
  /** ZEROCOPY_DISABLE=1: the normal path everywhere. */
  disabled: boolean;
  /** ZEROCOPY_MIN_BYTES: files with fewer bytes left than this take the normal path. */
  minFastPathBytes: number;
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

function fromEnv(): Settings {
  const min = count(process.env.ZEROCOPY_MIN_BYTES);
  return {
    disabled: flag(process.env.ZEROCOPY_DISABLE),
    minFastPathBytes: Number.isFinite(min) && min >= 0 ? min : MIN_FAST_PATH_BYTES,
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
