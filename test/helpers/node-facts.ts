// Facts about the running Node's own streams that some tests must know, found
// by looking at behaviour or at what the stream module exposes — never by
// reading the version number.
import * as stream from 'node:stream';

/**
 * Node 26's pipe() hands a single destination its chunks through
 * Writable.writeKnownBuffer(), which calls `_write` directly: a `write()`
 * wrapper on the destination instance then sees only some of the bytes, with
 * Node's own streams as with ours.
 */
export const pipeMayBypassWrite =
  typeof (stream.Writable as unknown as { writeKnownBuffer?: unknown }).writeKnownBuffer === 'function';

/**
 * Node 26's pause() does nothing on a destroyed stream, so a source destroyed
 * mid-pipe keeps the readableFlowing it had at that instant: false while the
 * flow waited for 'drain', true otherwise. Older Nodes' unpipe() always ends
 * it at false.
 */
export const pauseIgnoresDestroyed = ((): boolean => {
  const r = new stream.Readable({ read() {} });
  r.on('error', () => {});
  r.resume();
  r.destroy();
  r.pause();
  return r.readableFlowing !== false;
})();
