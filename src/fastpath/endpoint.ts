// What is a destination stream, underneath: which fd, what kind of file, which
// syscalls can write to it, and how to keep its counters true. Facts only; the
// decision to use them is made in eligible.ts.
import * as fs from 'node:fs';
import * as net from 'node:net';
import type { Writable } from 'node:stream';
import { native, FileType, OpName } from '../native';
import type { RunningTransfer } from './lifecycle';
import { fsError, netError } from '../errors';
import { NodeWriteStream } from '../original-fs';
import {
  socketFd, socketQueuedBytes, isTlsSocket, addSocketBytesWritten, touchSocketTimer,
  syncWriteStreamFd, hasCustomFs, writeIsWrapped, destroyDiscarding, isTcpSocket,
} from './node-internals';
import { os as osErrno } from './errno';
// A cycle on purpose: http-response.ts builds on the helpers here, and this
// is where every kind of destination is told apart. Only functions cross it.
import { isServerResponse, isHttp2Response, describeResponse } from './http-response';

export interface Destination {
  stream: Writable;
  fd: number;
  kind: 'socket' | 'pipe' | 'file';
  /** Syscalls that can write to it, best first. */
  ops: OpName[];
  /** Explicit write offset (fs.WriteStream with `start`), or -1 for the file position. */
  offset: number;
  /** Keeps bytesWritten/pos (and socket timers) as Node's own writes would. */
  onBytes(n: number): void;
  /**
   * A full socket became writable again: the peer read, which is activity
   * for its idle timer (socket.setTimeout, an HTTP server's timeout) before
   * our next chunk has even had its turn on the pool.
   */
  onWritable?(): void;
  /** The error Node would raise for a failed write on this stream. */
  writeError(errno: number): Error;
  /** Re-checked at each chunk boundary: may bytes still go straight to the fd? */
  usable(): boolean;
  /** Ends the destination after a failed write, as Node's own failed write would (default: destroy(error)). */
  fail?(error: Error): void;
  /**
   * Ends the destination with `error` so its peer does not read what the
   * kernel still queues for it: a TCP peer gets a reset (default: fail).
   */
  discard?(error: Error): void;
  /**
   * While the kernel writes: makes destroy() and end() wait for the native
   * side to let go (default: guardDestination on the stream). Returns the undo.
   */
  guard?(t: RunningTransfer): () => void;
  /**
   * A destination that frames the bytes itself (a chunked HTTP body) opens a
   * frame for the `bytes` about to move; without this, the bytes go as they are.
   */
  openFrame?(bytes: number): Frame;
}

/**
 * What a destination writes around the bytes the kernel moves. Once opened,
 * the frame promised exactly `bytes`: only the destination going away stops
 * the transfer before that, and a frame not filled ends the destination.
 */
export interface Frame {
  readonly bytes: number;
  /** Writes the frame's head through Node; go(true) once it has left userspace, go(false) if it cannot. */
  open(go: (ok: boolean) => void): void;
  /** The kernel moved `moved` bytes: closes the frame, or ends the destination if it is not full. False then. */
  close(moved: number): boolean;
}

/**
 * Not ready yet: call `retry` once `wait` reports (dest opening, connecting,
 * or draining). `readAhead`: Node's own pipe() reads ahead meanwhile (the
 * destination buffers), so a file source may just read normally and decide
 * again at its next read.
 */
export interface NotYet { wait(retry: () => void): void; reason: string; readAhead: boolean }

export type DestinationFacts = Destination | NotYet | string;

const WAIT_POLL_LIMIT = 64;

export function notYet(reason: string, wait: (retry: () => void) => void, readAhead = false): NotYet {
  return { reason, wait, readAhead };
}

// Data queued in the stream must reach the kernel before we write beside it.
export function waitForQueue(stream: Writable, queued: () => number, label: string): NotYet {
  return notYet(label, (retry) => {
    let polls = 0;
    const check = (): void => {
      if (queued() === 0 || stream.destroyed || ++polls > WAIT_POLL_LIMIT) retry();
      else if (stream.writableNeedDrain) onceAny(stream, ['drain', 'close'], () => setImmediate(check));
      else setImmediate(check);
    };
    check();
  });
}

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

export function describeDestination(dest: Writable): DestinationFacts {
  if (!native) return 'no native addon';
  if (dest === null || typeof dest !== 'object') return 'destination is not a stream';
  if (dest.writableObjectMode) return 'destination in object mode';
  if (dest.destroyed || dest.writableEnded) return 'destination ended';
  if (dest.writableCorked) return 'destination corked';
  if (writeIsWrapped(dest)) return 'destination write() is wrapped';

  if (dest instanceof net.Socket) return describeSocket(dest);
  if (isServerResponse(dest)) return describeResponse(dest);
  if (dest instanceof fs.WriteStream) return describeWriteStream(dest);
  const fd = syncWriteStreamFd(dest);
  if (fd >= 0) return describeFd(dest, fd, -1, () => undefined, (e) => fsError(e, 'write'));
  if (isHttp2Response(dest)) return 'HTTP/2 response';
  return 'destination has no fd';
}

