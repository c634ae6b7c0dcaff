// Drives one file-source transfer (sendfile, copy_file_range, or splice into a
// pipe): bounded chunks on the threadpool, waits for a full socket/pipe in the
// event loop, and a decision at every chunk boundary. It owns duplicated fds
// for its whole life, so the streams may close theirs at any moment without
// bytes ever landing on a reused fd number. What an errno means is decided in
// errno-policy.ts; the binding comes from the caller (the seam for tests).

import { debug } from '../diagnostics';
import { type FdWatcher, type NativeBinding, Op, type OpName, UV_WRITABLE } from '../native';
import { errnoName, judge, opAvailable, os, sideOf } from './errno-policy';
import { dupAll, TransferLifecycle } from './lifecycle';
import type { Outcome } from './outcome';
import { copyOnPool, type PoolJob } from './pool-gate';

/** One chunk per threadpool job: small enough that concurrent transfers and fs work take turns. */
export const CHUNK_BYTES = 8 * 1024 * 1024;
/**
 * Into a socket, a job lasts as long as the peer keeps reading: its counters
 * and its idle timer (socket.setTimeout, an HTTP server's timeout) hear of
 * the bytes only when the job returns. 1 MiB keeps that under a timer's
 * reach for a reader as slow as 5 MB/s (nginx's sendfile_max_chunk is 2 MiB).
 */
export const SOCKET_CHUNK_BYTES = 1024 * 1024;

export interface TransferPlan {
  /** Syscalls to try in order; the first that moves a byte is used to the end. */
  ops: OpName[];
  inFd: number;
  outFd: number;
  /** -1: use and advance the fd's file position (as fs streams do without start). */
  inOffset: number;
  outOffset: number;
  /** Bytes to move at most (Infinity: to end of file). */
  limit: number;
  /** Bytes per threadpool job (default CHUNK_BYTES). */
  chunkBytes?: number;
  /**
   * Runs once the fds are duplicated, before the first chunk: what the
   * destination writes ahead of the bytes (an HTTP chunk head) goes out here.
   * go(false): it could not, and the transfer stops having moved nothing.
   */
  prelude?(go: (ok: boolean) => void): void;
  /** Called after every chunk that moved bytes, before the next starts. */
  onProgress(bytes: number): void;
  /** A full destination became writable again (the peer read). */
  onWritable?(): void;
  /** Checked at every chunk boundary; false stops the transfer cleanly. */
  shouldContinue(): boolean;
  onEnd(outcome: Outcome): void;
}

/** Handle on a running file-source transfer. */
export class FileTransfer extends TransferLifecycle {
  private opIndex = 0;
  private moved = 0;
  private inOffset: number;
  private outOffset: number;
  private waiting = false;
  /**
   * Bytes of the chunk whose return led straight to this decision (0 after a
   * wait): what moved while an observer that stops us now may have come.
   */
  private lastChunk = 0;
  /** The chunk handed to the pool gate, until it starts or is cancelled. */
  private job: PoolJob | null = null;
  private watcher: FdWatcher | null = null;
  /** The destination's end() came while waiting on it: make the chunk waited for, then stop (destinationEnding). */
  private writeBeforeEnd = false;

  private constructor(
    binding: NativeBinding,
    private readonly plan: TransferPlan,
    /** plan.ops that this process can run, in the plan's order. */
    private readonly ops: OpName[],
    private readonly inFd: number,
    private readonly outFd: number,
    streams: object[],
  ) {
    super(binding, streams, [inFd, outFd], (outcome) => plan.onEnd(outcome));
    this.inOffset = plan.inOffset;
    this.outOffset = plan.outOffset;
  }

  /**
   * Duplicates both fds and starts moving bytes. Returns null, having touched
   * nothing, when the fds cannot be duplicated (EMFILE...): run the normal path.
   */
  static start(binding: NativeBinding, plan: TransferPlan, streams: object[]): FileTransfer | null {
    const ops = plan.ops.filter(opAvailable);
    if (ops.length === 0) return null;
    const fds = dupAll(binding, [plan.inFd, plan.outFd]);
    if (!fds) return null;
    const t = new FileTransfer(binding, plan, ops, fds[0], fds[1], streams);
    if (!plan.prelude) t.step();
    else plan.prelude((ok) => (ok ? t.step() : t.stop()));
    return t;
  }

  get bytes(): number {
    return this.moved;
  }
  get op(): OpName {
    return this.ops[this.opIndex];
  }
  get waitingInLoop(): boolean {
    return this.waiting;
  }

  /** Re-checks shouldContinue() now if the transfer is idle-waiting. */
  poke(): void {
    // A chunk still waiting for its turn on the pool has moved nothing: drop it.
    if (this.job && (this.aborted || !this.plan.shouldContinue()) && this.job.cancel()) {
      this.job = null;
      this.chunkOnPool = false;
      this.lastChunk = 0; // the chunk before it was counted before this decision
      this.stop();
      return;
    }
    if (this.waiting && (this.aborted || !this.plan.shouldContinue())) {
      this.watcher?.stop();
      this.waiting = false;
      this.stop();
    }
  }

