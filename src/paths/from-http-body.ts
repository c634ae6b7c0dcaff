// The HTTP-body fast path: an http.IncomingMessage (a server's request, a
// client's response) piped to a file or a socket. Node's pipe() runs as
// usual; on a later loop turn (never inside the parser's execute()) we look
// at the flow and either take it or leave it alone. Taking it:
// 1. stop Node's reads of the socket (the server's parser lets go of the
//    handle it consumes); whatever the message already holds goes first;
// 2. splice exactly the body bytes the parser has not seen, socket → pipe →
//    destination;
// 3. hand the parser back where Node's own reads would have left it: advance
//    it over the moved bytes with its body callback emptied (no copies), so
//    it reaches message-complete itself — 'end', `complete`, keep-alive, the
//    next pipelined request, the client's socket back to its Agent.
// If the parser then disagrees about where the body ended, the connection
// is destroyed: a body that ends in the wrong place is a desync.
import type * as http from 'node:http';
import type * as net from 'node:net';
import type { Readable, Writable } from 'node:stream';
import { settings } from '../config';
import { debug } from '../diagnostics';
import { guardDestination, guardSource } from '../engine/guards';
import type { Outcome } from '../engine/outcome';
import { SocketTransfer } from '../engine/socket-transfer';
import { netError } from '../errors';
import { describeDestination, mayHaveFd } from '../facts/describe-destination';
import type { Destination } from '../facts/destination';
import {
  type BodyCounter,
  type BodySource,
  bodySeenSoFar,
  contentLength,
  countBody,
  describeBody,
} from '../facts/http-body';
import { messageDumped, readableState, socketFd, socketHandle, socketPausedByServer } from '../facts/node-internals';
import {
  addSocketBytesRead,
  destroyDiscarding,
  holdSocketReads,
  markDataEmitted,
  prepareSocketCounters,
  releaseSocketReading,
  resumeSocketReading,
  touchSocketTimer,
} from '../facts/node-writes';
import { describeSocketSource, fastPath, heldInJavaScript, pipedTo, sourceWatched } from '../facts/source';
import { afterDrain, MAX_WAITS } from '../facts/wait';
import { type NativeBinding, native } from '../native';
import { decline, finish as finishFlow } from './finish';

type Message = http.IncomingMessage & Readable;

const scheduled = new WeakSet<object>();
function headerText(value: string | string[] | undefined): string | undefined {
  return typeof value === 'string' ? value : undefined;
}

/**
 * Called synchronously from pipe() (the register's hook, our WriteStream's
 * 'pipe' event): counting the body starts here, before any byte flows. A
 * body worth the kernel's while also stops Node's reads of its socket here,
 * even inside the parser's execute() — libuv allows it in a read callback —
 * or Node's reads would take most of it before a later turn.
 */
export function adoptBodyAfterPipe(msg: Message, dest: Writable): void {
  if (!native || scheduled.has(msg)) return;
  // Most messages are decided here, with no closure, no counter and no
  // later turn: a body already complete (every GET), chunked, too small.
  const fp = fastPath();
  const length =
    'off' in fp
      ? fp.off
      : msg.complete
        ? 'body complete'
        : !mayHaveFd(dest)
          ? 'destination has no fd'
          : contentLength(msg);
  if (typeof length === 'string') {
    decline(msg, dest, length);
    return;
  }
  const seen = bodySeenSoFar(msg);
  if (seen === null) {
    decline(msg, dest, 'body partly read before pipe()');
    return;
  }
  if (length - seen < Math.max(settings.minSplicedBodyBytes, 1)) {
    decline(msg, dest, 'body smaller than minSplicedBodyBytes');
    return;
  }
  scheduled.add(msg);
  const counter = countBody(msg, seen);
  const stopped = stopEarly(msg);
  setImmediate(() => {
    scheduled.delete(msg);
    decide(msg, dest, counter, 0, stopped);
  });
}

// Cheap looks only: decide() takes the full one on the next turn.
function stopEarly(msg: Message): net.Socket | null {
  const sock = msg.socket;
  if (!sock || sock.destroyed || socketFd(sock) < 0) return null;
  return holdReads(sock) ? sock : null;
}

// Sockets whose reads a body flow holds off, and how to let go.
const held = new WeakMap<net.Socket, () => void>();

function letGo(sock: net.Socket): void {
  held.get(sock)?.();
  held.delete(sock);
}

function holdReads(sock: net.Socket): boolean {
  if (held.has(sock)) return true;
  const letGo = holdSocketReads(sock);
  if (!letGo) return false;
  held.set(sock, letGo);
  return true;
}

