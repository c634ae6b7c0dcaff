// The life every kernel transfer shares, whatever it moves: it holds
// duplicated fds from start() to finish(), may be aborted or poked at any
// moment, and tells those waiting (a stream's _destroy(), its _final()) when
// the native side has let go. The file transfer (file-transfer.ts) and the
// socket/pipe transfer (socket-transfer.ts) add only how bytes move.
import type { NativeBinding } from '../native';
import type { Outcome } from './outcome';
import { poolJobs } from './pool-gate';

/** What streams need from any running transfer. */
export interface RunningTransfer {
  abort(): void;
  poke(): void;
  /** The destination's end() was called (its _final). */
  destinationEnding(): void;
  onSettled(cb: () => void): void;
  /** Still holding its fds. */
  readonly active: boolean;
  /** A chunk is being moved on the threadpool right now. */
  readonly inflight: boolean;
  /** Waiting in the event loop for a full destination (or an empty source). */
  readonly waitingInLoop: boolean;
}

// Streams (source and destination) with a transfer running, so their
// _destroy() can wait for the native side to let go of its fds.
const running = new WeakMap<object, RunningTransfer>();
const live = new Set<RunningTransfer>();

export interface TransferStats {
  /** Kernel transfers holding duplicated fds right now. */
  running: number;
  /** Of those, how many wait in the event loop (no thread held) for a peer to read or write. */
  waiting: number;
  /** Chunks on the libuv threadpool now (at most a quarter of the pool: src/engine/pool-gate.ts). */
  onPool: number;
  /** Chunks waiting for their turn on the pool. */
  queued: number;
}

export function transferStats(): TransferStats {
  let waiting = 0;
  for (const t of live) if (t.waitingInLoop) waiting++;
  const pool = poolJobs();
  return { running: live.size, waiting, onPool: pool.running, queued: pool.waiting };
}

/** The transfer moving bytes out of or into this stream, if any. */
export function transferOf(stream: object): RunningTransfer | null {
  return running.get(stream) ?? null;
}

/**
 * For a _destroy() override: stop the stream's transfer and run `destroy`
 * only once the native side has closed its duplicated fds, so the stream's
 * 'close' always comes after the last byte the kernel wrote for it.
 */
export function destroyAfterTransfer(stream: object, destroy: () => void): void {
  const t = running.get(stream);
  if (!t) {
    destroy();
    return;
  }
  t.abort();
  t.onSettled(destroy);
}

/**
 * Duplicates `fds` for a transfer's own use: all of them, or none (closing
 * those already made) when the process is out of fds.
 */
export function dupAll(binding: NativeBinding, fds: number[]): number[] | null {
  const own: number[] = [];
  for (const fd of fds) {
    const d = binding.dup(fd);
    if (d < 0) {
      for (const o of own) binding.close(o);
      return null;
    }
    own.push(d);
  }
  return own;
}

export abstract class TransferLifecycle implements RunningTransfer {
  protected aborted = false;
  protected ended = false;
  /** A chunk is in flight on the threadpool: finish() waits for it. */
  protected chunkOnPool = false;
  private readonly settled: Array<() => void> = [];

  protected constructor(
    protected readonly binding: NativeBinding,
    private readonly streams: object[],
    private readonly ownFds: number[],
    private readonly onEnd: (outcome: Outcome) => void,
  ) {
    live.add(this);
    for (const s of streams) running.set(s, this);
  }

  get active(): boolean {
    return !this.ended;
  }
  get inflight(): boolean {
    return this.chunkOnPool;
  }
  abstract get waitingInLoop(): boolean;

  /** Stops at the next chunk boundary (at once if waiting in the loop). */
  abort(): void {
    this.aborted = true;
    this.poke();
  }

  /** The destination's end() was called: re-decide, as for any change (a file transfer may write first). */
  destinationEnding(): void {
    this.poke();
  }

  /** Something the transfer depends on changed: re-decide now if idle-waiting. */
  abstract poke(): void;

  /** Runs cb once the native side has let go of its fds (at once if it has). */
  onSettled(cb: () => void): void {
    if (this.ended) cb();
    else this.settled.push(cb);
  }

  /**
   * Lets go of everything but the fds, before they are closed: watchers come
   * out of epoll first (see fd_watcher.h), a pipe goes back to its pool.
   */
  protected abstract release(outcome: Outcome): void;

  /**
   * Ends the transfer once: watchers off, own fds closed, streams released,
   * then the outcome and whoever waited to settle. Never while a chunk is in
   * flight: its completion calls here again.
   */
  protected finish(outcome: Outcome): void {
    if (this.ended || this.chunkOnPool) return;
    this.ended = true;
    this.release(outcome);
    for (const fd of this.ownFds) this.binding.close(fd);
    live.delete(this);
    for (const s of this.streams) if (running.get(s) === this) running.delete(s);
    this.onEnd(outcome);
    for (const cb of this.settled.splice(0)) cb();
  }
}
