// The socket/pipe-source fast path. Node's pipe() runs as usual; right after
// the caller's synchronous code (next tick) we look at the flow, and either
// take it — stop Node's reads on the source's handle, let whatever JavaScript
// already holds reach the destination first, then splice — or leave it alone.
import * as net from 'node:net';
import type { Readable, Writable } from 'node:stream';
import { debug } from '../diagnostics';
import { guardDestination, guardSource } from '../engine/guards';
import type { RunningTransfer } from '../engine/lifecycle';
import type { Outcome } from '../engine/outcome';
import { SocketTransfer } from '../engine/socket-transfer';
import { netError } from '../errors';
import { describeDestination } from '../facts/describe-destination';
import type { Destination } from '../facts/destination';
import { isOutgoingBody } from '../facts/http-response';
import { readableState } from '../facts/node-internals';
import {
  addSocketBytesRead,
  endSocketReadable,
  markDataEmitted,
  prepareSocketCounters,
  resumeSocketReading,
  stopSocketReading,
  touchSocketTimer,
} from '../facts/node-writes';
import {
  describeSocketSource,
  fastPath,
  heldInJavaScript,
  pipedTo,
  socketSourceDecline,
  sourceWatched,
} from '../facts/source';
import { afterDrain, MAX_WAITS } from '../facts/wait';
import { type NativeBinding, native } from '../native';
import { decline, finish as finishFlow } from './finish';

const scheduled = new WeakSet<object>();
// The transfer reading from a socket, from start() until it has let go (not
// transferOf(): a proxy's socket is also the destination of the other way).
const readingFrom = new WeakMap<object, RunningTransfer>();

/**
 * Called right after src.pipe(dest) (by our pipeline(), our WriteStream's
 * 'pipe' event, and the register hook's net.Socket#pipe). Cheap when the
 * source is not a socket; decides on the next tick.
 */
export function adoptSocketAfterPipe(src: Readable, dest: Writable): void {
  // No addon: nothing to offer, and nothing to say (cheap for every pipe()).
  if (!native || !(src instanceof net.Socket) || scheduled.has(src)) return;
  scheduled.add(src);
  process.nextTick(() => {
    scheduled.delete(src);
    decide(src, dest, 0);
  });
}

// Someone besides pipe() reads the socket, or it has ended.
function socketObserved(src: net.Socket): string | null {
  return sourceWatched(src) ?? (readableState(src)?.ended ? 'source ended' : null);
}

function decide(src: net.Socket, dest: Writable, waits: number, reading = true): void {
  // unpipe() then pipe() again: the transfer the unpipe stopped may still
  // have a chunk in flight, and its end hands reading back to Node. A second
  // transfer started meanwhile would splice beside it and Node's reads, and
  // take their EOF for its own (the soak saw files end short). Decide once
  // the first has let go.
  const previous = readingFrom.get(src);
  if (previous) {
    previous.onSettled(() => setImmediate(() => decide(src, dest, waits, reading)));
    return;
  }
  // `reading`: false once we have stopped Node's reads; every way out of here
  // that does not start a transfer must then hand reading back.
  const declineFlow = (reason: string): void => {
    if (!reading) resumeSocketReading(src);
    decline(src, dest, reason);
  };
  if (pipedTo(src) !== dest) {
    if (!reading) resumeSocketReading(src);
    debug('socket source: no longer piped only to its destination');
    return;
  }
  const fp = fastPath();
  if ('off' in fp) {
    declineFlow(fp.off);
    return;
  }
  // An HTTP response frames its body (chunks, a promised length): only a
  // file source, whose size fstat tells, can be framed ahead of the kernel.
  const fixed =
    socketSourceDecline(src) ??
    (isOutgoingBody(dest) ? 'HTTP message from a socket source' : null) ??
    socketObserved(src);
  if (fixed) {
    declineFlow(fixed);
    return;
  }
  if (src.connecting) {
    src.once('connect', () => decide(src, dest, waits, reading));
    return;
  }
  const source = describeSocketSource(fp.on, src);
  if ('declined' in source) {
    declineFlow(source.declined);
    return;
  }
  // From here on the flow is ours unless the destination says no: keep new
  // bytes in the kernel while the destination opens or drains what it has.
  if (reading) {
    if (!stopSocketReading(src)) {
      decline(src, dest, 'could not stop the socket reading');
      return;
    }
    reading = false;
  }
  const facts = describeDestination(fp.on, dest);
  if (facts.kind === 'notYet') {
    if (waits >= MAX_WAITS) {
      declineFlow(facts.reason);
      return;
    }
    debug('socket source: waiting (%s)', facts.reason);
    facts.wait(() => decide(src, dest, waits + 1, false));
    return;
  }
  if (facts.kind === 'declined') {
    declineFlow(facts.reason);
    return;
  }
  handOver(fp.on, src, facts.dest, source.fd, source.direct, 0);
}