function decide(
  msg: Message,
  dest: Writable,
  counter: BodyCounter,
  waits: number,
  early: net.Socket | null,
  body?: BodySource,
): void {
  // `early`: Node's reads were stopped at pipe(); `body`: stopped for the
  // transfer. Every way out that does not start one gives the socket back.
  const giveBack = (): void => {
    counter.release();
    if (body) handBack(body, 0, null);
    else if (early) giveReadingBack(early, msg);
  };
  const declineFlow = (reason: string): void => {
    giveBack();
    decline(msg, dest, reason);
  };
  if (pipedTo(msg) !== dest) {
    giveBack();
    debug('http body: no longer piped only to its destination');
    return;
  }
  const fp = fastPath();
  if ('off' in fp) {
    declineFlow(fp.off);
    return;
  }
  if (!body) {
    const described = describeBody(msg);
    if ('declined' in described) {
      declineFlow(described.declined);
      return;
    }
    const left = described.length - counter.seen();
    if (left < Math.max(settings.minSplicedBodyBytes, 1)) {
      declineFlow('body smaller than minSplicedBodyBytes');
      return;
    }
    const watched = sourceWatched(msg) ?? (messageDumped(msg) ? 'body dumped' : null);
    if (watched) {
      declineFlow(watched);
      return;
    }
    const source = describeSocketSource(fp.on, described.sock);
    if ('declined' in source) {
      declineFlow(source.declined);
      return;
    }
    if (source.direct) {
      declineFlow('message socket is a pipe');
      return;
    }
    // From here on the body is ours unless the destination says no: keep
    // its bytes in the kernel while the destination opens or drains (Node's
    // server parser reads on whatever the message's backpressure says).
    if (!stopReading(described)) {
      declineFlow('could not stop the socket reading');
      return;
    }
    body = described;
  }
  const facts = describeDestination(fp.on, dest, headerText(msg.headers['content-encoding']));
  if (facts.kind === 'notYet') {
    if (waits >= MAX_WAITS) {
      declineFlow(facts.reason);
      return;
    }
    debug('http body: waiting (%s)', facts.reason);
    const stopped = body;
    facts.wait(() => decide(msg, dest, counter, waits + 1, early, stopped));
    return;
  }
  if (facts.kind === 'declined') {
    declineFlow(facts.reason);
    return;
  }
  // A response that frames each write as a chunk would need a frame of our
  // own, which a body cut short could not close: Node's path.
  if (facts.dest.openFrame) {
    declineFlow('chunked destination');
    return;
  }
  const inFd = socketFd(body.sock);
  if (inFd < 0) {
    declineFlow('source has no fd');
    return;
  }
  handOver(fp.on, body, facts.dest, counter, inFd, 0);
}

// Node's reads are stopped: what the message and the destination already
// hold goes through first, then the kernel takes the rest of the body.
function handOver(
  binding: NativeBinding,
  body: BodySource,
  dest: Destination,
  counter: BodyCounter,
  inFd: number,
  polls: number,
): void {
  const { msg, sock } = body;
  const giveBack = (reason: string): void => {
    counter.release();
    handBack(body, 0, null);
    decline(msg, dest.stream, reason);
  };
  const reason =
    pipedTo(msg) !== dest.stream
      ? 'unpiped'
      : (sourceWatched(msg) ?? (msg.complete ? 'body complete' : messageDumped(msg) ? 'body dumped' : null));
  if (reason) {
    giveBack(reason);
    return;
  }
  // The client's parser is fed from the socket's 'data': bytes the socket
  // holds unparsed (held back by backpressure) are also Node's to deliver.
  const held =
    heldInJavaScript(msg, dest.stream) ??
    (!dest.usable() ? 'destination busy' : null) ??
    (sock.readableLength > 0 ? 'socket holds bytes' : null);
  if (held) {
    if (polls >= MAX_WAITS * 16) {
      giveBack('buffered data did not drain');
      return;
    }
    afterDrain(dest.stream, () => handOver(binding, body, dest, counter, inFd, polls + 1));
    return;
  }
  const left = body.length - counter.seen();
  if (left <= 0) {
    giveBack('body already read'); // its message-complete is on the way
    return;
  }
  counter.release();
  start(binding, body, dest, inFd, left);
}

function stopReading(body: BodySource): boolean {
  if (!holdReads(body.sock)) return false;
  // The server's parser takes every read of the handle in C++: let go of it
  // (re-taken in handBack), so no read can reach it behind our back.
  if (body.side === 'server') body.parser.unconsume();
  return true;
}

function start(binding: NativeBinding, body: BodySource, dest: Destination, inFd: number, left: number): void {
  const { msg, sock } = body;
  const stream = dest.stream;
  const guards: Array<() => void> = [];
  let received = 0;
  const transfer = SocketTransfer.start(
    binding,
    {
      inFd,
      outFd: dest.fd,
      direct: false,
      outIsFile: dest.kind === 'file',
      outOffset: dest.offset,
      limit: left,
      onReceived(n) {
        received += n;
        markDataEmitted(msg);
        addSocketBytesRead(sock, n);
        touchSocketTimer(sock);
      },
      onDelivered: (n) => dest.onBytes(n),
      shouldContinue: () =>
        !msg.destroyed &&
        !sock.destroyed &&
        sourceWatched(msg) === null &&
        !messageDumped(msg) &&
        pipedTo(msg) === stream &&
        readableState(msg)?.flowing === true &&
        dest.usable(),
      destinationAlive: () => !stream.destroyed,
      onEnd(outcome) {
        for (const unguard of guards.splice(0)) unguard();
        finish(body, dest, outcome, received);
      },
    },
    [msg, sock, stream],
  );
  if (!transfer) {
    handBack(body, 0, null);
    decline(msg, stream, 'no pipe or fd available');
    return;
  }
  if (transfer.active) {
    prepareSocketCounters(sock);
    prepareSocketCounters(stream);
    guards.push(
      guardSource(msg, transfer),
      guardSource(sock, transfer),
      dest.guard ? dest.guard(transfer) : guardDestination(stream, transfer),
    );
  }
}

