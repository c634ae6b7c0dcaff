// Drives one socket/pipe-source transfer with splice(2). Two modes:
// - through an intermediate pipe (source is a socket): socket → pipe → destination;
// - direct (source is itself a pipe): pipe → destination.
// Go's invariant holds in the first mode: the pipe is empty before each fill
// and fully drained before the next, so EAGAIN always has one meaning (the
// source has nothing, or the destination is full), and the transfer waits for
// exactly that in the event loop — it never spins, never parks a pool thread.
// Socket/pipe splices never touch a disk and run on the loop; a splice into a
// file runs on the threadpool.
import { native, Op, UV_READABLE, UV_WRITABLE, FdWatcher } from '../native';
import { os } from './errno';
import { acquirePipe, releasePipe, Pipe } from './pipe-pool';
import { errnoName, Side } from './transfer';
import { TransferLifecycle, dupAll } from './lifecycle';
import { copyOnPool, PoolJob } from './pool-gate';

/** Bytes per direct splice (source is a pipe) and per turn before yielding to the loop. */
const DIRECT_CHUNK = 1024 * 1024;
const TURN_BYTES = 16 * 1024 * 1024;

const DECLINE = new Set([os.EINVAL, os.ENOSYS, os.EOPNOTSUPP, os.EPERM, os.EBADF, os.ESPIPE]);
const DESTINATION_ERRNO = new Set([os.EPIPE, os.ECONNRESET, os.ENOTCONN, os.ENOSPC, os.EDQUOT,
  os.EFBIG, os.ECONNABORTED, os.EROFS]);

export type StreamOutcome =
  | { kind: 'eof'; bytes: number }
  | { kind: 'stopped'; bytes: number }
  | { kind: 'declined'; reason: string; leftover: Buffer | null }
  | { kind: 'failed'; bytes: number; errno: number; side: Side };

export interface StreamPlan {
  inFd: number;
  outFd: number;
  /** The source is a pipe: no intermediate pipe needed. */
  direct: boolean;
  /** Writes into a regular file (may block on disk): done on the threadpool. */
  outIsFile: boolean;
  /** Explicit write offset for file destinations, or -1. */
  outOffset: number;
  onReceived(n: number): void;
  onDelivered(n: number): void;
  /** Checked whenever the intermediate pipe is empty. */
  shouldContinue(): boolean;
  /** Is the destination still there to take what the pipe holds? */
  destinationAlive(): boolean;
  onEnd(outcome: StreamOutcome): void;
}

export class StreamTransfer extends TransferLifecycle<StreamOutcome> {
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

  private constructor(private readonly plan: StreamPlan, private readonly inFd: number,
    private readonly outFd: number, streams: object[]) {
    super(streams, [inFd, outFd], (outcome) => plan.onEnd(outcome));
    this.outOffset = plan.outOffset;
  }

  /** Null, having touched nothing, when fds or a pipe cannot be had: run the normal path. */
  static start(plan: StreamPlan, streams: object[]): StreamTransfer | null {
    if (!native) return null;
    let pipe: Pipe | null = null;
    if (!plan.direct) {
      pipe = acquirePipe();
      if (!pipe) return null;
    }
    const fds = dupAll([plan.inFd, plan.outFd]);
    if (!fds) {
      if (pipe) releasePipe(pipe, false);
      return null;
    }
    const t = new StreamTransfer(plan, fds[0], fds[1], streams);
    t.pipe = pipe;
    t.pump();
    return t;
  }

  get bytes(): number { return this.delivered; }
  get waitingInLoop(): boolean { return this.waiting !== null; }

  /** Something changed (pause, unpipe, close): re-decide now if idle-waiting. */
  poke(): void {
    // A pool job not yet started moved nothing; the bytes in the pipe are
    // the destination's, so only a destination gone drops it.
    if (this.job && this.aborted && !this.plan.destinationAlive() && this.job.cancel()) {
      this.job = null;
      this.busy = false;
      this.finish({ kind: 'stopped', bytes: this.delivered });
      return;
    }
    if (this.waiting === null || this.ended) return;
    // Bytes already taken from the source belong to the destination (Node
    // would have written them already): deliver them unless it is gone.
    if (this.waiting === 'out' && this.inPipe > 0 && !this.aborted && this.plan.destinationAlive()) return;
    if (!this.aborted && this.plan.shouldContinue()) return;
    this.waiting = null;
    this.finish({ kind: 'stopped', bytes: this.delivered });
  }

  private pump(): void {
    this.scheduled = false;
    let budget = TURN_BYTES;
    while (!this.ended && this.waiting === null && !this.busy) {
      if (budget <= 0) {
        // Fair to other connections and timers: yield, continue next turn.
        if (!this.scheduled) { this.scheduled = true; setImmediate(() => this.pump()); }
        return;
      }
      const before = this.delivered;
      if (this.plan.direct) this.directStep();
      else if (this.inPipe > 0) this.drainStep();
      else this.fillStep();
      budget -= Math.max(this.delivered - before, 1);
    }
  }

