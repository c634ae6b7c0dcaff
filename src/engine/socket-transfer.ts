// Drives one socket/pipe-source transfer with splice(2). Two modes:
// - through an intermediate pipe (source is a socket): socket → pipe → destination;
// - direct (source is itself a pipe): pipe → destination.
// Go's invariant holds in the first mode: the pipe is empty before each fill
// and fully drained before the next, so EAGAIN always has one meaning (the
// source has nothing, or the destination is full), and the transfer waits for
// exactly that in the event loop — it never spins, never parks a pool thread.
// Socket/pipe splices never touch a disk and run on the loop; a splice into a
// file runs on the threadpool: socket → pipe → file as one relay job that
// fills and drains the pipe for as long as the socket has bytes (the socket
// side never blocks; an empty socket ends the job, and the loop waits). What
// an errno means is decided in errno-policy.ts; the binding comes from the
// caller (the seam for tests).
import { type FdWatcher, type NativeBinding, Op, RelaySide, UV_READABLE, UV_WRITABLE } from '../native';
import { judge, opAvailable, os, sideOf } from './errno-policy';
import { dupAll, TransferLifecycle } from './lifecycle';
import type { Outcome, Side } from './outcome';
import { acquirePipe, BIG_PIPE_SIZE, type Pipe, releasePipe } from './pipe-pool';
import { copyOnPool, type PoolJob, type RelayArgs, relayOnPool } from './pool-gate';

/** Bytes per direct splice (source is a pipe) and per turn before yielding to the loop. */
const DIRECT_CHUNK = 1024 * 1024;
const TURN_BYTES = 16 * 1024 * 1024;
/**
 * A fill at least this big is bulk: more has most likely arrived while it
 * was drained, so fill again before waiting (an EAGAIN costs one syscall, a
 * wait a whole loop wake-up). A smaller one (a message) means the socket is
 * empty: wait, as libuv's read loop does after a short read.
 */
const BULK_FILL = 64 * 1024;
/**
 * A relay job (socket → pipe → file) stops filling once it delivered this
 * much: a pool thread is held for a bounded time, and transfers take turns.
 */
const RELAY_BUDGET = 1024 * 1024;

export interface SocketPlan {
  inFd: number;
  outFd: number;
  /** The source is a pipe: no intermediate pipe needed. */
  direct: boolean;
  /** Writes into a regular file (may block on disk): done on the threadpool. */
  outIsFile: boolean;
  /** Explicit write offset for file destinations, or -1. */
  outOffset: number;
  /**
   * At most this many bytes are taken from the source (an HTTP body's
   * Content-Length); reaching it ends the transfer as the source's end
   * would, but with the source still open. Infinity when unbounded.
   */
  limit?: number;
  onReceived(n: number): void;
  onDelivered(n: number): void;
  /** Checked whenever the intermediate pipe is empty. */
  shouldContinue(): boolean;
  /** Is the destination still there to take what the pipe holds? */
  destinationAlive(): boolean;
  onEnd(outcome: Outcome): void;
}

export class SocketTransfer extends TransferLifecycle {
  private pipe: Pipe | null = null;
  private inPipe = 0;
  private delivered = 0;
  private received = 0;
  private outOffset: number;
  private waiting: 'in' | 'out' | null = null;
  private watcherIn: FdWatcher | null = null;
  private watcherOut: FdWatcher | null = null;
  private scheduled = false;
  /** Pipe → file chunk handed to the pool gate, until it returns. */
  private job: PoolJob | null = null;
  /** The last read took less than asked: the source is empty, wait rather than probe. */
  private sourceDrained = false;

  private constructor(
    binding: NativeBinding,
    private readonly plan: SocketPlan,
    private readonly inFd: number,
    private readonly outFd: number,
    streams: object[],
  ) {
    super(binding, streams, [inFd, outFd], (outcome) => plan.onEnd(outcome));
    this.outOffset = plan.outOffset;
  }

