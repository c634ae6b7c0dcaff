// fs.stat without the threadpool for paths the kernel resolves from its
// dcache, on a local filesystem: the register installs this as fs.stat.
// Static servers stat every file before they open it (express's send,
// @fastify/send, a Content-Length), and once open, read and close of a cached
// file run in the loop (in-loop-fs.ts) that stat is the one threadpool round
// trip left per response. The Stats object is Node's own — fs.fstatSync on
// the O_PATH fd the cached lookup gave, the very inode the path names (no
// second lookup) — and the callback comes from setImmediate. Anything else
// (a path not in the dcache, a network or FUSE mount, a Buffer or URL path,
// any error) is Node's fs.stat, unchanged.
import fs = require('node:fs');

import { fileChannel, noteFileIo } from '../diagnostics';
import { mountAnswer } from '../facts/mounts';
import type { NativeBinding } from '../native';
import { NEVER_WORKS } from './in-loop-fs';
import { takeLoopTurn } from './loop-budget';

type StatCb = (err: NodeJS.ErrnoException | null, stats?: fs.Stats | fs.BigIntStats) => void;
type StatOptions = fs.StatOptions | undefined;

export type StatFn = (path: fs.PathLike, options: StatOptions | StatCb, cb?: StatCb) => void;

export function makeInLoopStat(binding: NativeBinding, nodeStat: typeof fs.stat = fs.stat): StatFn {
  const scratch = new Float64Array(3);
  /** The kernel cannot do cached lookups at all (see NEVER_WORKS): every stat is Node's. */
  let off = false;

  // Named and shaped like Node's (its length is set below).
  function stat(path: fs.PathLike, options?: StatOptions | StatCb, cb?: StatCb): void {
    const callback = typeof options === 'function' ? options : cb;
    const opts = typeof options === 'function' ? undefined : options;
    const stats = typeof path === 'string' && typeof callback === 'function' ? statCached(path, opts) : null;
    if (stats === null) {
      (nodeStat as (...a: unknown[]) => void)(path, options, cb);
      return;
    }
    setImmediate(callback as StatCb, null, stats);
  }

  /** Node's Stats for a cached path on a local mount, or null for the pool. */
  function statCached(path: string, opts: StatOptions): fs.Stats | fs.BigIntStats | null {
    if (opts !== undefined && (opts === null || typeof opts !== 'object')) return null;
    if (off || !takeLoopTurn()) return null;
    const pathFd = binding.lookupCached(path, scratch);
    if (pathFd < 0) {
      off = NEVER_WORKS.has(-pathFd);
      return null;
    }
    try {
      if (mountAnswer(scratch[0]) !== 'local') return null;
      const stats = fs.fstatSync(pathFd, opts as fs.StatSyncOptions);
      if (fileChannel.hasSubscribers) noteFileIo({ op: 'stat', where: 'loop', reason: 'cached', path });
      return stats as fs.Stats | fs.BigIntStats;
    } catch {
      return null;
    } finally {
      binding.close(pathFd);
    }
  }
  Object.defineProperty(stat, 'length', { value: nodeStat.length });
  return stat as StatFn;
}
