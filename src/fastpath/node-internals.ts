// Every access to Node's private stream/socket state lives here, each one
// guarded: if a future Node moves a field, the answer is "unknown" and the
// caller declines the fast path instead of breaking.
import fs = require('node:fs');
import * as net from 'node:net';
import * as tls from 'node:tls';
import type { Readable, Writable } from 'node:stream';

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

/**
 * socket.bytesWritten counts what went through its libuv handle, which our
 * syscalls bypass. Node computes it from the `_bytesDispatched` getter; shadow
 * that getter on this one socket so the bytes we moved are counted too.
 */
export function addSocketBytesWritten(sock: net.Socket, n: number): void {
  const s = sock as any;
  if (s[kExtraBytesWritten] === undefined) {
    const proto = Object.getOwnPropertyDescriptor(net.Socket.prototype, '_bytesDispatched');
    if (!proto?.get) return;
    const base = proto.get;
    s[kExtraBytesWritten] = 0;
    Object.defineProperty(s, '_bytesDispatched', {
      configurable: true,
      enumerable: true,
      get() { return base.call(this) + this[kExtraBytesWritten]; },
    });
  }
  s[kExtraBytesWritten] += n;
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

/** True when an fs stream was given a custom `fs` option (its fd may not be real). */
export function hasCustomFs(stream: fs.ReadStream | fs.WriteStream): boolean {
  for (const sym of Object.getOwnPropertySymbols(stream)) {
    if (sym.description === 'kFs') {
      const impl = (stream as any)[sym];
      return impl !== undefined && impl !== fs;
    }
  }
  return false;
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

/** A write()/_write() replaced on the instance means someone watches the bytes. */
export function writeIsWrapped(stream: Writable): boolean {
  return Object.prototype.hasOwnProperty.call(stream, 'write') ||
    Object.prototype.hasOwnProperty.call(stream, '_write') ||
    Object.prototype.hasOwnProperty.call(stream, '_writev');
}

const kExtraBytesRead = Symbol('zerocopy.bytesRead');

/** Like addSocketBytesWritten, for socket.bytesRead (bytes a splice took from it). */
export function addSocketBytesRead(sock: net.Socket, n: number): void {
  const s = sock as any;
  if (s[kExtraBytesRead] === undefined) {
    const proto = Object.getOwnPropertyDescriptor(net.Socket.prototype, 'bytesRead');
    if (!proto?.get) return;
    const base = proto.get;
    s[kExtraBytesRead] = 0;
    Object.defineProperty(s, 'bytesRead', {
      configurable: true,
      enumerable: false,
      get() { return base.call(this) + this[kExtraBytesRead]; },
    });
  }
  s[kExtraBytesRead] += n;
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

/**
 * Calls `onChange` when the stream is paused (unpipe(), a destination's
 * 'close', backpressure all end in pause()) or destroyed, by shadowing those
 * two methods on this one instance for the transfer's life. Listeners would
 * do the same but are visible (listenerCount, MaxListenersExceededWarning on
 * busy sockets). Returns the function that removes the shadows.
 */
export function watchPauseAndDestroy(stream: Readable, onChange: () => void): () => void {
  const s = stream as any;
  const hadPause = Object.prototype.hasOwnProperty.call(s, 'pause');
  const hadDestroy = Object.prototype.hasOwnProperty.call(s, '_destroy');
  const pause = s.pause;
  const destroy = s._destroy;
  s.pause = function (this: Readable, ...args: unknown[]) {
    const r = pause.apply(this, args);
    onChange();
    return r;
  };
  s._destroy = function (this: Readable, ...args: unknown[]) {
    onChange();
    return destroy.apply(this, args);
  };
  return () => {
    if (hadPause) s.pause = pause; else delete s.pause;
    if (hadDestroy) s._destroy = destroy; else delete s._destroy;
  };
}
