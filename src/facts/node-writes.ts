// biome-ignore-all lint/suspicious/noExplicitAny: Node's private fields have no types; every access is guarded
// Every write to Node's private stream/socket state: the counters and timers
// a kernel transfer keeps true, and the switch that stops and resumes Node's
// reads of a socket. Each guarded like the reads in node-internals.ts.
import * as net from 'node:net';
import type { Readable } from 'node:stream';
import { takeOffShadow } from '../engine/shapes';
import { isTcpSocket } from './node-internals';

const kExtraBytesWritten = Symbol('zerocopy.bytesWritten');
const kExtraBytesRead = Symbol('zerocopy.bytesRead');

/**
 * net.Socket computes bytesWritten (through `_bytesDispatched`) and bytesRead
 * from getters over its libuv handle, which our syscalls bypass. Shadow the
 * getters on this one socket so the bytes we moved are counted too. The same
 * two getter functions for every socket, both counters at once, values
 * before getters: V8 shares the sockets' shapes only then; a getter of its
 * own per socket turned each socket into a slow dictionary, for good
 * (test/fixtures/fast-shapes.js checks).
 */
const protoRead = Object.getOwnPropertyDescriptor(net.Socket.prototype, 'bytesRead');
const protoWritten = Object.getOwnPropertyDescriptor(net.Socket.prototype, '_bytesDispatched');
const baseRead = protoRead?.get;
const baseWritten = protoWritten?.get;

function bytesReadWithOurs(this: any): number {
  return (baseRead as () => number).call(this) + this[kExtraBytesRead];
}

function bytesWrittenWithOurs(this: any): number {
  return (baseWritten as () => number).call(this) + this[kExtraBytesWritten];
}

function defineCounters(sock: net.Socket): boolean {
  const s = sock as any;
  if (s[kExtraBytesRead] !== undefined) return true;
  if (!baseRead || !baseWritten) return false;
  // -0, not 0: a field that starts as a small integer and later holds more
  // than 2**31 (2 GiB through one kept-alive socket) changes representation,
  // and V8 then retires the socket's shape: every optimized function that
  // touched a socket was thrown away at once, a second or two into a busy
  // process's life (--trace-deopt: 'wrong map' in some 50 functions of
  // net, stream, http and ours). -0 makes the fields doubles from the start.
  s[kExtraBytesRead] = -0;
  s[kExtraBytesWritten] = -0;
  Object.defineProperty(s, 'bytesRead', {
    configurable: true,
    enumerable: protoRead?.enumerable,
    get: bytesReadWithOurs,
  });
  Object.defineProperty(s, '_bytesDispatched', {
    configurable: true,
    enumerable: protoWritten?.enumerable,
    get: bytesWrittenWithOurs,
  });
  return true;
}

function addToSocketCounter(sock: net.Socket, extra: symbol, n: number): void {
  if (defineCounters(sock)) (sock as any)[extra] += n;
}

/**
 * Gives a socket its counters before a transfer shadows its methods
 * (engine/guards.ts): a property added while they are shadowed would make
 * taking them away turn the socket into a dictionary too.
 */
export function prepareSocketCounters(stream: unknown): void {
  if (stream instanceof net.Socket) defineCounters(stream);
}

export function addSocketBytesWritten(sock: net.Socket, n: number): void {
  addToSocketCounter(sock, kExtraBytesWritten, n);
}

/** Bytes a splice took from the socket. */
export function addSocketBytesRead(sock: net.Socket, n: number): void {
  addToSocketCounter(sock, kExtraBytesRead, n);
}

/** Activity on the socket, so setTimeout() idles are measured as Node would. */
export function touchSocketTimer(sock: net.Socket): void {
  const f = (sock as any)._unrefTimer;
  if (typeof f === 'function') f.call(sock);
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
 * The handle is stopped first: an HTTP server restarts a socket's reads on
 * its own 'resume' event, and libuv refuses a second start (EALREADY), which
 * Node would take for a read error.
 */
export function resumeSocketReading(sock: net.Socket): void {
  const h = (sock as any)._handle;
  if (!h) return;
  h.readStop();
  h.reading = false;
  if (!sock.destroyed && !sock.readableEnded) (sock as any)._read(sock.readableHighWaterMark);
}

/**
 * Stops Node's reads of the socket and keeps them stopped: its handle's
 * readStart() is shadowed until the returned function runs. An HTTP server
 * restarts a consumed socket's reads on its 'resume' event (after each
 * pause for a request's backpressure), which stopSocketReading() alone
 * would not survive. Null if the handle cannot be stopped.
 */
export function holdSocketReads(sock: net.Socket): (() => void) | null {
  const h = (sock as any)._handle;
  if (!h || typeof h.readStop !== 'function' || typeof h.readStart !== 'function') return null;
  const readStart = h.readStart;
  // Held already, or not Node's (an own readStart that is not the class's:
  // one left by an earlier hold is, see shapes.ts).
  if (Object.hasOwn(h, 'readStart') && readStart !== Object.getPrototypeOf(h)?.readStart) return null;
  const hadOwn = Object.hasOwn(h, 'readStart');
  if (h.readStop()) return null;
  h.reading = true;
  h.readStart = () => 0;
  return () => {
    takeOffShadow(h, 'readStart', hadOwn, readStart);
  };
}

/**
 * Hands reading back without restarting it, for a socket Node itself holds
 * paused: it restarts the reads when it resumes the socket (an HTTP server
 * does so on the socket's 'resume' event).
 */
export function releaseSocketReading(sock: net.Socket): void {
  const h = (sock as any)._handle;
  if (!h) return;
  h.readStop();
  h.reading = false;
}

/** What Node's onStreamRead does when a socket's read returns end of file. */
export function endSocketReadable(sock: net.Socket): void {
  sock.push(null);
  sock.read(0);
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
 * Bytes left the source through pipe(): as far as Readable's bookkeeping is
 * concerned, data was emitted (readableDidRead, stream.isDisturbed()).
 */
export function markDataEmitted(stream: Readable): void {
  const st = (stream as any)._readableState;
  if (st && st.dataEmitted === false) st.dataEmitted = true;
}
