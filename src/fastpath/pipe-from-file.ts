// The file-source fast path: called from our ReadStream's _read() when Node's
// pipe() asks for data. Either it takes the flow — moving the bytes in the
// kernel and then ending the stream as a read loop would — or it declines,
// having touched nothing, and the normal read runs.
import type * as fs from 'node:fs';
import { native, FileType } from '../native';
import { publish, transferChannel, debug } from '../diagnostics';
import { settings } from '../config';
import { fsError, sourceShrankError } from '../errors';
import { describeDestination, isNotYet, onceAny, Destination, Frame } from './endpoint';
import { isServerResponse, bodyLeft } from './http-response';
import { guardDestination, markDataEmitted } from './node-internals';
import { globalDecline, sourceObserved, sourceWatched, flowBusy, sourceFileDecline, pipedTo } from './eligible';
import { Transfer, Outcome, CHUNK_BYTES, SOCKET_CHUNK_BYTES } from './transfer';
import { pipeListener, replayUnseen } from './replay-unseen';
import type { Writable } from 'node:stream';

export { MIN_FAST_PATH_BYTES } from '../threshold';

/** The fs.ReadStream fields Node's own _read() uses; ours keeps them true. */
export interface FileSource extends fs.ReadStream {
  fd: number | null;
  pos?: number;
  start?: number;
  end: number;
}

interface SourceState {
  /** Destination for which the fast path was refused for a reason that will not change. */
  refused: Writable | null;
  /** Destination for which a passing reason to decline was already published. */
  announced: Writable | null;
  waits: number;
}

const MAX_WAITS = 64;
// Kept beside the stream, not on it: adding a property after construction
// would change the stream's shape and slow Node's own stream code down.
const states = new WeakMap<FileSource, SourceState>();

/**
 * Called from the stream's _destroy(): a state left in `states` after the
 * flow holds its destination, and a WeakMap value reaching an HTTP response
 * keeps the whole request alive through every minor GC until a major one
 * (fastify, 64 KiB: 119 mark-compacts per 20k requests instead of 1).
 */
export function forgetSource(src: FileSource): void {
  states.delete(src);
}

export function sourceState(src: FileSource): SourceState {
  let state = states.get(src);
  if (!state) states.set(src, state = { refused: null, announced: null, waits: 0 });
  return state;
}

/**
 * Takes the pending read as a kernel transfer, or calls normalRead(). Returns
 * nothing: in every branch the pending read is eventually satisfied (bytes
 * moved then push(null), or the normal read).
 *
 * `fresh`: we were called from a turn of the event loop we scheduled
 * ourselves, not from inside the _read() that Readable is making. Only then
 * may a transfer start. Inside _read() the caller may still hold the chunk it
 * read before, not yet written anywhere: Node 26's flowSync() takes it off
 * the buffer, calls _read(), and writes it to the destination only after
 * _read() returns — so "source buffer and destination queue empty" does not
 * yet mean every byte read has reached the destination. Once the call that
 * made the read has returned, that chunk is either still in the source's
 * buffer or in the destination's queue (or already written), on every Node
 * version: the checks below then see it.
 */
