// The socket/pipe-source fast path. Node's pipe() runs as usual; right after
// the caller's synchronous code (next tick) we look at the flow, and either
// take it — stop Node's reads on the source's handle, let whatever JavaScript
// already holds reach the destination first, then splice — or leave it alone.
import * as net from 'node:net';
import type { Readable, Writable } from 'node:stream';
import { native, FileType } from '../native';
import { debug, publish } from '../diagnostics';
import { netError } from '../errors';
import { describeDestination, isNotYet, onceAny, Destination } from './endpoint';
import { flowBusy, globalDecline, pipedTo, sourceWatched } from './eligible';
import {
  addSocketBytesRead, endSocketReadable, isTlsSocket, readableState, resumeSocketReading,
  socketFd, socketHasUserBuffer, stopSocketReading, touchSocketTimer, guardSource, guardDestination, markDataEmitted,
} from './node-internals';
import { StreamTransfer, StreamOutcome } from './splice-transfer';
import { isServerResponse } from './http-response';
import type { RunningTransfer } from './lifecycle';

const MAX_WAITS = 64;
const scheduled = new WeakSet<object>();
// The transfer reading from a socket, from start() until it has let go (not
// transferOf(): a proxy's socket is also the destination of the other way).
const readingFrom = new WeakMap<object, RunningTransfer>();

/**
 * Called right after src.pipe(dest) (by our pipeline(), our WriteStream's
 * 'pipe' event, and the register hook's net.Socket#pipe). Cheap when the
 * source is not a socket; decides on the next tick.
 */
export function adoptAfterPipe(src: Readable, dest: Writable): void {
  if (!native || !(src instanceof net.Socket) || scheduled.has(src)) return;
  scheduled.add(src);
  process.nextTick(() => {
    scheduled.delete(src);
    decide(src, dest, 0);
  });
}

// Someone besides pipe() reads the socket, or it has ended.
function socketObserved(src: net.Socket): string | null {
  return sourceWatched(src) ?? (readableState(src)!.ended ? 'source ended' : null);
}

function decline(src: Readable, dest: Writable, reason: string): void {
  publish({ path: 'normal', reason, bytes: 0, source: src, destination: dest });
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
  const giveUp = (reason: string): void => {
    if (!reading) resumeSocketReading(src);
    decline(src, dest, reason);
  };
  if (pipedTo(src) !== dest) {
    if (!reading) resumeSocketReading(src);
    debug('socket source: no longer piped only to its destination');
    return;
  }
  // An HTTP response frames its body (chunks, a promised length): only a
  // file source, whose size fstat tells, can be framed ahead of the kernel.
  const fixed = globalDecline() ?? (isTlsSocket(src) ? 'TLS socket' : null) ??
    (isServerResponse(dest) ? 'HTTP response from a socket source' : null) ??
    (socketHasUserBuffer(src) ? 'source reads into a user buffer' : null) ?? socketObserved(src);
  if (fixed) { giveUp(fixed); return; }
  if (src.connecting) {
    src.once('connect', () => decide(src, dest, waits, reading));
    return;
  }
  const inFd = socketFd(src);
  if (inFd < 0) { giveUp('source has no fd'); return; }
  const [err, type, flags] = native!.describe(inFd);
  if (err !== 0 || (type !== FileType.socket && type !== FileType.fifo)) {
    giveUp('source is not a socket or pipe');
    return;
  }
  if (type === FileType.socket && !(flags & native!.O_NONBLOCK)) {
    giveUp('source socket is blocking');
    return;
  }
  // From here on the flow is ours unless the destination says no: keep new
  // bytes in the kernel while the destination opens or drains what it has.
  if (reading) {
    if (!stopSocketReading(src)) { decline(src, dest, 'could not stop the socket reading'); return; }
    reading = false;
  }
  const facts = describeDestination(dest);
  if (isNotYet(facts)) {
    if (waits >= MAX_WAITS) { giveUp(facts.reason); return; }
    debug('socket source: waiting (%s)', facts.reason);
    facts.wait(() => decide(src, dest, waits + 1, false));
    return;
  }
  if (typeof facts === 'string') { giveUp(facts); return; }
  handOver(src, facts, inFd, type === FileType.fifo, 0);
}

// Node's reads are stopped; bytes JavaScript already holds (the source's
// buffer, the destination's queue) go first, in order, through the normal
// path. Then the kernel takes over.
function handOver(src: net.Socket, dest: Destination, inFd: number, direct: boolean, polls: number): void {
  const st = readableState(src)!;
  const reason = pipedTo(src) !== dest.stream ? 'unpiped' : socketObserved(src);
  if (reason) {
    resumeSocketReading(src);
    decline(src, dest.stream, reason);
    return;
  }
  if (flowBusy(src, dest.stream) || !dest.usable()) {
    if (polls >= MAX_WAITS * 16) {
      resumeSocketReading(src);
      decline(src, dest.stream, 'buffered data did not drain');
      return;
    }
    if (polls === 0) debug('socket source: letting %d buffered bytes through first', st.length + dest.stream.writableLength);
    const again = (): void => handOver(src, dest, inFd, direct, polls + 1);
    if (dest.stream.writableNeedDrain) onceAny(dest.stream, ['drain', 'close'], () => setImmediate(again));
    else setImmediate(again);
    return;
  }
  start(src, dest, inFd, direct);
}

function start(src: net.Socket, dest: Destination, inFd: number, direct: boolean): void {
  const stream = dest.stream;
  const guards: Array<() => void> = [];
  const transfer = StreamTransfer.start({
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
    shouldContinue: () => !src.destroyed && socketObserved(src) === null && pipedTo(src) === stream &&
      readableState(src)!.flowing === true && dest.usable(),
    destinationAlive: () => !stream.destroyed,
    onEnd(outcome) {
      readingFrom.delete(src);
      for (const unguard of guards.splice(0)) unguard();
      finish(src, dest, outcome);
    },
  }, [src, stream]);
  if (!transfer) {
    resumeSocketReading(src);
    decline(src, stream, 'no pipe or fd available');
    return;
  }
  if (transfer.active) {
    readingFrom.set(src, transfer);
    guards.push(guardSource(src, transfer), guardDestination(stream, transfer));
  }
}

function finish(src: net.Socket, dest: Destination, outcome: StreamOutcome): void {
  const base = { source: src, destination: dest.stream };
  switch (outcome.kind) {
    case 'eof':
      publish({ ...base, path: 'splice', reason: 'end of input', bytes: outcome.bytes });
      if (!src.destroyed) endSocketReadable(src);
      return;
    case 'stopped':
      publish({ ...base, path: 'splice', reason: 'stopped', bytes: outcome.bytes });
      resumeSocketReading(src);
      return;
    case 'declined':
      decline(src, dest.stream, outcome.reason);
      if (outcome.leftover && outcome.leftover.length > 0 && !src.destroyed) src.unshift(outcome.leftover);
      resumeSocketReading(src);
      return;
    case 'failed': {
      const error = outcome.side === 'source' ? netError(outcome.errno, 'read') : dest.writeError(outcome.errno);
      publish({ ...base, path: 'splice', reason: `${outcome.side} error`, bytes: outcome.bytes, error });
      if (outcome.side === 'source') src.destroy(error);
      else {
        dest.stream.destroy(error);
        setImmediate(() => resumeSocketReading(src));
      }
    }
  }
}
