// A NativeBinding with no kernel behind it: each syscall answers from a
// script, so the engines' errno policy can be tested for answers a real
// kernel gives only on some machines (ENOSYS, EXDEV, EINVAL after bytes).
import { constants } from 'node:os';
import type { NativeBinding } from '../../dist/internal.js';

export const errno = constants.errno as Required<typeof constants.errno>;
const OPS = ['sendfile', 'splice', 'copy_file_range'] as const;
export type OpName = (typeof OPS)[number];

/** One copy() call as the engine made it. */
export interface CopyCall {
  op: OpName;
  inFd: number;
  outFd: number;
  inOffset: number;
  outOffset: number;
  len: number;
}
/** What one copy() call answers: an errno (0 for none) and the bytes moved before it. */
export type CopyAnswer = { errno: number; bytes: number } | ((call: CopyCall) => { errno: number; bytes: number });

/** One relay() call as the engine made it. */
export interface RelayCall {
  inFd: number;
  outFd: number;
  outOffset: number;
  inPipe: number;
  take: number;
  budget: number;
}
/** What one relay() call answers (side: 0 none, 1 source, 2 destination). */
export interface RelayAnswer {
  errno: number;
  side: number;
  received: number;
  delivered: number;
}

export interface FakeBinding extends NativeBinding {
  copies: CopyCall[];
  relays: RelayCall[];
  /** spliceSync calls: [inFd, outFd, len]. */
  splices: Array<[number, number, number]>;
  dups: number;
  /** FdWatcher start() calls that armed a watch: the waits in the event loop. */
  watches: number;
  /** At each copy() or relay() call, how many watchers were armed (level-triggered: each would wake the loop while the job runs). */
  armedAtJobs: number[];
  /** fds the engine duplicated and has not closed. */
  open: Set<number>;
}

/**
 * `copy`: the answers to successive copy() calls (the last one repeats).
 * `splice`: the answers (bytes, or -errno) of successive spliceSync() calls.
 * `relay`: the answers of successive relay() calls (the last one repeats;
 * by default the source ends at once, the pipe's bytes delivered).
 * `dupFails`: dup() fails with EMFILE from this call on (1-based).
 * `pipeBytes`: readInto() finds this many bytes (of 'p') to read back, then none.
 */
export function fakeBinding(
  script: { copy?: CopyAnswer[]; splice?: number[]; relay?: RelayAnswer[]; dupFails?: number; pipeBytes?: number } = {},
): FakeBinding {
  let nextFd = 1000;
  const copies: CopyCall[] = [];
  const relays: RelayCall[] = [];
  let unread = script.pipeBytes ?? 0;
  let armed = 0; // watchers started and not stopped: a real one would keep firing
  const splices: Array<[number, number, number]> = [];
  const open = new Set<number>();
  const answer = <T>(list: T[] | undefined, i: number, fallback: T): T =>
    list && list.length > 0 ? list[Math.min(i, list.length - 1)] : fallback;
  const b: FakeBinding = {
    copies,
    relays,
    armedAtJobs: [],
    watches: 0,
    splices,
    dups: 0,
    open,
    copy(op, inFd, outFd, inOffset, outOffset, len, cb) {
      b.armedAtJobs.push(armed);
      const call = { op: OPS[op], inFd, outFd, inOffset, outOffset, len };
      const a = answer(script.copy, copies.length, { errno: 0, bytes: len });
      copies.push(call);
      const r = typeof a === 'function' ? a(call) : a;
      // Like a threadpool job: the callback comes in a later turn.
      setImmediate(() => cb(r.errno, Math.min(r.bytes, len)));
    },
    relay(inFd, _pipeR, _pipeW, outFd, outOffset, inPipe, _capacity, take, budget, cb) {
      const r = answer(script.relay, relays.length, { errno: 0, side: 1, received: 0, delivered: inPipe });
      b.armedAtJobs.push(armed);
      relays.push({ inFd, outFd, outOffset, inPipe, take, budget });
      setImmediate(() => cb(r.errno, r.side, Math.min(r.received, take), r.delivered));
    },
    describe: () => [0, 1, 0, 0],
    dup() {
      b.dups++;
      if (script.dupFails !== undefined && b.dups >= script.dupFails) return -errno.EMFILE;
      const fd = nextFd++;
      open.add(fd);
      return fd;
    },
    close(fd) {
      open.delete(fd);
      return 0;
    },
    FdWatcher: class {
      private on = false;
      start(_events: number, cb: (status: number, events: number) => void): number {
        if (!this.on) {
          armed++;
          b.watches++;
        }
        this.on = true;
        setImmediate(() => cb(0, _events));
        return 0;
      }
      stop(): void {
        if (this.on) armed--;
        this.on = false;
      }
      close(): void {
        this.stop();
      }
    },
    spliceSync(inFd, outFd, len) {
      const n = answer(script.splice, splices.length, 0);
      splices.push([inFd, outFd, len]);
      return n > 0 ? Math.min(n, len) : n;
    },
    makePipe: () => [0, nextFd++, nextFd++, 65536],
    bytesReadable: () => 0,
    readInto(_fd, buf) {
      const n = Math.min(buf.length, unread);
      buf.fill(0x70, 0, n);
      unread -= n;
      return n;
    },
    // No in-loop file I/O unless a test gives its own answers.
    lookupCached: () => -errno.ENOSYS,
    reopenCached: () => -errno.ENOSYS,
    readNowait: () => -errno.ENOSYS,
    O_APPEND: 0o2000,
    O_NONBLOCK: 0o4000,
    supported: true,
  };
  return b;
}
