// Flows whose source is Node's own class (a socket, an HTTP message) are
// heard of right after pipe(): here they go to the fast path for their kind.
import type { Readable, Writable } from 'node:stream';
import { isIncomingMessage } from '../facts/http-body';
import { adoptBodyAfterPipe } from './from-http-body';
import { adoptSocketAfterPipe } from './from-socket';

/**
 * Called synchronously from pipe() — by our pipeline(), our WriteStream's
 * 'pipe' event and the register's hooks — before any byte has flowed. Cheap
 * for sources of neither kind.
 */
export function adoptAfterPipe(src: Readable, dest: Writable): void {
  if (isIncomingMessage(src)) adoptBodyAfterPipe(src, dest);
  else adoptSocketAfterPipe(src, dest);
}

/** On a source class whose pipe() the register hooks: its pipe() offers the flow. */
export const kPipeHooked = Symbol.for('zerocopy.registered');
/** On our WriteStream: its 'pipe' listener offers the flow. */
export const kOffersOnPipe = Symbol.for('zerocopy.offersOnPipe');

/**
 * Does src.pipe(dest) offer this flow by itself? Then nobody else offers it
 * again: each flow is told once, and a decline costs no more than one look.
 * (Remembering what was offered instead cost more than the look: a WeakMap
 * entry per message slowed every garbage collection.)
 */
export function pipeOffers(src: Readable, dest: Writable): boolean {
  return (
    (dest as unknown as Record<symbol, unknown>)[kOffersOnPipe] === true ||
    (src as unknown as Record<symbol, unknown>)[kPipeHooked] === true
  );
}
