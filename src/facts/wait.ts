// Waiting for a stream before the kernel may write beside it, and the one
// limit on how often a flow waits before it lets Node's path carry on.
import type { Writable } from 'node:stream';
import { type NotYet, notYet } from './destination';

/**
 * How many times a flow waits for its destination (to open, connect, drain
 * what JavaScript queued) before it gives up and stays on Node's path. A
 * destination that needs more is one whose queue keeps refilling: Node's
 * path is the one that serves it.
 */
export const MAX_WAITS = 64;

/** Calls cb once, at the first of these events; removes its listeners then. */
export function onceAny(stream: Writable, events: string[], cb: () => void): void {
  let done = false;
  const fire = (): void => {
    if (done) return;
    done = true;
    for (const e of events) stream.removeListener(e, fire);
    cb();
  };
  for (const e of events) stream.on(e, fire);
}

/**
 * Calls `again` in a later turn: after the stream's 'drain' (or 'close') if
 * it asked for one, else in the next turn of the loop.
 */
export function afterDrain(stream: Writable, again: () => void): void {
  if (stream.writableNeedDrain) onceAny(stream, ['drain', 'close'], () => setImmediate(again));
  else setImmediate(again);
}

/** Data queued in the stream must reach the kernel before we write beside it. */
export function waitForQueue(stream: Writable, queued: () => number, label: string): NotYet {
  return notYet(label, (retry) => {
    let polls = 0;
    const check = (): void => {
      if (queued() === 0 || stream.destroyed || ++polls > MAX_WAITS) retry();
      else afterDrain(stream, check);
    };
    check();
  });
}
