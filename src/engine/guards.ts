// biome-ignore-all lint/suspicious/noExplicitAny: Node's private fields have no types; every access is guarded
// biome-ignore-all lint/style/noNonNullAssertion: every method shadowed here is on Node's stream prototypes, but _final (checked)
// Methods shadowed on one stream instance while a kernel transfer uses it, so
// that destroy(), end(), pause() and an application's own writes wait for the
// native side (or stop it) instead of racing it. Shadowed, never patched on a
// prototype, and taken away again when the transfer ends.
import * as fs from 'node:fs';
import * as net from 'node:net';
import type { Readable, Writable } from 'node:stream';
import type { RunningTransfer } from './lifecycle';
import { takeOffShadow } from './shapes';

type Method = (this: any, ...args: any[]) => any;

/**
 * Shadows methods on one instance (never on a prototype) and returns the
 * function that takes the shadows away again. Listeners would do the same
 * work but are visible (listenerCount, MaxListenersExceededWarning on busy
 * sockets); an own property is only visible to hasOwnProperty.
 */
function shadow(obj: any, wrappers: Record<string, (orig: Method | undefined) => Method>): () => void {
  const saved: Array<[string, boolean, Method | undefined]> = [];
  for (const [name, wrap] of Object.entries(wrappers)) {
    const own = Object.hasOwn(obj, name);
    const orig = obj[name] as Method | undefined;
    saved.push([name, own, orig]);
    obj[name] = wrap(orig);
  }
  // Taken away last-added first: where V8 can, it then steps the object
  // back to the shape it had (shapes.ts).
  return () => {
    for (let i = saved.length - 1; i >= 0; i--) {
      const [name, own, orig] = saved[i];
      takeOffShadow(obj, name, own, orig);
    }
  };
}

/** The error fs.WriteStream gets when destroyed while a write is in flight (Node's ERR_STREAM_DESTROYED). */
function streamDestroyedError(): Error {
  const err = new Error('Cannot call write after a stream was destroyed') as Error & { code: string };
  err.code = 'ERR_STREAM_DESTROYED';
  return err;
}

/**
 * While a transfer writes into `dest`: its destroy() stops the transfer and
 * runs only once the native side has let go (so 'close' comes after the last
 * byte the kernel wrote), and its end() lets the chunk in flight land before
 * 'finish'.
 */
export function guardDestination(dest: Writable, t: RunningTransfer): () => void {
  // Node's fs.WriteStream destroyed during a write fails that write: the
  // stream errors with ERR_STREAM_DESTROYED. A kernel chunk in flight is that write.
  const failsInflightWrite = dest instanceof fs.WriteStream;
  const wrappers: Record<string, (orig: Method | undefined) => Method> = {
    _destroy: (orig) =>
      function (this: Writable, err: Error | null, cb: (e?: Error | null) => void) {
        const writing = t.inflight;
        t.abort();
        t.onSettled(() => orig!.call(this, err ?? (writing && failsInflightWrite ? streamDestroyedError() : null), cb));
      },
    _final: (orig) =>
      function (this: Writable, cb: (e?: Error | null) => void) {
        // A file transfer waiting on a full socket makes that write first, as
        // Node's end() waits for a pending write (FileTransfer.destinationEnding).
        t.destinationEnding();
        t.onSettled(() => (orig ? orig.call(this, cb) : cb()));
      },
  };
  if (dest instanceof net.Socket) wrappers.push = holdEofWhileWriting(t);
  return shadow(dest, wrappers);
}

/**
 * A peer's reset is handed to one caller only: the first syscall on the
 * socket gets ECONNRESET, and a read after it sees a plain end of file. On
 * Node's path both calls are made by the event loop, one after the other,
 * so the reset is reported (by the read or the write) and no 'end' comes.
 * Our sendfile runs on the threadpool: when it takes the reset, libuv's read
 * of the same socket meanwhile finds "end of file", and the socket would
 * emit 'end' — then fail, or end cleanly, where Node reports ECONNRESET.
 * So an end of file read while a chunk is in flight waits for it: a chunk
 * that failed has destroyed the socket with its error by then (as Node's
 * failed write would), and one that did not lets the end of file through.
 */
function holdEofWhileWriting(t: RunningTransfer): (orig: Method | undefined) => Method {
  return (orig) =>
    function (this: net.Socket, chunk: unknown, ...rest: unknown[]) {
      if (chunk !== null || !t.inflight) return orig!.call(this, chunk, ...rest);
      t.onSettled(() => {
        if (!this.destroyed) orig!.call(this, null);
      });
      return false;
    };
}

/**
 * While a transfer reads from a socket `src`: pause() (which unpipe(), a
 * destination's 'close' and backpressure all end in) re-decides at once, and
 * destroy() stops the transfer and closes only once the native side let go.
 */
export function guardSource(src: Readable, t: RunningTransfer): () => void {
  return shadow(src, {
    pause: (orig) =>
      function (this: Readable, ...args: unknown[]) {
        const r = orig!.apply(this, args);
        t.poke();
        return r;
      },
    _destroy: (orig) =>
      function (this: Readable, err: Error | null, cb: (e?: Error | null) => void) {
        t.abort();
        t.onSettled(() => orig!.call(this, err, cb));
      },
  });
}

/**
 * While a transfer writes an HTTP response's body: the application's own
 * write() or end() on it (not pipe()'s: the source is silent meanwhile) runs
 * once the native side has let go, so its bytes follow the kernel's instead
 * of landing between them. `stopFirst`: stop the transfer at its next chunk
 * boundary (as Node's pipe would interleave at a chunk); false while the
 * kernel fills a frame that cannot be cut short.
 */
export function guardResponseWrites(res: Writable, t: RunningTransfer, stopFirst: boolean): () => void {
  const after = (orig: Method | undefined) =>
    function (this: Writable, ...args: unknown[]) {
      if (!t.active) return orig!.apply(this, args);
      if (stopFirst) t.abort();
      t.onSettled(() => orig!.apply(this, args));
      return true;
    };
  return shadow(res, {
    write: after,
    end: (orig) =>
      function (this: Writable, ...args: unknown[]) {
        after(orig).apply(this, args);
        return this;
      },
  });
}