  /** Null, having touched nothing, when fds or a pipe cannot be had: run the normal path. */
  static start(binding: NativeBinding, plan: SocketPlan, streams: object[]): SocketTransfer | null {
    if (!opAvailable('splice')) return null;
    let pipe: Pipe | null = null;
    if (!plan.direct) {
      pipe = acquirePipe(binding, plan.outIsFile && (plan.limit ?? Number.POSITIVE_INFINITY) >= BIG_PIPE_SIZE);
      if (!pipe) return null;
    }
    const fds = dupAll(binding, [plan.inFd, plan.outFd]);
    if (!fds) {
      if (pipe) releasePipe(pipe, false);
      return null;
    }
    const t = new SocketTransfer(binding, plan, fds[0], fds[1], streams);
    t.pipe = pipe;
    t.pump();
    return t;
  }

  get bytes(): number {
    return this.delivered;
  }
  get waitingInLoop(): boolean {
    return this.waiting !== null;
  }

  /** Something changed (pause, unpipe, close): re-decide now if idle-waiting. */
  poke(): void {
    // A pool job not yet started moved nothing; the bytes in the pipe are
    // the destination's, so only a destination gone drops it.
    if (this.job && this.aborted && !this.plan.destinationAlive() && this.job.cancel()) {
      this.job = null;
      this.chunkOnPool = false;
      this.stop();
      return;
    }
    if (this.waiting === null || this.ended) return;
    // Bytes already taken from the source belong to the destination (Node
    // would have written them already): deliver them unless it is gone.
    if (this.waiting === 'out' && this.inPipe > 0 && !this.aborted && this.plan.destinationAlive()) return;
    if (!this.aborted && this.plan.shouldContinue()) return;
    this.waiting = null;
    this.stop();
  }

  private pump(): void {
    this.scheduled = false;
    let budget = TURN_BYTES;
    while (!this.ended && this.waiting === null && !this.chunkOnPool) {
      if (budget <= 0) {
        // Fair to other connections and timers: yield, continue next turn.
        if (!this.scheduled) {
          this.scheduled = true;
          setImmediate(() => this.pump());
        }
        return;
      }
      const before = this.delivered;
      // No pipe: the source is one (direct); else the pipe is filled, then drained.
      const pipe = this.pipe;
      if (!pipe) this.directStep();
      else if (this.plan.outIsFile) this.relayStep(pipe);
      else if (this.inPipe > 0) this.drainStep(pipe);
      else this.fillStep(pipe);
      budget -= Math.max(this.delivered - before, 1);
    }
  }

  // Intermediate pipe is empty: take what the socket has, never past the limit.
  private fillStep(pipe: Pipe): void {
    const left = (this.plan.limit ?? Number.POSITIVE_INFINITY) - this.received;
    if (this.settledBeforeFill(left)) return;
    const n = this.binding.spliceSync(this.inFd, pipe.writeFd, Math.min(pipe.capacity, left));
    if (n > 0) {
      this.sourceDrained = n < BULK_FILL;
      this.inPipe += n;
      this.received += n;
      this.plan.onReceived(n);
    } else if (n === 0) {
      this.endOfInput();
    } else {
      // Filling the pipe only reads: an error is the source's.
      this.afterError(-n, this.received, 'in', 'source');
    }
  }

  /**
   * Before taking more from the source, the pipe empty: the flow's limit
   * reached ends the transfer (every byte taken was delivered), a stop
   * request stops it, and a source a short read found empty is waited for —
   * libuv's read loop's rule, rather than a syscall spent on EAGAIN. True
   * when one of these applied.
   */
  private settledBeforeFill(left: number): boolean {
    if (left <= 0) {
      this.finish({ kind: 'ended', op: 'splice', bytes: this.delivered, eof: false, lastChunk: 0 });
      return true;
    }
    if (this.aborted || !this.plan.shouldContinue()) {
      this.stop();
      return true;
    }
    if (this.sourceDrained) {
      this.sourceDrained = false;
      this.wait('in');
      return true;
    }
    return false;
  }

  // Intermediate pipe holds bytes: all of them go to the destination before the next fill.
  private drainStep(pipe: Pipe): void {
    const n = this.binding.spliceSync(pipe.readFd, this.outFd, this.inPipe);
    if (n > 0) this.deliveredBytes(n);
    else if (n < 0) this.destinationError(-n);
  }