  // Intermediate pipe is empty: take what the socket has.
  private fillStep(): void {
    if (this.aborted || !this.plan.shouldContinue()) {
      this.finish({ kind: 'stopped', bytes: this.delivered });
      return;
    }
    if (this.sourceDrained) {
      // Like libuv's read loop: a short read means the socket is empty, so
      // wait for it instead of spending a syscall on EAGAIN.
      this.sourceDrained = false;
      this.wait('in');
      return;
    }
    const n = native!.spliceSync(this.inFd, this.pipe!.writeFd, this.pipe!.capacity);
    if (n > 0) {
      this.sourceDrained = n < this.pipe!.capacity;
      this.inPipe += n;
      this.received += n;
      this.plan.onReceived(n);
    } else if (n === 0) {
      this.finish({ kind: 'eof', bytes: this.delivered });
    } else if (-n === os.EAGAIN) {
      this.wait('in');
    } else if (this.received === 0 && DECLINE.has(-n)) {
      this.finish({ kind: 'declined', reason: `splice ${errnoName(-n)}`, leftover: null });
    } else {
      this.finish({ kind: 'failed', bytes: this.delivered, errno: -n, side: 'source' });
    }
  }

  // Intermediate pipe holds bytes: all of them go to the destination before the next fill.
  private drainStep(): void {
    if (this.plan.outIsFile) {
      this.copyOnPool(this.pipe!.readFd, this.inPipe);
      return;
    }
    const n = native!.spliceSync(this.pipe!.readFd, this.outFd, this.inPipe);
    if (n > 0) this.deliveredBytes(n);
    else if (-n === os.EAGAIN) this.wait('out');
    else if (n < 0) this.destinationError(-n);
  }

  // Source is a pipe: splice straight across. On EAGAIN, FIONREAD on the
  // source tells which side to wait for.
  private directStep(): void {
    if (this.aborted || !this.plan.shouldContinue()) {
      this.finish({ kind: 'stopped', bytes: this.delivered });
      return;
    }
    if (this.plan.outIsFile) {
      this.copyOnPool(this.inFd, DIRECT_CHUNK);
      return;
    }
    if (this.sourceDrained) {
      this.sourceDrained = false;
      this.wait('in');
      return;
    }
    const n = native!.spliceSync(this.inFd, this.outFd, DIRECT_CHUNK);
    if (n > 0) {
      this.sourceDrained = n < DIRECT_CHUNK;
      this.received += n;
      this.plan.onReceived(n);
      this.deliveredBytes(n);
    } else if (n === 0) {
      this.finish({ kind: 'eof', bytes: this.delivered });
    } else if (-n === os.EAGAIN) {
      this.wait(native!.bytesReadable(this.inFd) > 0 ? 'out' : 'in');
    } else if (this.received === 0 && DECLINE.has(-n)) {
      this.finish({ kind: 'declined', reason: `splice ${errnoName(-n)}`, leftover: null });
    } else {
      const side: Side = DESTINATION_ERRNO.has(-n) ? 'destination' : 'source';
      this.finish({ kind: 'failed', bytes: this.delivered, errno: -n, side });
    }
  }

  // Pipe → file may wait on the disk: one bounded job on the threadpool.
  private copyOnPool(fromFd: number, len: number): void {
    this.busy = true;
    this.job = copyOnPool(Op.splice, fromFd, this.outFd, -1, this.outOffset, len, (errno, n) => {
      this.job = null;
      this.busy = false;
      if (n > 0) {
        if (this.plan.direct) { this.received += n; this.plan.onReceived(n); }
        this.deliveredBytes(n);
      }
      if (errno === 0 && this.plan.direct && n < len) {
        this.finish({ kind: 'eof', bytes: this.delivered });  // splice returned 0: writer closed
      } else if (errno === os.EAGAIN) {
        this.wait('in');  // a file never says EAGAIN: the source pipe is empty
      } else if (errno !== 0) {
        this.destinationError(errno);
      } else if (this.aborted && !this.plan.destinationAlive()) {
        this.finish({ kind: 'stopped', bytes: this.delivered });
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

  private destinationError(errno: number): void {
    if (this.delivered === 0 && DECLINE.has(errno)) {
      // Nothing reached the destination: give what the pipe holds back to the
      // source, and let the normal path carry on from there.
      this.finish({ kind: 'declined', reason: `splice ${errnoName(errno)}`, leftover: this.takeBack() });
      return;
    }
    const side: Side = this.plan.direct && !DESTINATION_ERRNO.has(errno) ? 'source' : 'destination';
    this.finish({ kind: 'failed', bytes: this.delivered, errno, side });
  }

  private takeBack(): Buffer | null {
    if (!this.pipe || this.inPipe === 0) return null;
    const buf = Buffer.allocUnsafe(this.inPipe);
    let got = 0;
    while (got < buf.length) {
      const n = native!.readInto(this.pipe.readFd, buf.subarray(got));
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
      this.finish({ kind: 'stopped', bytes: this.delivered });
      return;
    }
    let watcher: FdWatcher;
    try {
      if (side === 'in') watcher = this.watcherIn ??= new native!.FdWatcher(this.inFd);
      else watcher = this.watcherOut ??= new native!.FdWatcher(this.outFd);
    } catch {
      this.finish({ kind: 'failed', bytes: this.delivered, errno: os.EBADF, side: side === 'in' ? 'source' : 'destination' });
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
      this.finish({ kind: 'failed', bytes: this.delivered, errno: -rc, side: side === 'in' ? 'source' : 'destination' });
      return;
    }
    this.waiting = side;
  }

  protected release(outcome: StreamOutcome): void {
    this.waiting = null;
    this.watcherIn?.close();
    this.watcherOut?.close();
    if (this.pipe) releasePipe(this.pipe, this.inPipe > 0 || outcome.kind === 'failed');
    this.pipe = null;
  }
}