// Node's reads are stopped; bytes JavaScript already holds (the source's
// buffer, the destination's queue) go first, in order, through the normal
// path. Then the kernel takes over.
function handOver(
  binding: NativeBinding,
  src: net.Socket,
  dest: Destination,
  inFd: number,
  direct: boolean,
  polls: number,
): void {
  const reason = pipedTo(src) !== dest.stream ? 'unpiped' : socketObserved(src);
  if (reason) {
    resumeSocketReading(src);
    decline(src, dest.stream, reason);
    return;
  }
  if (heldInJavaScript(src, dest.stream) || !dest.usable()) {
    // Polled every turn rather than waited on: a higher bound than a wait's.
    if (polls >= MAX_WAITS * 16) {
      resumeSocketReading(src);
      decline(src, dest.stream, 'buffered data did not drain');
      return;
    }
    if (polls === 0)
      debug('socket source: letting %d buffered bytes through first', src.readableLength + dest.stream.writableLength);
    afterDrain(dest.stream, () => handOver(binding, src, dest, inFd, direct, polls + 1));
    return;
  }
  start(binding, src, dest, inFd, direct);
}

function start(binding: NativeBinding, src: net.Socket, dest: Destination, inFd: number, direct: boolean): void {
  const stream = dest.stream;
  const guards: Array<() => void> = [];
  const transfer = SocketTransfer.start(
    binding,
    {
      inFd,
      outFd: dest.fd,
      direct,
      outIsFile: dest.kind === 'file',
      outOffset: dest.offset,
      onReceived(n) {
        markDataEmitted(src);
        addSocketBytesRead(src, n);
        touchSocketTimer(src);
      },
      onDelivered: (n) => dest.onBytes(n),
      shouldContinue: () =>
        !src.destroyed &&
        socketObserved(src) === null &&
        pipedTo(src) === stream &&
        readableState(src)?.flowing === true &&
        dest.usable(),
      destinationAlive: () => !stream.destroyed,
      onEnd(outcome) {
        readingFrom.delete(src);
        for (const unguard of guards.splice(0)) unguard();
        finish(src, dest, outcome);
      },
    },
    [src, stream],
  );
  if (!transfer) {
    resumeSocketReading(src);
    decline(src, stream, 'no pipe or fd available');
    return;
  }
  if (transfer.active) {
    readingFrom.set(src, transfer);
    prepareSocketCounters(src);
    prepareSocketCounters(stream);
    guards.push(guardSource(src, transfer), guardDestination(stream, transfer));
  }
}

function finish(src: net.Socket, dest: Destination, outcome: Outcome): void {
  finishFlow(
    {
      source: src,
      dest,
      readError: (errno) => netError(errno, 'read'),
      endReason: () => 'end of input',
      ended() {
        if (!src.destroyed) endSocketReadable(src);
      },
      stopped() {
        resumeSocketReading(src);
      },
      declined(o) {
        // Bytes the pipe held go back to the source, ahead of what the socket still has.
        if (o.leftover && o.leftover.length > 0 && !src.destroyed) src.unshift(o.leftover);
        resumeSocketReading(src);
      },
      readOn() {
        resumeSocketReading(src);
      },
    },
    outcome,
  );
}
