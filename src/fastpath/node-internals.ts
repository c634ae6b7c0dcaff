// Every access to Node's private stream/socket state lives here, each one
// guarded: if a future Node moves a field, the answer is "unknown" and the
// caller declines the fast path instead of breaking.
import fs = require('node:fs');
import * as net from 'node:net';
import * as tls from 'node:tls';
import type { Readable, Writable } from 'node:stream';
import type { RunningTransfer } from './lifecycle';

/* eslint-disable @typescript-eslint/no-explicit-any */

/** The kernel fd under a net.Socket (TCP, Unix socket or pipe), or -1. */
export function socketFd(sock: net.Socket): number {
  const fd = (sock as any)._handle?.fd;
  return typeof fd === 'number' && fd >= 0 ? fd : -1;
}

/** Bytes accepted by write() that have not reached the kernel yet. */
export function socketQueuedBytes(sock: net.Socket): number {
  const handleQueue = (sock as any)._handle?.writeQueueSize;
  return sock.writableLength + (typeof handleQueue === 'number' ? handleQueue : 0);
}

export function isTlsSocket(sock: net.Socket): boolean {
  return sock instanceof tls.TLSSocket || (sock as any).encrypted === true;
}

const kExtraBytesWritten = Symbol('zerocopy.bytesWritten');
const kExtraBytesRead = Symbol('zerocopy.bytesRead');

/**
 * net.Socket computes bytesWritten (through `_bytesDispatched`) and bytesRead
 * from getters over its libuv handle, which our syscalls bypass. Shadow the
 * getter on this one socket so the bytes we moved are counted too.
 */
function addToSocketCounter(sock: net.Socket, getter: '_bytesDispatched' | 'bytesRead', extra: symbol,
  n: number): void {
  const s = sock as any;
  if (s[extra] === undefined) {
    const proto = Object.getOwnPropertyDescriptor(net.Socket.prototype, getter);
    if (!proto?.get) return;
    const base = proto.get;
    s[extra] = 0;
    Object.defineProperty(s, getter, {
      configurable: true,
      enumerable: proto.enumerable,
      get() { return base.call(this) + this[extra]; },
    });
  }
  s[extra] += n;
}

export function addSocketBytesWritten(sock: net.Socket, n: number): void {
  addToSocketCounter(sock, '_bytesDispatched', kExtraBytesWritten, n);
}

/** Bytes a splice took from the socket. */
export function addSocketBytesRead(sock: net.Socket, n: number): void {
  addToSocketCounter(sock, 'bytesRead', kExtraBytesRead, n);
}

/** Activity on the socket, so setTimeout() idles are measured as Node would. */
export function touchSocketTimer(sock: net.Socket): void {
  const f = (sock as any)._unrefTimer;
  if (typeof f === 'function') f.call(sock);
}

/** process.stdout/stderr redirected to a file: fs.writeSync on a fixed fd. */
export function syncWriteStreamFd(stream: Writable): number {
  const s = stream as any;
  if (s?.constructor?.name === 'SyncWriteStream' && typeof s.fd === 'number' && s.fd >= 0) return s.fd;
  return -1;
}

// Node keeps an fs stream's fs methods behind a private symbol: found once by
// its description, then read directly (this runs for every stream).
let kFs: symbol | null | undefined;

function symbolNamed(obj: object, description: string): symbol | null {
  for (const sym of Object.getOwnPropertySymbols(obj)) if (sym.description === description) return sym;
  return null;
}

/**
 * True when an fs stream was given a custom `fs` option (its fd may not be
 * real). A FileHandle given as `fd` also replaces the stream's fs methods,
 * but with the handle's own: its fd is real, so that is not "custom".
 */
export function hasCustomFs(stream: fs.ReadStream | fs.WriteStream): boolean {
  if (!kFs || !(kFs in stream)) kFs = symbolNamed(stream, 'kFs');
  if (!kFs) return false;
  const impl = (stream as any)[kFs];
  if (impl === undefined || impl === fs) return false;
  const kHandle = symbolNamed(stream, 'kHandle');  // rare path: only streams with non-default fs
  const handle = kHandle ? (stream as any)[kHandle] : null;
  const isFileHandle = handle != null && typeof handle.fd === 'number' &&
    typeof handle.read === 'function' && (stream as any).fd === handle.fd;
  return !isFileHandle;
}

export interface ReadableStateView {
  pipes: Writable[];
  flowing: boolean | null;
  length: number;
  objectMode: boolean;
  encoding: string | null;
  ended: boolean;
}

export function readableState(stream: Readable): ReadableStateView | null {
  const st = (stream as any)._readableState;
  if (!st || !Array.isArray(st.pipes)) return null;
  return st as ReadableStateView;
}

/**
 * A write()/_write() replaced on the instance, or overridden by a subclass of
 * `base` (the Node class whose writes we stand in for), means someone
 * watches the bytes.
 */
export function writeIsWrapped(stream: Writable, base?: object): boolean {
  const has = Object.prototype.hasOwnProperty;
  if (has.call(stream, 'write') || has.call(stream, '_write') || has.call(stream, '_writev')) return true;
  if (!base) return false;
  const s = stream as any;
  const b = base as any;
  return s.write !== b.write || s._write !== b._write || s._writev !== b._writev;
}

/** A socket created with the `onread` option reads into the caller's buffer: not ours to take. */
export function socketHasUserBuffer(sock: net.Socket): boolean {
  for (const sym of Object.getOwnPropertySymbols(sock)) {
    if (sym.description === 'kBuffer' && (sock as any)[sym]) return true;
  }
  return false;
}