function describeSocket(sock: net.Socket): DestinationFacts {
  if (isTlsSocket(sock)) return 'TLS socket';
  if (writeIsWrapped(sock, net.Socket.prototype)) return 'destination class overrides write()';
  if (sock.connecting) return notYet('socket connecting', (retry) => onceAny(sock, ['connect', 'close'], retry), true);
  const fd = socketFd(sock);
  if (fd < 0) return 'socket has no fd';
  if (socketQueuedBytes(sock) > 0) return waitForQueue(sock, () => socketQueuedBytes(sock), 'socket write queue');
  const facts = describeFd(sock, fd, -1,
    (n) => { addSocketBytesWritten(sock, n); touchSocketTimer(sock); },
    socketWriteError(sock));
  if (typeof facts !== 'string' && 'fd' in facts) {
    facts.usable = () => socketUsable(sock);
    facts.onWritable = () => touchSocketTimer(sock);
    facts.discard = (error) => destroyDiscarding(sock, error);
  }
  return facts;
}

/**
 * The error Node's own write would have raised, from our sendfile's errno.
 * One case differs: sendfile loops over the socket's sendmsg, and when a
 * peer's reset arrives after the first bytes of a call, the call returns
 * those bytes and the ECONNRESET its later sendmsg took off the socket is
 * lost (splice_to_socket returns "spliced ?: ret"); the next call sees EPIPE.
 * Node's single writev per write never loses it. Nothing can have shut a
 * socket down while our chunk ran (its end() waits for the transfer), so on
 * TCP that EPIPE is the reset: reported as Node would, `write ECONNRESET`.
 * (A Unix socket has no reset; its EPIPE is Node's too.)
 */
export function socketWriteError(sock: net.Socket): (errno: number) => Error {
  const tcp = isTcpSocket(sock);
  return (errno) => netError(tcp && errno === osErrno.EPIPE ? osErrno.ECONNRESET : errno, 'write');
}

/** May the kernel still write to this socket: open, not ended, nothing queued in Node. */
export function socketUsable(sock: net.Socket): boolean {
  return !sock.destroyed && !sock.writableEnded && socketFd(sock) >= 0 && socketQueuedBytes(sock) === 0;
}

function describeWriteStream(ws: fs.WriteStream): DestinationFacts {
  if (hasCustomFs(ws)) return 'destination has a custom fs';
  if (writeIsWrapped(ws, NodeWriteStream.prototype)) return 'destination class overrides write()';
  const fd = (ws as unknown as { fd: unknown }).fd;
  if (typeof fd !== 'number') {
    return notYet('destination opening', (retry) => onceAny(ws, ['ready', 'close'], retry), true);
  }
  if (ws.writableLength > 0) return waitForQueue(ws, () => ws.writableLength, 'destination write queue');
  const pos = (ws as unknown as { pos?: number }).pos;
  return describeFd(ws, fd, typeof pos === 'number' ? pos : -1,
    (n) => {
      // Node's rule for a write that completes after destroy(): its bytes
      // landed, `pos` had moved when it started, but bytesWritten does not
      // count it (fs.WriteStream's writeAll returns ERR_STREAM_DESTROYED first).
      const w = ws as unknown as { pos?: number };
      if (typeof w.pos === 'number') w.pos += n;
      if (!ws.destroyed) ws.bytesWritten += n;
    },
    (errno) => fsError(errno, 'write'));
}

export function describeFd(stream: Writable, fd: number, offset: number, onBytes: (n: number) => void,
  writeError: (errno: number) => Error): DestinationFacts {
  const [err, type, flags] = native!.describe(fd);
  if (err !== 0) return `destination fstat failed (${err})`;
  // The kernel refuses O_APPEND for all three syscalls; never clear a user's flag.
  if (flags & native!.O_APPEND) return 'destination is O_APPEND';
  let kind: Destination['kind'];
  let ops: OpName[];
  if (type === FileType.socket) {
    // sendfile into a blocking socket would park a pool thread until the peer reads.
    if (!(flags & native!.O_NONBLOCK)) return 'destination socket is blocking';
    kind = 'socket'; ops = ['sendfile'];
  } else if (type === FileType.fifo) {
    kind = 'pipe'; ops = ['splice'];
  } else if (type === FileType.file) {
    // sendfile cannot write at an explicit offset; fs.WriteStream with `start` can.
    kind = 'file'; ops = offset >= 0 ? ['copy_file_range'] : ['copy_file_range', 'sendfile'];
  } else {
    return type === FileType.char ? 'destination is a character device (TTY?)' : 'destination fd type unsupported';
  }
  return {
    stream, fd, kind, ops, offset, onBytes, writeError,
    usable: () => !stream.destroyed && !stream.writableEnded && stream.writableLength === 0,
  };
}

export function isNotYet(f: DestinationFacts): f is NotYet {
  return typeof f === 'object' && 'wait' in f;
}
