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
import type { NativeBinding } from '../native';
import { makeCachedLookup } from './cached-lookup';
import { takeLoopTurn } from './loop-budget';

type StatCb = (err: NodeJS.ErrnoException | null, stats?: fs.Stats | fs.BigIntStats) => void;
type StatOptions = fs.StatOptions | undefined;

export type StatFn = (path: fs.PathLike, options: StatOptions | StatCb, cb?: StatCb) => void;

export function makeInLoopStat(binding: NativeBinding, nodeStat: typeof fs.stat = fs.stat): StatFn {
  const lookup = makeCachedLookup(binding);

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
    if (!takeLoopTurn()) return null;
    const found = lookup.find(path);
    if (typeof found === 'string') return null;
    try {
      const stats = fs.fstatSync(found.pathFd, opts as fs.StatSyncOptions);
      if (fileChannel.hasSubscribers) noteFileIo({ op: 'stat', where: 'loop', reason: 'cached', path });
      return stats as fs.Stats | fs.BigIntStats;
    } catch {
      return null;
    } finally {
      binding.close(found.pathFd);
    }
  }
  Object.defineProperty(stat, 'length', { value: nodeStat.length });
  return stat as StatFn;
}