export function pipeFromFile(src: FileSource, normalRead: () => void, fresh = false): void {
  // The first two reads are always Node's own: most files served are small,
  // and for them even the fstat of a decision costs more than it could save
  // (measured: a 64 KiB file, one full read and one at end of file, was 2-10%
  // slower with a decision at its second read). A short read means the file
  // has (almost surely) ended: no decision then either. An HTTP response is
  // the exception: its Content-Length (or the stream's `end`) tells a small
  // body without an fstat, and deciding before the first write lets the
  // kernel carry the whole body.
  let destStream: Writable | null;
  if (src.bytesRead < 2 * src.readableHighWaterMark) {
    // An HTTP response is decided once, at its very first read.
    destStream = src.bytesRead === 0 ? pipedTo(src) : null;
    if (!destStream || !isServerResponse(destStream)) { normalRead(); return; }
    const body = Math.min(sourceLimit(src), bodyLeft(destStream, 0));
    if (body < settings.minFastPathBytes) {
      // Said, not remembered: no later read asks again (see `states`).
      if (transferChannel.hasSubscribers || debug.enabled) {
        publish({ path: 'normal', reason: `small (${Math.max(body, 0)} bytes)`, bytes: 0, source: src, destination: destStream });
      }
      normalRead();
      return;
    }
  } else {
    destStream = pipedTo(src);
    if (!destStream) { normalRead(); return; }  // not a single-destination pipe(): nothing to decide
  }
  // Looked up, not made: a small body never needs a state of its own.
  if (states.get(src)?.refused === destStream) { normalRead(); return; }
  const limit = sourceLimit(src);
  if (limit <= 0) { normalRead(); return; }  // Node's _read ends the stream here
  const bound = Math.min(limit, bodyLeft(destStream, src.bytesRead));
  if (bound < settings.minFastPathBytes) {
    refuse(src, destStream, `small (${Math.max(bound, 0)} bytes)`, normalRead);
    return;
  }
  const fixed = globalDecline() ?? sourceFileDecline(src);
  if (fixed) { refuse(src, destStream, fixed, normalRead); return; }
  // These may change during the flow (a listener removed): say so once, and
  // ask again at the next read.
  const watched = sourceWatched(src);
  if (watched) { pass(src, destStream, watched, normalRead); return; }
  // Source facts next: one fstat, and a small file needs no more.
  const [err, type, , size] = native!.describe(src.fd as number);
  if (err !== 0 || type !== FileType.file) {
    refuse(src, destStream, 'source is not a regular file', normalRead);
    return;
  }
  const here = src.pos ?? (src.start ?? 0) + src.bytesRead;
  const expected = Math.min(limit, size - here);
  if (expected < settings.minFastPathBytes) {
    refuse(src, destStream, `small (${Math.max(expected, 0)} bytes)`, normalRead);
    return;
  }

  const facts = describeDestination(destStream);
  if (typeof facts === 'string') { refuse(src, destStream, facts, normalRead); return; }
  // Opening, connecting, an HTTP response queued behind another: Node's
  // pipe() reads ahead meanwhile, and so do we.
  if (isNotYet(facts) && facts.readAhead) { pass(src, destStream, facts.reason, normalRead); return; }
  // Bytes JavaScript already holds go first: keep this read pending (so
  // nothing new is read) while Node's flow writes them out, then decide again
  // in a turn of our own (see `fresh` above).
  const busy = isNotYet(facts) ? facts.reason : flowBusy(src, destStream) ??
    (fresh ? null : 'inside the read call');
  if (busy) {
    const state = sourceState(src);
    if (++state.waits > MAX_WAITS) { state.waits = 0; normalRead(); return; }
    const again = (): void => { if (!src.destroyed) pipeFromFile(src, normalRead, true); };
    if (isNotYet(facts)) facts.wait(() => setImmediate(again));
    else if (destStream.writableNeedDrain) onceAny(destStream, ['drain', 'close'], () => setImmediate(again));
    else setImmediate(again);
    return;
  }
  const state = states.get(src);
  if (state) state.waits = 0;
  if (!isNotYet(facts)) start(src, facts, limit, expected, normalRead);
}

// What the source may still read: Node's own _read() bound. `end` is
// inclusive; without `start` the stream reads from the fd's current position
// and counts with bytesRead.
function sourceLimit(src: FileSource): number {
  return src.pos !== undefined ? src.end - src.pos + 1 : src.end - src.bytesRead + 1;
}

// A reason that may pass: said once per destination, asked again at the next read.
function pass(src: FileSource, dest: Writable, reason: string, normalRead: () => void): void {
  const state = sourceState(src);
  if (state.announced !== dest) {
    state.announced = dest;
    publish({ path: 'normal', reason, bytes: 0, source: src, destination: dest });
  }
  normalRead();
}

function refuse(src: FileSource, dest: Writable, reason: string, normalRead: () => void): void {
  sourceState(src).refused = dest;
  publish({ path: 'normal', reason, bytes: 0, source: src, destination: dest });
  normalRead();
}

// `limit`: what the source may still read (its `end`); `expected`: what the
// file holds of that now, by fstat.
function start(src: FileSource, dest: Destination, limit: number, expected: number, normalRead: () => void): void {
  // A framing destination (a chunked HTTP body) promises `expected` bytes up
  // front: once its head is out only the destination going away may stop the
  // transfer, and bytes the file gains meanwhile go by the normal path after.
  const frame = dest.openFrame?.(expected) ?? null;
  const served = pipeListener(src);
  let unguard: (() => void) | null = null;
  const transfer = Transfer.start({
    ops: dest.ops,
    inFd: src.fd as number,
    outFd: dest.fd,
    inOffset: src.pos ?? -1,
    outOffset: dest.offset,
    limit: frame ? Math.min(limit, frame.bytes) : limit,
    chunkBytes: dest.kind === 'socket' ? SOCKET_CHUNK_BYTES : CHUNK_BYTES,
    prelude: frame ? (go) => frame.open(go) : undefined,
    onProgress(n) {
      markDataEmitted(src);
      src.bytesRead += n;
      if (src.pos !== undefined) src.pos += n;
      dest.onBytes(n);
    },
    onWritable: dest.onWritable,
    shouldContinue: frame ? dest.usable
      : () => sourceObserved(src) === null && pipedTo(src) === dest.stream && dest.usable(),
    onEnd: (outcome) => {
      unguard?.();
      finish(src, dest, frame, limit, outcome, normalRead, served);
    },
  }, [src, dest.stream]);
  if (!transfer) refuse(src, dest.stream, 'could not duplicate fds', normalRead);
  else if (transfer.active) unguard = dest.guard ? dest.guard(transfer) : guardDestination(dest.stream, transfer);
}

