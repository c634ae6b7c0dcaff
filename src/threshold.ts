/**
 * Below this many bytes (left after the first read) the normal path is as fast
 * or faster: setting up costs two dups, fstat/fcntl on both ends and a
 * threadpool round trip. Measured with `npm run bench` (docs/benchmarks.md):
 * the fast path pays from 128 KiB on one connection.
 */
export const MIN_FAST_PATH_BYTES = 128 * 1024;
