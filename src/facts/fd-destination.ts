// What an fd-backed destination is underneath — a socket, a pipe, a file, an
// fs.WriteStream — which syscalls can write to it, and how to keep its
// counters true. One fstat (with its fcntl flags) per destination.
import type * as fs from 'node:fs';
import * as net from 'node:net';
import type { Writable } from 'node:stream';
import { os } from '../engine/errno-policy';
import { fsError, netError } from '../errors';
import { FileType, type NativeBinding, type OpName } from '../native';
import { NodeWriteStream } from '../streams/original-fs';
import { type Destination, type DestinationFacts, declined, notYet, ready } from './destination';
import { hasCustomFs, isTcpSocket, isTlsSocket, socketFd, socketQueuedBytes, writeIsWrapped } from './node-internals';
import { addSocketBytesWritten, destroyDiscarding, touchSocketTimer } from './node-writes';
import { onceAny, waitForQueue } from './wait';

export function describeSocket(binding: NativeBinding, sock: net.Socket): DestinationFacts {
  if (isTlsSocket(sock)) return declined('TLS socket');
  if (writeIsWrapped(sock, net.Socket.prototype)) return declined('destination class overrides write()');
  if (sock.connecting) return notYet('socket connecting', (retry) => onceAny(sock, ['connect', 'close'], retry), true);
  const fd = socketFd(sock);
  if (fd < 0) return declined('socket has no fd');
  if (socketQueuedBytes(sock) > 0) return waitForQueue(sock, () => socketQueuedBytes(sock), 'socket write queue');
  return describeSocketFd(binding, sock, sock, fd);
}

/**
 * The kernel writes to `sock`'s fd on behalf of `stream` (the socket itself,
 * or an HTTP response on it): its counters, idle timer, errors and reset are
 * the socket's.
 */
export function describeSocketFd(
  binding: NativeBinding,
  stream: Writable,
  sock: net.Socket,
  fd: number,
): DestinationFacts {
  const facts = describeFd(
    binding,
    stream,
    fd,
    -1,
    (n) => {
      addSocketBytesWritten(sock, n);
      touchSocketTimer(sock);
    },
    socketWriteError(sock),
  );
  if (facts.kind === 'ready') {
    facts.dest.usable = () => socketUsable(sock);
    facts.dest.onWritable = () => touchSocketTimer(sock);
    facts.dest.discard = (error) => destroyDiscarding(sock, error);
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
  return (errno) => netError(tcp && errno === os.EPIPE ? os.ECONNRESET : errno, 'write');
}

/** May the kernel still write to this socket: open, not ended, nothing queued in Node. */
export function socketUsable(sock: net.Socket): boolean {
  return !sock.destroyed && !sock.writableEnded && socketFd(sock) >= 0 && socketQueuedBytes(sock) === 0;
}

const EMPTY = Buffer.alloc(0);

/**
 * Calls back once every write queued in the file stream has landed: an empty
 * write goes behind them, and its callback is the event. Its fs.write moves
 * no byte. (Polling the queue a number of loop turns gave up while a busy
 * threadpool still held one write.)
 */
function afterQueuedWrites(ws: fs.WriteStream, retry: () => void): void {
  if (ws.destroyed || ws.writableEnded) {
    setImmediate(retry);
    return;
  }
  // A queue past the high-water mark (the usual case: a 64 KiB chunk against
  // fs's 16 KiB) says it has emptied with 'drain', at no cost; the empty
  // write is a threadpool round trip of its own.
  if (ws.writableNeedDrain) {
    onceAny(ws, ['drain', 'close'], () => setImmediate(retry));
    return;
  }
  ws.write(EMPTY, () => setImmediate(retry));
}

export function describeWriteStream(binding: NativeBinding, ws: fs.WriteStream): DestinationFacts {
  if (hasCustomFs(ws)) return declined('destination has a custom fs');
  if (writeIsWrapped(ws, NodeWriteStream.prototype)) return declined('destination class overrides write()');
  const fd = (ws as unknown as { fd: unknown }).fd;
  if (typeof fd !== 'number') {
    return notYet('destination opening', (retry) => onceAny(ws, ['ready', 'close'], retry), true);
  }
  if (ws.writableLength > 0) return notYet('destination write queue', (retry) => afterQueuedWrites(ws, retry));
  const pos = (ws as unknown as { pos?: number }).pos;
  return describeFd(
    binding,
    ws,
    fd,
    typeof pos === 'number' ? pos : -1,
    (n) => {
      // Node's rule for a write that completes after destroy(): its bytes
      // landed, `pos` had moved when it started, but bytesWritten does not
      // count it (fs.WriteStream's writeAll returns ERR_STREAM_DESTROYED first).
      const w = ws as unknown as { pos?: number };
      if (typeof w.pos === 'number') w.pos += n;
      if (!ws.destroyed) ws.bytesWritten += n;
    },
    (errno) => fsError(errno, 'write'),
  );
}

export function describeFd(
  binding: NativeBinding,
  stream: Writable,
  fd: number,
  offset: number,
  onBytes: (n: number) => void,
  writeError: (errno: number) => Error,
): DestinationFacts {
  const [err, type, flags] = binding.describe(fd);
  if (err !== 0) return declined(`destination fstat failed (${err})`);
  // The kernel refuses O_APPEND for all three syscalls; never clear a user's flag.
  if (flags & binding.O_APPEND) return declined('destination is O_APPEND');
  let kind: Destination['kind'];
  let ops: OpName[];
  if (type === FileType.socket) {
    // sendfile into a blocking socket would park a pool thread until the peer reads.
    if (!(flags & binding.O_NONBLOCK)) return declined('destination socket is blocking');
    kind = 'socket';
    ops = ['sendfile'];
  } else if (type === FileType.fifo) {
    kind = 'pipe';
    ops = ['splice'];
  } else if (type === FileType.file) {
    // sendfile cannot write at an explicit offset; fs.WriteStream with `start` can.
    kind = 'file';
    ops = offset >= 0 ? ['copy_file_range'] : ['copy_file_range', 'sendfile'];
  } else {
    return declined(
      type === FileType.char ? 'destination is a character device (TTY?)' : 'destination fd type unsupported',
    );
  }
  return ready({
    stream,
    fd,
    kind,
    ops,
    offset,
    onBytes,
    writeError,
    usable: () => !stream.destroyed && !stream.writableEnded && stream.writableLength === 0,
  });
}
