// An HTTP/1.x message body as a destination: an http.ServerResponse, or an
// http.ClientRequest (an upload), whose socket is a plain TCP or Unix
// socket. Every decision particular to HTTP lives here. The bytes then move with the same file transfer as file → socket:
// - Node writes the headers (with the first body bytes, as it always does),
//   and the kernel starts only once all of it has left userspace;
// - with Content-Length (or an HTTP/1.0 body read until close) the file's
//   bytes are the body as they are; when Node would frame each write as a
//   chunk, we frame what the kernel moves as one chunk of our own;
// - the response ends through the real res.end(), so keep-alive, 'finish',
//   the next pipelined response and every logger run as before.
import type { EventEmitter } from 'node:events';
import * as http from 'node:http';
import * as net from 'node:net';
import type { Writable } from 'node:stream';
import { guardDestination, guardResponseWrites } from '../engine/guards';
import type { NativeBinding } from '../native';
import { type Destination, type DestinationFacts, declined, type Frame, notYet, ready } from './destination';
import { describeSocketFd, socketUsable } from './fd-destination';
import {
  isTlsSocket,
  responseFacts,
  socketCurrentResponse,
  socketFd,
  socketQueuedBytes,
  writeIsWrapped,
} from './node-internals';
import { prepareSocketCounters } from './node-writes';
import { waitForQueue } from './wait';

export function isServerResponse(dest: Writable): dest is http.ServerResponse & Writable {
  return dest instanceof http.ServerResponse;
}

/** A message Node frames as it writes it: a server's response or a client's request. */
export type OutgoingBody = (http.ServerResponse | http.ClientRequest) & Writable;

export function isOutgoingBody(dest: Writable): dest is OutgoingBody {
  return dest instanceof http.ServerResponse || dest instanceof http.ClientRequest;
}

/** HTTP/2 frames every byte itself (the compat API's response has no fd of its own). */
export function isHttp2Response(dest: Writable): boolean {
  return (dest as { constructor?: { name?: string } }).constructor?.name === 'Http2ServerResponse';
}

/**
 * What the body may still hold, at most, by the response's Content-Length
 * (`written`: body bytes the source already gave it); Infinity if unknown.
 */
export function bodyLeft(dest: Writable, written: number): number {
  if (!isOutgoingBody(dest)) return Infinity;
  const cl = dest.getHeader('content-length');
  const n = typeof cl === 'number' ? cl : typeof cl === 'string' ? Number(cl) : NaN;
  return Number.isFinite(n) ? n - written : Infinity;
}

// Whoever replaced how the body is written (compression, a logger that
// counts body bytes) must see every byte. writeHead is left out on purpose:
// on-headers (morgan, compression) wraps it, and it never sees the body.
function bodyWritesReplaced(res: OutgoingBody): boolean {
  const r = res as unknown as Record<string, unknown>;
  const base = (res instanceof http.ClientRequest ? http.ClientRequest : http.ServerResponse).prototype;
  const proto = base as unknown as Record<string, unknown>;
  if (writeIsWrapped(res, base)) return true;
  // By value, as writeIsWrapped: the class's own function left as an own
  // property by a finished transfer (engine/shapes.ts) replaces nothing.
  for (const name of ['end', '_send', '_writeRaw']) {
    if (r[name] !== proto[name]) return true;
  }
  return false;
}

/** A request gets its socket from the Agent later, and it may still be connecting. */
function requestSocketNotYet(req: http.ClientRequest): DestinationFacts | null {
  const sock = req.socket;
  if (sock == null)
    return notYet('request waiting for a socket', (retry) => onceOf(req, ['socket', 'close'], retry), true);
  if (sock.connecting)
    return notYet('request socket connecting', (retry) => onceOf(sock, ['connect', 'close'], retry), true);
  return null;
}

/** Calls retry on a later turn after the first of `events`. */
function onceOf(emitter: EventEmitter, events: string[], retry: () => void): void {
  const done = (): void => {
    for (const e of events) emitter.off(e, done);
    setImmediate(retry);
  };
  for (const e of events) emitter.on(e, done);
}

// A reason that may pass by the next read (Node reads ahead meanwhile and
// writes through the response as usual).
function passing(reason: string): DestinationFacts {
  return notYet(reason, (retry) => setImmediate(retry), true);
}

