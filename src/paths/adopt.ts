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