/**
 * Stops Node's reads from the socket's handle so a splice can take the bytes
 * from the kernel instead. `reading` stays true, which makes net.Socket's
 * _read() leave the handle alone until resumeSocketReading().
 */
export function stopSocketReading(sock: net.Socket): boolean {
  const h = (sock as any)._handle;
  if (!h || typeof h.readStop !== 'function' || typeof h.readStart !== 'function') return false;
  if (h.reading) {
    const err = h.readStop();
    if (err) return false;
  }
  h.reading = true;
  return true;
}

/**
 * Hands the socket back to Node's reads. Readable still counts the read it
 * asked for before we took over as pending (it was never answered with a
 * push), so read(0) would not ask again: restart the handle through _read().
 */
export function resumeSocketReading(sock: net.Socket): void {
  const h = (sock as any)._handle;
  if (!h) return;
  h.reading = false;
  if (!sock.destroyed && !sock.readableEnded) (sock as any)._read(sock.readableHighWaterMark);
}

/** What Node's onStreamRead does when a socket's read returns end of file. */
export function endSocketReadable(sock: net.Socket): void {
  sock.push(null);
  sock.read(0);
}

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
    const own = Object.prototype.hasOwnProperty.call(obj, name);
    const orig = obj[name] as Method | undefined;
    saved.push([name, own, orig]);
    obj[name] = wrap(orig);
  }
  return () => {
    for (const [name, own, orig] of saved) {
      if (own) obj[name] = orig; else delete obj[name];
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
    _destroy: (orig) => function (this: Writable, err: Error | null, cb: (e?: Error | null) => void) {
      const writing = t.inflight;
      t.abort();
      t.onSettled(() => orig!.call(this, err ?? (writing && failsInflightWrite ? streamDestroyedError() : null), cb));
    },
    _final: (orig) => function (this: Writable, cb: (e?: Error | null) => void) {
      t.poke();
      t.onSettled(() => (orig ? orig.call(this, cb) : cb()));
    },
  };
  if (dest instanceof net.Socket) wrappers.push = holdEofWhileWriting(t);
  return shadow(dest, wrappers);
}

/** A TCP socket (Node's TCP handle), not a Unix one: only TCP has resets. */
export function isTcpSocket(sock: net.Socket): boolean {
  const h = (sock as any)._handle;
  return typeof h?.reset === 'function';
}

/**
 * Destroys `sock` with `error` so that its peer does not read what the
 * kernel still queues for it: a TCP socket is reset (Node's own
 * resetAndDestroy(), which takes no error, sets this flag); a Unix socket
 * has no reset and just closes.
 */
export function destroyDiscarding(sock: net.Socket, error: Error): void {
  const s = sock as any;
  if (!sock.destroyed && !sock.connecting && isTcpSocket(sock)) s.resetAndClosing = true;
  sock.destroy(error);
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
  return (orig) => function (this: net.Socket, chunk: unknown, ...rest: unknown[]) {
    if (chunk !== null || !t.inflight) return orig!.call(this, chunk, ...rest);
    t.onSettled(() => { if (!this.destroyed) orig!.call(this, null); });
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
    pause: (orig) => function (this: Readable, ...args: unknown[]) {
      const r = orig!.apply(this, args);
      t.poke();
      return r;
    },
    _destroy: (orig) => function (this: Readable, err: Error | null, cb: (e?: Error | null) => void) {
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
  const after = (orig: Method | undefined) => function (this: Writable, ...args: unknown[]) {
    if (!t.active) return orig!.apply(this, args);
    if (stopFirst) t.abort();
    t.onSettled(() => orig!.apply(this, args));
    return true;
  };
  return shadow(res, { write: after, end: (orig) => function (this: Writable, ...args: unknown[]) {
    after(orig).apply(this, args);
    return this;
  } });
}

/**
 * Bytes left the source through pipe(): as far as Readable's bookkeeping is
 * concerned, data was emitted (readableDidRead, stream.isDisturbed()).
 */
export function markDataEmitted(stream: Readable): void {
  const st = (stream as any)._readableState;
  if (st && st.dataEmitted === false) st.dataEmitted = true;
}

/** What an http.ServerResponse knows of its own framing; null if Node moved the fields. */
export interface ResponseFacts {
  /** The header block has been handed to the socket (it went with the first body write). */
  headerSent: boolean;
  /** False for HEAD and for 204/304: Node discards body writes. */
  hasBody: boolean;
  /** Node frames each write as a chunk (no Content-Length, HTTP/1.1). */
  chunked: boolean;
  trailers: boolean;
  strictContentLength: boolean;
  /** Writes held in the response because its socket is busy with an earlier one. */
  queued: number;
}

export function responseFacts(res: Writable): ResponseFacts | null {
  const r = res as any;
  if (typeof r._headerSent !== 'boolean' || typeof r._hasBody !== 'boolean' || !Array.isArray(r.outputData)) return null;
  return {
    headerSent: r._headerSent && typeof r._header === 'string',
    hasBody: r._hasBody,
    chunked: r.chunkedEncoding === true,
    trailers: typeof r._trailer === 'string' && r._trailer !== '',
    strictContentLength: r.strictContentLength === true,
    queued: r.outputData.length,
  };
}

/** The response a server socket is writing now (later pipelined ones wait behind it). */
export function socketCurrentResponse(sock: net.Socket): unknown {
  return (sock as any)._httpMessage;
}
