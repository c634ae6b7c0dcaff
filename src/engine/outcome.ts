// How a kernel transfer ended: one type for both engines, turned into stream
// events in one place (src/paths/finish.ts).
import type { OpName } from '../native';

/** Which stream an errno belongs to: the one whose own read or write would have failed. */
export type Side = 'source' | 'destination';

export type Outcome =
  /** The limit was reached, or the source is at its end (`eof`). */
  | { kind: 'ended'; op: OpName; bytes: number; eof: boolean; lastChunk: number }
  /** Stopped at a chunk boundary: paused, unpiped, observed, aborted. `op` null: nothing moved. */
  | { kind: 'stopped'; op: OpName | null; bytes: number; lastChunk: number }
  /** Nothing reached the destination; the normal path runs from the same offset. */
  | { kind: 'declined'; reason: string; leftover: Buffer | null }
  /** A syscall failed after bytes moved (or in a way no fallback can mend). */
  | { kind: 'failed'; op: OpName; bytes: number; errno: number; side: Side };