  // Socket → pipe → file: one relay job on the pool drains what the pipe
  // holds, then fills and drains it while the socket has bytes; an empty
  // socket ends the job and the loop waits for it.
  private relayStep(pipe: Pipe): void {
    const left = (this.plan.limit ?? Number.POSITIVE_INFINITY) - this.received;
    if (this.inPipe === 0 && this.settledBeforeFill(left)) return;
    // Bytes taken belong to the destination; a transfer told to stop only delivers them.
    const take = !this.aborted && this.plan.shouldContinue() ? Math.min(left, Number.MAX_SAFE_INTEGER) : 0;
    this.sourceReadOnPool();
    const { inFd, outFd, outOffset, inPipe } = this;
    const args: RelayArgs = [
      inFd,
      pipe.readFd,
      pipe.writeFd,
      outFd,
      outOffset,
      inPipe,
      pipe.capacity,
      take,
      RELAY_BUDGET,
    ];
    this.job = relayOnPool(this.binding, args, (errno, side, received, delivered) => {
      this.job = null;
      this.chunkOnPool = false;
      if (received > 0) {
        this.inPipe += received;
        this.received += received;
        this.plan.onReceived(received);
      }
      if (delivered > 0) this.deliveredBytes(delivered);
      if (side === RelaySide.destination) this.destinationError(errno);
      else if (side === RelaySide.source && errno === 0) this.endOfInput();
      else if (side === RelaySide.source && errno === os.EAGAIN) {
        this.sourceDrained = true; // the pipe is empty: the next step waits for the socket
        this.pump();
      } else if (side === RelaySide.source) this.afterError(errno, this.received, 'in', 'source');
      else if (this.aborted && !this.plan.destinationAlive()) this.stop();
      else this.pump();
    });
  }

  // Source is a pipe: splice straight across. On EAGAIN, FIONREAD on the
  // source tells which side to wait for.
  private directStep(): void {
    if (this.aborted || !this.plan.shouldContinue()) {
      this.stop();
      return;
    }
    if (this.plan.outIsFile) {
      this.directCopyOnPool();
      return;
    }
    if (this.sourceDrained) {
      this.sourceDrained = false;
      this.wait('in');
      return;
    }
    const n = this.binding.spliceSync(this.inFd, this.outFd, DIRECT_CHUNK);
    if (n > 0) {
      this.sourceDrained = n < DIRECT_CHUNK;
      this.received += n;
      this.plan.onReceived(n);
      this.deliveredBytes(n);
    } else if (n === 0) {
      this.endOfInput();
    } else {
      // EAGAIN: FIONREAD on the source tells which side to wait for.
      this.afterError(-n, this.received, this.binding.bytesReadable(this.inFd) > 0 ? 'out' : 'in', sideOf(-n));
    }
  }

  /**
   * A pool job is about to read the source: a readiness watch left armed
   * (level-triggered, the source readable) would wake the loop for nothing
   * until the job returns.
   */
  private sourceReadOnPool(): void {
    this.watcherIn?.stop();
    this.chunkOnPool = true;
  }

  // Source pipe → file may wait on the disk: one bounded job on the threadpool.
  private directCopyOnPool(): void {
    const len = DIRECT_CHUNK;
    this.sourceReadOnPool();
    this.job = copyOnPool(this.binding, [Op.splice, this.inFd, this.outFd, -1, this.outOffset, len], (errno, n) => {
      this.job = null;
      this.chunkOnPool = false;
      if (n > 0) {
        this.received += n;
        this.plan.onReceived(n);
        this.deliveredBytes(n);
      }
      if (errno === 0 && n < len) {
        this.endOfInput(); // splice returned 0: writer closed
      } else if (errno === os.EAGAIN) {
        this.wait('in'); // a file never says EAGAIN: the source pipe is empty
      } else if (errno !== 0) {
        this.destinationError(errno);
      } else if (this.aborted && !this.plan.destinationAlive()) {
        this.stop();
      } else {
        this.pump();
      }
    });
  }

