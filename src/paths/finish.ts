// What the streams see when a flow leaves the kernel: the one way to decline,
// and one map from a transfer's Outcome to stream events for every source
// kind. A source kind says only how it carries on (FlowEnd); errors, their
// shapes and the diagnostics message are decided here.
import type { Readable, Writable } from 'node:stream';
import { publish } from '../diagnostics';
import type { Outcome } from '../engine/outcome';
import type { Destination } from '../facts/destination';

/** This flow takes the normal path, and why: said on the diagnostics channel (and NODE_DEBUG=zerocopy). */
export function decline(source: Readable, destination: Writable, reason: string): void {
  publish('normal', reason, 0, source, destination);
}

type Of<K extends Outcome['kind']> = Extract<Outcome, { kind: K }>;

/** How one kind of source carries on after its transfer. */
export interface FlowEnd {
  source: Readable;
  dest: Destination;
  /** The error a failed read of this source gives, in its own layer's shape (fs's or net's). */
  readError(errno: number): Error;
  /** Ends the flow after a failed read (default: the source's destroy(error)). */
  destroySource?(error: Error): void;
  /** What the diagnostics message says of an end. */
  endReason(outcome: Of<'ended'>): string;
  /** The kernel reached the source's end, or the flow's limit. */
  ended(outcome: Of<'ended'>): void;
  /** Stopped at a chunk boundary: Node's path carries on from the offset the kernel reached. */
  stopped(outcome: Of<'stopped'>): void;
  /** Nothing moved: Node's path carries on from where it was. */
  declined(outcome: Of<'declined'>): void;
  /**
   * After a failed write the destination's 'error' has unpiped the source:
   * carry on reading into it (now paused), as Node's flow does.
   */
  readOn(): void;
}

export function finish(flow: FlowEnd, outcome: Outcome): void {
  const { source } = flow;
  const destination = flow.dest.stream;
  switch (outcome.kind) {
    case 'ended':
      publish(outcome.op, flow.endReason(outcome), outcome.bytes, source, destination);
      flow.ended(outcome);
      return;
    case 'stopped':
      publish(outcome.op ?? flow.dest.ops[0], 'stopped', outcome.bytes, source, destination);
      flow.stopped(outcome);
      return;
    case 'declined':
      decline(source, destination, outcome.reason);
      flow.declined(outcome);
      return;
    case 'failed': {
      const error = outcome.side === 'source' ? flow.readError(outcome.errno) : flow.dest.writeError(outcome.errno);
      publish(outcome.op, `${outcome.side} error`, outcome.bytes, source, destination, error);
      if (outcome.side === 'source') {
        if (flow.destroySource) flow.destroySource(error);
        else flow.source.destroy(error);
        return;
      }
      failDestination(flow.dest, error);
      // As after a failed write: the destination's 'error' unpipes the source first.
      setImmediate(() => flow.readOn());
    }
  }
}

/** Ends the destination as its own failed write would. */
export function failDestination(dest: Destination, error: Error): void {
  if (dest.fail) dest.fail(error);
  else dest.stream.destroy(error);
}