/**
 * `sourceEncoding`: the Content-Encoding of a body source (a proxied
 * response). The bytes then go through unchanged, already in the encoding
 * the response declares, so that header is no reason to decline; otherwise
 * it means something (compression middleware) encodes what is written.
 */
export function describeResponse(binding: NativeBinding, res: OutgoingBody, sourceEncoding?: string): DestinationFacts {
  if (res instanceof http.ClientRequest) {
    const later = requestSocketNotYet(res);
    if (later) return later;
  }
  let r = responseFacts(res);
  if (!r) return declined('unknown response state');
  if (!r.hasBody) return declined('response has no body (HEAD, 204, 304)');
  if (bodyWritesReplaced(res)) return declined('response write()/end() replaced');
  const encoding = res.getHeader('content-encoding');
  if (encoding !== undefined && String(encoding).toLowerCase() !== sourceEncoding?.toLowerCase())
    return declined('Content-Encoding set');
  if (r.trailers || res.hasHeader('trailer')) return declined('response has trailers');
  if (r.strictContentLength) return declined('strictContentLength');
  const sock = res.socket;
  // A pipelined response gets its socket once those before it have finished.
  if (sock == null) return passing('queued behind an earlier response');
  if (!(sock instanceof net.Socket)) return declined('response socket is not a net.Socket');
  if (isTlsSocket(sock)) return declined('TLS socket');
  if (writeIsWrapped(sock, net.Socket.prototype)) return declined('socket write() replaced');
  if (socketCurrentResponse(sock) !== res) return passing('queued behind an earlier response');
  if (r.queued > 0 || sock.writableCorked) return passing('response writes held back');
  if (!r.headerSent) {
    // Node sends the headers with the first body write. The first will be
    // the kernel's, so let Node send them now as that write would have:
    // the same bytes, through Node's own path (framing is decided there).
    res.flushHeaders();
    r = responseFacts(res);
    if (!r?.headerSent) return declined('headers could not be sent');
  }
  const fd = socketFd(sock);
  if (fd < 0) return declined('socket has no fd');
  // Headers and earlier body bytes first, all of them out of userspace
  // (oven-sh/bun#7954 sent bodies ahead of headers by not waiting for this).
  if (socketQueuedBytes(sock) > 0) return waitForQueue(res, () => socketQueuedBytes(sock), 'socket write queue');

  const facts = describeSocketFd(binding, res, sock, fd);
  if (facts.kind !== 'ready') return facts;
  const dest: Destination = {
    ...facts.dest,
    usable: () =>
      !res.destroyed &&
      !res.writableEnded &&
      socketCurrentResponse(sock) === res &&
      res.writableLength === 0 &&
      socketUsable(sock),
    // A failed write on Node's own path destroys the socket with the error
    // ('clientError' on the server); the response only sees 'close'.
    fail: (error) => {
      sock.destroy(error);
    },
    // discard (from the socket's facts): whatever the client has not read yet
    // is dropped with the connection, as a body of the promised length but
    // wrong bytes would look complete.
    // The socket's destroy() (res.destroy(), closeAllConnections(), a
    // timeout) waits for the native side; a write or end() on the response
    // meanwhile goes after the bytes the kernel moved, never between them.
    guard: (t) => {
      prepareSocketCounters(sock);
      const socketGuard = guardDestination(sock, t);
      const responseGuard = guardResponseWrites(res, t, !r.chunked);
      return () => {
        responseGuard();
        socketGuard();
      };
    },
  };
  if (r.chunked) dest.openFrame = (bytes) => chunkFrame(sock, bytes);
  return ready(dest);
}

/**
 * One HTTP chunk around what the kernel moves: "<hex size>\r\n", the bytes,
 * "\r\n". Node's own chunks follow if the file grew meanwhile, and res.end()
 * writes the last chunk. A chunk the file cannot fill (truncated during the
 * transfer) cannot be taken back: the socket is destroyed, so the client
 * never sees a cleanly ended response with a wrong body.
 */
function chunkFrame(sock: net.Socket, bytes: number): Frame {
  return {
    bytes,
    open(go) {
      sock.write(`${bytes.toString(16)}\r\n`, 'latin1', (err) => go(!err && socketQueuedBytes(sock) === 0));
    },
    close(moved) {
      if (moved === bytes && !sock.destroyed) {
        sock.write('\r\n');
        return true;
      }
      sock.destroy();
      return false;
    },
  };
}