  /**
   * The destination's end() (its _final) was called while the transfer runs:
   * by the application, or by Node itself when a socket's peer closed and the
   * socket read its end of file (allowHalfOpen false). On Node's path, a
   * destination that is full holds a write still pending, and end() waits for
   * it: it completes when the peer reads, or fails (write EPIPE) when the
   * peer has gone. A transfer waiting on a full destination is that write:
   * it is made once the destination is writable — and fails as Node's would —
   * and the transfer stops after it. Stopped at once instead, the socket
   * would shut down and close with no error, and pipeline() would report
   * ERR_STREAM_PREMATURE_CLOSE where Node reports write EPIPE. Not waiting:
   * as poke().
   */
  override destinationEnding(): void {
    if (this.waiting && !this.aborted) this.writeBeforeEnd = true;
    else this.poke();
  }

  protected release(): void {
    this.watcher?.close();
    this.watcher = null;
  }

  private stop(): void {
    this.finish({ kind: 'stopped', op: this.moved > 0 ? this.op : null, bytes: this.moved, lastChunk: this.lastChunk });
  }

  private step(): void {
    if (this.aborted || !this.plan.shouldContinue()) {
      this.stop();
      return;
    }
    this.move();
  }

  /** The next chunk, with no decision first (step() decides). */
  private move(): void {
    const remaining = this.plan.limit - this.moved;
    if (remaining <= 0) {
      this.finish({ kind: 'ended', op: this.op, bytes: this.moved, eof: false, lastChunk: this.lastChunk });
      return;
    }
    const len = Math.min(remaining, this.plan.chunkBytes ?? CHUNK_BYTES);
    this.chunkOnPool = true;
    // The callback always comes in a later turn, after this assignment.
    this.job = copyOnPool(
      this.binding,
      [Op[this.op], this.inFd, this.outFd, this.inOffset, this.outOffset, len],
      (errno, n) => {
        this.job = null;
        this.afterChunk(len, errno, n);
      },
    );
  }

  private afterChunk(len: number, errno: number, n: number): void {
    this.chunkOnPool = false;
    this.lastChunk = Math.max(n, 0);
    if (n > 0) {
      this.moved += n;
      if (this.inOffset >= 0) this.inOffset += n;
      if (this.outOffset >= 0) this.outOffset += n;
      this.plan.onProgress(n);
    }
    if (errno === 0) {
      if (n === len) {
        this.step();
        return;
      }
      // A first call that moves nothing may be a syscall that does not work
      // here (copy_file_range gives 0 on procfs/overlay): try the next one; a
      // real end of file reads as 0 there too.
      if (this.moved === 0 && this.opIndex + 1 < this.ops.length) {
        this.opIndex++;
        this.step();
        return;
      }
      this.finish({ kind: 'ended', op: this.op, bytes: this.moved, eof: true, lastChunk: this.lastChunk });
      return;
    }
    const verdict = judge(this.op, errno, this.moved);
    if (verdict.kind === 'wait') {
      this.waitWritable();
      return;
    }
    if (verdict.kind === 'fallback') {
      if (this.opIndex + 1 < this.ops.length) {
        this.opIndex++;
        this.step();
        return;
      }
      this.finish({ kind: 'declined', reason: verdict.reason, leftover: null });
      return;
    }
    // sendfile and copy_file_range both read and write: the errno says whose it is.
    this.finish({ kind: 'failed', op: this.op, bytes: this.moved, errno, side: sideOf(errno) });
  }

  // EAGAIN: the socket or pipe is full. Wait for it in the event loop — a pool
  // thread is never parked on it.
  private waitWritable(): void {
    if (this.aborted || !this.plan.shouldContinue()) {
      this.stop();
      return;
    }
    try {
      this.watcher ??= new this.binding.FdWatcher(this.outFd);
    } catch (err) {
      debug('cannot watch fd %d: %s', this.outFd, (err as Error).message);
      const uv = (err as { errno?: unknown }).errno;
      this.failOrDecline(typeof uv === 'number' ? -uv : os.EBADF);
      return;
    }
    const watcher = this.watcher;
    // The callback's status is ignored: libuv reports a socket error (EPOLLERR,
    // e.g. after a reset) as UV_EBADF; the next syscall reports the real errno.
    const rc = watcher.start(UV_WRITABLE, () => {
      watcher.stop(); // one-shot: a writable socket stays writable
      this.waiting = false;
      this.plan.onWritable?.();
      // The destination's end() came meanwhile: the write it waits for first.
      if (this.writeBeforeEnd && !this.aborted) {
        this.writeBeforeEnd = false;
        this.move();
      } else this.step();
    });
    if (rc < 0) {
      this.failOrDecline(-rc);
      return;
    }
    this.waiting = true;
    this.lastChunk = 0; // counted before the wait began: seen by whoever watched then
  }

  private failOrDecline(errno: number): void {
    if (this.moved === 0) this.finish({ kind: 'declined', reason: `poll ${errnoName(errno)}`, leftover: null });
    else this.finish({ kind: 'failed', op: this.op, bytes: this.moved, errno, side: 'destination' });
  }
}