function finish(src: FileSource, dest: Destination, frame: Frame | null, limit: number, outcome: Outcome,
  normalRead: () => void, served: ReturnType<typeof pipeListener>): void {
  const base = { source: src, destination: dest.stream };
  const moved = outcome.kind === 'declined' ? 0 : outcome.bytes;
  if ((outcome.kind === 'done' || outcome.kind === 'stopped') && moved > 0) {
    const shrank = shrankUnderKernel(src, dest);
    if (shrank) {
      publish({ ...base, path: outcome.op ?? dest.ops[0], reason: 'source shrank below the bytes sent', bytes: moved, error: shrank });
      (dest.discard ?? dest.fail ?? ((e: Error) => dest.stream.destroy(e)))(shrank);
      // As after a failed write: the destination's 'error' unpipes us first.
      setImmediate(() => { if (!src.destroyed) normalRead(); });
      return;
    }
  }
  // A frame the kernel did not fill has ended the destination (see Frame).
  const framed = frame ? frame.close(moved) : true;
  switch (outcome.kind) {
    case 'done':
      publish({ ...base, path: outcome.op, reason: !framed ? 'file shorter than its frame' : outcome.eof ? 'end of file' : 'end reached', bytes: outcome.bytes });
      if (src.destroyed) return;
      // The source's own end, or only the frame's: the normal read goes on
      // from there (and finds the end of file, or what the file gained).
      // Whoever started watching during the last chunk sees it first.
      replayUnseen(src, served, frame ? 0 : outcome.lastChunk, () => {
        if (framed && (outcome.eof || outcome.bytes >= limit)) src.push(null);
        else normalRead();
      });
      return;
    case 'stopped':
      publish({ ...base, path: outcome.op ?? dest.ops[0], reason: 'stopped', bytes: outcome.bytes });
      // Paused, unpiped, or someone started watching: the normal read carries
      // on from the exact offset the kernel reached, after the watcher has
      // seen what moved while it came.
      if (!src.destroyed) replayUnseen(src, served, frame ? 0 : outcome.lastChunk, normalRead);
      return;
    case 'declined':
      refuse(src, dest.stream, outcome.reason, () => { if (!src.destroyed) normalRead(); });
      return;
    case 'failed': {
      const error = outcome.side === 'source' ? fsError(outcome.errno, 'read') : dest.writeError(outcome.errno);
      publish({ ...base, path: outcome.op, reason: `${outcome.side} error`, bytes: outcome.bytes, error });
      if (outcome.side === 'source') {
        src.destroy(error);
      } else {
        if (dest.fail) dest.fail(error); else dest.stream.destroy(error);
        // Let the destination's 'error' unpipe us first, as a failed write
        // would, then carry on reading into the (now paused) buffer.
        setImmediate(() => { if (!src.destroyed) normalRead(); });
      }
    }
  }
}

/**
 * sendfile and splice hand the file's page-cache pages to a socket or pipe
 * by reference: what the peer reads later is what those pages hold then. A
 * truncation meanwhile zeroes the cut part of a page still queued (and a
 * file that shrank cannot have meant the bytes past its end), so a file now
 * shorter than the offset the kernel reached means the peer may read zeros
 * in place of bytes it was told were the file's. Returns the error to end
 * the destination with then, or null. One fstat, as at the start. A file
 * shrunk after this check, while its bytes still wait in a socket buffer,
 * is not seen: no check can see that (docs/reliability.md).
 */
function shrankUnderKernel(src: FileSource, dest: Destination): Error | null {
  if (dest.kind === 'file' || src.destroyed || dest.stream.destroyed || typeof src.fd !== 'number') return null;
  // Without `start` the kernel used the fd's own position, which began at 0
  // or later: bytesRead is then a lower bound of the offset reached.
  const reached = src.pos ?? (src.start ?? 0) + src.bytesRead;
  const [err, , , size] = native!.describe(src.fd);
  return err === 0 && size < reached ? sourceShrankError(size, reached) : null;
}
