// What the fast path knows of a destination once its facts are gathered, and
// the three answers a look at one can give: ready (here is how to write to
// it), not yet (wait for this, then look again), or declined (why not).
import type { Writable } from 'node:stream';
import type { RunningTransfer } from '../engine/lifecycle';
import type { OpName } from '../native';

export interface Destination {
  stream: Writable;
  fd: number;
  kind: 'socket' | 'pipe' | 'file';
  /** Syscalls that can write to it, best first. */
  ops: OpName[];
  /** Explicit write offset (fs.WriteStream with `start`), or -1 for the file position. */
  offset: number;
  /** Keeps bytesWritten/pos (and socket timers) as Node's own writes would. */
  onBytes(n: number): void;
  /**
   * A full socket became writable again: the peer read, which is activity
   * for its idle timer (socket.setTimeout, an HTTP server's timeout) before
   * our next chunk has even had its turn on the pool.
   */
  onWritable?(): void;
  /** The error Node would raise for a failed write on this stream. */
  writeError(errno: number): Error;
  /** Re-checked at each chunk boundary: may bytes still go straight to the fd? */
  usable(): boolean;
  /** Ends the destination after a failed write, as Node's own failed write would (default: destroy(error)). */
  fail?(error: Error): void;
  /**
   * Ends the destination with `error` so its peer does not read what the
   * kernel still queues for it: a TCP peer gets a reset (default: fail).
   */
  discard?(error: Error): void;
  /**
   * While the kernel writes: makes destroy() and end() wait for the native
   * side to let go (default: guardDestination on the stream). Returns the undo.
   */
  guard?(t: RunningTransfer): () => void;
  /**
   * A destination that frames the bytes itself (a chunked HTTP body) opens a
   * frame for the `bytes` about to move; without this, the bytes go as they are.
   */
  openFrame?(bytes: number): Frame;
}

/**
 * What a destination writes around the bytes the kernel moves. Once opened,
 * the frame promised exactly `bytes`: only the destination going away stops
 * the transfer before that, and a frame not filled ends the destination.
 */
export interface Frame {
  readonly bytes: number;
  /** Writes the frame's head through Node; go(true) once it has left userspace, go(false) if it cannot. */
  open(go: (ok: boolean) => void): void;
  /** The kernel moved `moved` bytes: closes the frame, or ends the destination if it is not full. False then. */
  close(moved: number): boolean;
}

/**
 * Not ready yet: look again once `wait` calls back (the destination opening,
 * connecting, or draining). `readAhead`: Node's own pipe() reads ahead
 * meanwhile (the destination buffers), so a file source may just read
 * normally and decide again at its next read.
 */
export interface NotYet {
  kind: 'notYet';
  reason: string;
  readAhead: boolean;
  wait(retry: () => void): void;
}

export type DestinationFacts = { kind: 'ready'; dest: Destination } | NotYet | { kind: 'declined'; reason: string };

export function ready(dest: Destination): DestinationFacts {
  return { kind: 'ready', dest };
}

export function declined(reason: string): DestinationFacts {
  return { kind: 'declined', reason };
}

export function notYet(reason: string, wait: (retry: () => void) => void, readAhead = false): NotYet {
  return { kind: 'notYet', reason, wait, readAhead };
}