// Bytes the kernel moved, fed to the parser with its body callback emptied:
// a slot that is not a function makes Node skip the Buffer copy it would
// hand the callback (1 ms per GiB instead of 330). Node 26 keeps calling the
// callback it used before, whatever the slot holds (a parser's second body
// on, and parsers are reused): there the message is marked dumped meanwhile,
// and Node's body callback drops the slices of a dumped message.
let ZEROS: Buffer | null = null;

function skipBody(body: BodySource, n: number): boolean {
  const { parser, kOnBody } = body;
  const msg = body.msg as unknown as { _dumped: boolean };
  const onBody = parser[kOnBody];
  const dumped = msg._dumped;
  parser[kOnBody] = null;
  msg._dumped = true;
  try {
    ZEROS ??= Buffer.alloc(1024 * 1024);
    const zeros = ZEROS;
    for (let left = n; left > 0; ) {
      const chunk = left >= zeros.length ? zeros : zeros.subarray(0, left);
      if (!body.feed(chunk)) return false;
      left -= chunk.length;
    }
    return true;
  } finally {
    parser[kOnBody] = onBody;
    msg._dumped = dumped;
  }
}

/**
 * Gives the socket back to Node's parser as if its own reads had delivered
 * the body so far: `skipped` bytes went to the destination, `leftover` (taken
 * back from the pipe) still goes through the parser into the message. False
 * when the parser disagrees with the count.
 */
function handBack(body: BodySource, skipped: number, leftover: Buffer | null): boolean {
  const { sock, parser } = body;
  if (sock.destroyed) {
    letGo(sock);
    return true;
  }
  let agreed = skipBody(body, skipped);
  if (agreed && leftover && leftover.length > 0) agreed = body.feed(leftover);
  const handle = socketHandle(sock);
  if (body.side === 'server' && handle) parser.consume(handle);
  if (agreed) giveReadingBack(sock, body.msg);
  else letGo(sock);
  return agreed;
}

/**
 * Node's reads again. A server socket Node holds paused (pipelined
 * responses, or a request's backpressure while it read on) it resumes
 * itself; restarting it here would read past that pause.
 */
function giveReadingBack(sock: net.Socket, msg: Message): void {
  letGo(sock);
  const serverPaused =
    typeof msg.method === 'string' && (socketPausedByServer(sock) || readableState(sock)?.flowing === false);
  if (serverPaused) releaseSocketReading(sock);
  else resumeSocketReading(sock);
}

function desync(body: BodySource): void {
  const err = new Error('HTTP body length disagrees with the parser after a kernel transfer') as Error & {
    code: string;
  };
  err.code = 'ERR_ZEROCOPY_BODY_DESYNC';
  destroyDiscarding(body.sock, err);
}

function finish(body: BodySource, dest: Destination, outcome: Outcome, received: number): void {
  const { msg, sock } = body;
  finishFlow(
    {
      source: msg,
      dest,
      readError: (errno) => netError(errno, 'read'),
      // A reset is told once, to the syscall that meets it; the next read
      // sees the end of file. On Node's path which one its read meets
      // depends on when it reads. A server reads a request body as it comes
      // (stock destroys the socket with the read error: 'clientError', then
      // 'aborted'). A client's response may wait behind backpressure, and
      // stock then found the end (the response 'aborted'); the error itself
      // would reach the ClientRequest's 'error', which stock did not emit:
      // give the socket back and let Node's read find the end.
      destroySource: (error) => {
        if (body.side === 'client') {
          if (!handBack(body, received, null)) desync(body);
          return;
        }
        handBack(body, 0, null);
        sock.destroy(error);
      },
      endReason: (o) => (o.eof ? 'peer closed mid-body' : 'end of body'),
      ended(o) {
        // The whole body, or the peer closed early: the parser sees as many
        // bytes as Node's reads would have given it, and Node's own read
        // then finds the rest of the connection (or its end).
        if (!handBack(body, received, null) || (!o.eof && !msg.complete)) desync(body);
      },
      stopped() {
        if (!handBack(body, received, null)) desync(body);
      },
      declined(o) {
        const back = o.leftover?.length ?? 0;
        if (!handBack(body, received - back, o.leftover)) desync(body);
      },
      readOn() {
        // The destination failed: what the pipe held is lost with it, as the
        // chunk of Node's failed write is.
        if (!handBack(body, received, null)) desync(body);
      },
    },
    outcome,
  );
}
