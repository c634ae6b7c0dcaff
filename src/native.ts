// The one place that loads the addon. Everything else imports `native` from here
// and treats `null` as "no fast path on this machine".
import * as path from 'node:path';
import { debug } from './diagnostics';

export interface FdWatcher {
  /**
   * Calls cb each time the fd is ready (level-triggered) until stop(); returns
   * 0 or a negative libuv error. Cheap to call again with the same events.
   */
  start(events: number, cb: (status: number, events: number) => void): number;
  stop(): void;
  /** Takes the fd out of epoll; call before closing the fd. */
  close(): void;
}

export interface NativeBinding {
  copy(
    op: number,
    inFd: number,
    outFd: number,
    inOffset: number,
    outOffset: number,
    len: number,
    cb: (errno: number, bytes: number) => void,
  ): void;
  /**
   * One pool job: the `inPipe` bytes the pipe holds go to outFd, then
   * inFd → pipe → outFd (a pipeful at a time, never blocking on inFd) until
   * `take` bytes were taken, `budget` delivered, or a call stops it. side:
   * RelaySide (which end stopped it; errno 0 from the source: end of input).
   */
  relay(
    inFd: number,
    pipeReadFd: number,
    pipeWriteFd: number,
    outFd: number,
    outOffset: number,
    inPipe: number,
    pipeCapacity: number,
    take: number,
    budget: number,
    cb: (errno: number, side: number, received: number, delivered: number) => void,
  ): void;
  /** [errno, type, flags, size] */
  describe(fd: number): [number, number, number, number];
  dup(fd: number): number;
  close(fd: number): number;
  FdWatcher: new (fd: number) => FdWatcher;
  /** One non-blocking splice, no offsets: bytes (0 = end of input) or -errno. */
  spliceSync(inFd: number, outFd: number, len: number): number;
  /** [errno, readFd, writeFd, capacity] */
  makePipe(size: number): [number, number, number, number];
  /** FIONREAD: bytes or -errno. */
  bytesReadable(fd: number): number;
  /** One read(2): bytes, 0 at end, or -errno. */
  readInto(fd: number, buf: Buffer): number;
  /** openat2(path, O_PATH, RESOLVE_CACHED) + statx: O_PATH fd or -errno; out = [mountId, isRegular]. */
  lookupCached(path: string, out: Float64Array): number;
  /** Opens what lookupCached found, O_RDONLY, from the dcache only; closes pathFd. fd or -errno. */
  reopenCached(path: string, pathFd: number): number;
  /** preadv2 RWF_NOWAIT (position -1: the file position): bytes or -errno; on -EAGAIN out[0] = bytes read first. */
  readNowait(fd: number, buf: Buffer, offset: number, length: number, position: number, out: Float64Array): number;
  O_APPEND: number;
  O_NONBLOCK: number;
  supported: boolean;
}

/** Op codes understood by native copy(). */
export const Op = { sendfile: 0, splice: 1, copy_file_range: 2 } as const;
export type OpName = keyof typeof Op;

/** Which end stopped a relay(): none (take or budget reached), the source, the destination. */
export const RelaySide = { none: 0, source: 1, destination: 2 } as const;

/** libuv poll event bits. */
export const UV_READABLE = 1;
export const UV_WRITABLE = 2;

export const FileType = { other: 0, file: 1, socket: 2, fifo: 3, char: 4, block: 5 } as const;

function load(): { binding: NativeBinding | null; reason: string } {
  if (process.platform !== 'linux') return { binding: null, reason: `platform ${process.platform}` };
  try {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const build = require('node-gyp-build') as (dir: string) => NativeBinding;
    const binding = build(path.join(__dirname, '..'));
    if (!binding.supported) return { binding: null, reason: 'addon built without fast paths' };
    return { binding, reason: '' };
  } catch (err) {
    return { binding: null, reason: `addon failed to load: ${(err as Error).message}` };
  }
}

const loaded = load();
if (!loaded.binding) debug('native addon unavailable (%s); every transfer takes the normal path', loaded.reason);

export const native: NativeBinding | null = loaded.binding;
export const nativeUnavailableReason: string = loaded.reason;
