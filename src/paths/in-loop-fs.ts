// Cached files without the threadpool. Node's fs.ReadStream does its I/O
// through `options.fs` (open, read, close); ours gives it these, which do each
// call in the event loop when the kernel can promise it will not wait, and
// otherwise hand the very same call to Node's fs, which runs it on the pool:
//   open:  openat2(RESOLVE_CACHED) finds the path in the dcache, on a local
//          filesystem (facts/mounts.ts), a regular file, flags 'r';
//   read:  preadv2(RWF_NOWAIT) finds the bytes in the page cache;
//   close: a file this module opened (so on a local filesystem).
// Callbacks still come later, from setImmediate, never from inside the call:
// the stream sees the same sequence of callbacks as with Node's fs, one loop
// turn apart instead of one pool round trip apart.
import fs = require('node:fs');

import { settings } from '../config';
import { fileChannel, noteFileIo } from '../diagnostics';
import { errnoName } from '../engine/errno-policy';
import { fsError } from '../errors';
import { learnMounts } from '../facts/mounts';
import { markRealFs } from '../facts/node-internals';
import type { NativeBinding } from '../native';
import { makeCachedLookup } from './cached-lookup';
import { takeLoopTurn } from './loop-budget';

/** A read bigger than this goes to the pool even when cached: one loop turn copies at most this much. */
export const MAX_IN_LOOP_READ = 256 * 1024;

const EAGAIN = 11;

type OpenCb = (err: NodeJS.ErrnoException | null, fd?: number) => void;
type ReadCb = (err: NodeJS.ErrnoException | null, bytesRead: number, buffer: Buffer) => void;
type CloseCb = (err: NodeJS.ErrnoException | null) => void;

export interface InLoopFs {
  open(path: unknown, flags: unknown, mode: unknown, cb: OpenCb): void;
  read(fd: number, buf: Buffer, offset: number, length: number, position: unknown, cb: ReadCb): void;
  close(fd: number, cb: CloseCb): void;
}

/**
 * The fs operations for ReadStreams, over `binding`. `nodeFs` is where a call
 * that cannot run in the loop goes; its open/read/close are looked up at call
 * time, so code that patches fs (graceful-fs, instrumentation) still sees
 * every call that reaches the pool, and once they are patched every call goes
 * there: a patch meant to see each open must see each open.
 */
export function makeInLoopFs(binding: NativeBinding, nodeFs: typeof fs = fs): InLoopFs {
  const { open: nodeOpen, read: nodeRead, close: nodeClose } = nodeFs;
  const lookup = makeCachedLookup(binding);
  const scratch = new Float64Array(1);
  /** Fds this module opened: their reads may, and their close does, run in the loop. */
  const ours = new Set<number>();

  function open(path: unknown, flags: unknown, mode: unknown, cb: OpenCb): void {
    const reason = openDecline(path, flags);
    if (reason !== null) {
      noteFileIo({ op: 'open', where: 'threadpool', reason, path: String(path) });
      nodeFs.open(path as fs.PathLike, flags as fs.OpenMode, mode as fs.Mode, cb);
      return;
    }
    const p = path as string;
    const fd = openCached(p);
    if (typeof fd === 'string') {
      noteFileIo({ op: 'open', where: 'threadpool', reason: fd, path: p });
      nodeFs.open(p, flags as fs.OpenMode, mode as fs.Mode, cb);
      return;
    }
    ours.add(fd);
    if (fileChannel.hasSubscribers) noteFileIo({ op: 'open', where: 'loop', reason: 'cached', fd, path: p });
    setImmediate(cb, null, fd);
  }

  function openDecline(path: unknown, flags: unknown): string | null {
    if (nodeFs.open !== nodeOpen || nodeFs.read !== nodeRead || nodeFs.close !== nodeClose) {
      return 'fs.open, fs.read or fs.close replaced';
    }
    if (flags !== 'r' && flags !== fs.constants.O_RDONLY) return `flags ${String(flags)}`;
    if (typeof path !== 'string') return 'path not a string';
    if (!takeLoopTurn()) return 'busy turn';
    return null;
  }

  /** An fd opened in the loop, or why the pool must open it. */
  function openCached(path: string): number | string {
    const found = lookup.find(path);
    if (typeof found === 'string') return found;
    if (!found.regular) {
      binding.close(found.pathFd);
      return 'not a regular file';
    }
    const fd = binding.reopenCached(path, found.pathFd);
    return fd >= 0 ? fd : `open ${errnoName(-fd)}`;
  }

  function read(fd: number, buf: Buffer, offset: number, length: number, position: unknown, cb: ReadCb): void {
    const pos = position === undefined || position === null ? -1 : position;
    if (
      !ours.has(fd) ||
      typeof pos !== 'number' ||
      length > MAX_IN_LOOP_READ ||
      nodeFs.read !== nodeRead ||
      !takeLoopTurn()
    ) {
      nodeFs.read(fd, buf, offset, length, position as number | null, cb);
      return;
    }
    const n = binding.readNowait(fd, buf, offset, length, pos, scratch);
    if (n >= 0) {
      setImmediate(cb, null, n, buf);
      return;
    }
    if (n !== -EAGAIN) {
      // Not the loop's to judge (EIO, a file that became something else): Node's read gives the error as it would.
      noteFileIo({ op: 'read', where: 'threadpool', reason: errnoName(-n), fd });
      nodeFs.read(fd, buf, offset, length, position as number | null, cb);
      return;
    }
    const got = scratch[0];
    noteFileIo({
      op: 'read',
      where: 'threadpool',
      reason: got > 0 ? 'partly in the page cache' : 'not in the page cache',
      fd,
    });
    if (got === 0) {
      nodeFs.read(fd, buf, offset, length, position as number | null, cb);
      return;
    }
    // The first bytes came from the cache: the pool reads the rest into the
    // same buffer, so the stream sees one read of the size it asked for.
    const rest = pos < 0 ? null : pos + got;
    nodeFs.read(fd, buf, offset + got, length - got, rest, (err, more) => cb(err, err ? 0 : got + more, buf));
  }

  function close(fd: number, cb: CloseCb): void {
    if (!ours.delete(fd) || nodeFs.close !== nodeClose) {
      nodeFs.close(fd, cb);
      return;
    }
    const rc = binding.close(fd);
    if (fileChannel.hasSubscribers) noteFileIo({ op: 'close', where: 'loop', reason: 'opened in the loop', fd });
    setImmediate(cb, rc < 0 ? fsError(rc, 'close') : null);
  }

  const ops: InLoopFs = { open, read, close };
  markRealFs(ops);
  learnMounts();
  return ops;
}

let shared: InLoopFs | null = null;

/**
 * The options to give Node's ReadStream constructor: `options` with our fs
 * added when the stream will open a path itself with Node's own fs, else
 * `options` untouched (a caller's fs or fd, an option Node will reject).
 */
export function withInLoopFs(options: unknown, binding: NativeBinding | null): unknown {
  if (binding === null || !settings.inLoop) return options;
  if (options !== undefined && options !== null && typeof options !== 'string') {
    if (typeof options !== 'object') return options;
    const o = options as { fs?: unknown; fd?: unknown };
    if (o.fs != null || o.fd != null) return options;
  }
  shared ??= makeInLoopFs(binding);
  if (typeof options === 'string') return { encoding: options, fs: shared };
  return { ...(options as object | null | undefined), fs: shared };
}
