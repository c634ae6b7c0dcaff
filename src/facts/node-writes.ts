// biome-ignore-all lint/suspicious/noExplicitAny: Node's private fields have no types; every access is guarded
// Every write to Node's private stream/socket state: the counters and timers
// a kernel transfer keeps true, and the switch that stops and resumes Node's
// reads of a socket. Each guarded like the reads in node-internals.ts.
import * as net from 'node:net';
import type { Readable } from 'node:stream';
import { isTcpSocket } from './node-internals';

const kExtraBytesWritten = Symbol('zerocopy.bytesWritten');
const kExtraBytesRead = Symbol('zerocopy.bytesRead');

/**
 * net.Socket computes bytesWritten (through `_bytesDispatched`) and bytesRead
 * from getters over its libuv handle, which our syscalls bypass. Shadow the
 * getter on this one socket so the bytes we moved are counted too.
 */
function addToSocketCounter(
  sock: net.Socket,
  getter: '_bytesDispatched' | 'bytesRead',
  extra: symbol,
  n: number,
): void {
  const s = sock as any;
  if (s[extra] === undefined) {
    const proto = Object.getOwnPropertyDescriptor(net.Socket.prototype, getter);
    if (!proto?.get) return;
    const base = proto.get;
    s[extra] = 0;
    Object.defineProperty(s, getter, {
      configurable: true,
      enumerable: proto.enumerable,
      get() {
        return base.call(this) + this[extra];
      },
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
  if (Object.hasOwn(h, 'readStart')) return null; // held already, or not Node's
  if (h.readStop()) return null;
  h.reading = true;
  h.readStart = () => 0;
  return () => {
    delete h.readStart;
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