  private deliveredBytes(n: number): void {
    if (!this.plan.direct) this.inPipe -= n;
    this.delivered += n;
    if (this.outOffset >= 0) this.outOffset += n;
    this.plan.onDelivered(n);
  }

  // Draining the pipe (or a direct splice) into the destination failed.
  private destinationError(errno: number): void {
    this.afterError(errno, this.delivered, 'out', this.plan.direct ? sideOf(errno) : 'destination');
  }

  /**
   * One splice failed. `moved`: what counts as moved for the policy (taken
   * from the source when filling, delivered when draining); `waitFor`: the
   * side an EAGAIN means; `side`: whose error anything else is.
   */
  private afterError(errno: number, moved: number, waitFor: 'in' | 'out', side: Side): void {
    const verdict = judge('splice', errno, moved);
    if (verdict.kind === 'wait') this.wait(waitFor);
    // Nothing reached the destination: what the pipe holds goes back to the
    // source, and the normal path carries on from there.
    else if (verdict.kind === 'fallback')
      this.finish({ kind: 'declined', reason: verdict.reason, leftover: this.takeBack() });
    else this.finish({ kind: 'failed', op: 'splice', bytes: this.delivered, errno, side });
  }

  private stop(): void {
    this.finish({ kind: 'stopped', op: 'splice', bytes: this.delivered, lastChunk: 0 });
  }

  private endOfInput(): void {
    this.finish({ kind: 'ended', op: 'splice', bytes: this.delivered, eof: true, lastChunk: 0 });
  }

  private takeBack(): Buffer | null {
    if (!this.pipe || this.inPipe === 0) return null;
    const buf = Buffer.allocUnsafe(this.inPipe);
    let got = 0;
    while (got < buf.length) {
      const n = this.binding.readInto(this.pipe.readFd, buf.subarray(got));
      if (n <= 0) break;
      got += n;
    }
    this.inPipe -= got;
    return buf.subarray(0, got);
  }

  // Waiting for the source stays armed across waits — a readable socket fires
  // only when new bytes come, and re-arming for every message would cost
  // epoll_ctl calls — but is stopped whenever we wait for the other side, so a
  // source with bytes we cannot move yet never spins the loop. Waiting for the
  // destination is one-shot: a writable socket stays writable.
  private wait(side: 'in' | 'out'): void {
    if (side === 'in' && (this.aborted || !this.plan.shouldContinue())) {
      this.stop();
      return;
    }
    let watcher: FdWatcher;
    try {
      if (side === 'in') watcher = this.watcherIn ??= new this.binding.FdWatcher(this.inFd);
      else watcher = this.watcherOut ??= new this.binding.FdWatcher(this.outFd);
    } catch {
      this.finish({
        kind: 'failed',
        op: 'splice',
        bytes: this.delivered,
        errno: os.EBADF,
        side: side === 'in' ? 'source' : 'destination',
      });
      return;
    }
    if (side === 'out') this.watcherIn?.stop();
    const rc = watcher.start(side === 'in' ? UV_READABLE : UV_WRITABLE, (status: number) => {
      // libuv stops a poll itself when it reports an error (POLLERR: a peer's
      // reset), and calls back with UV_EBADF: say so to the watcher, or the
      // next wait finds it "already armed" and never fires again.
      if (status < 0 || side === 'out') watcher.stop();
      if (this.waiting !== side) return;
      this.waiting = null;
      // An error or hang-up shows as readiness: the next splice reports it.
      this.pump();
    });
    if (rc < 0) {
      this.finish({
        kind: 'failed',
        op: 'splice',
        bytes: this.delivered,
        errno: -rc,
        side: side === 'in' ? 'source' : 'destination',
      });
      return;
    }
    this.waiting = side;
  }

  protected release(outcome: Outcome): void {
    this.waiting = null;
    this.watcherIn?.close();
    this.watcherOut?.close();
    if (this.pipe) releasePipe(this.pipe, this.inPipe > 0 || outcome.kind === 'failed');
    this.pipe = null;
  }
}
