// The file-source fast path: called from our ReadStream's _read() when Node's
// pipe() asks for data. Either it takes the flow — moving the bytes in the
// kernel and then ending the stream as a read loop would — or it declines,
// having touched nothing, and the normal read runs.
import type { Writable } from 'node:stream';
import { settings } from '../config';
import { debug, publish, transferChannel } from '../diagnostics';
import { CHUNK_BYTES, FileTransfer, SOCKET_CHUNK_BYTES } from '../engine/file-transfer';
import { guardDestination } from '../engine/guards';
import type { Outcome } from '../engine/outcome';
import { fsError, sourceShrankError } from '../errors';
import { describeDestination } from '../facts/describe-destination';
import type { Destination, Frame } from '../facts/destination';
import { bodyLeft, isOutgoingBody } from '../facts/http-response';
import { markDataEmitted, prepareSocketCounters } from '../facts/node-writes';
import {
  type FileSource,
  fastPath,
  fileSize,
  heldInJavaScript,
  pipedTo,
  sourceFileDecline,
  sourceLimit,
  sourceObserved,
  sourceOffset,
  sourceWatched,
} from '../facts/source';
import { afterDrain, MAX_WAITS } from '../facts/wait';
import type { NativeBinding } from '../native';
import { decline, failDestination, finish as finishFlow } from './finish';
import { pipeListener, replayUnseen } from './replay-unseen';

interface SourceState {
  /** Destination for which the fast path was refused for a reason that will not change. */
  refused: Writable | null;
  /** Destination for which a passing reason to decline was already published. */
  announced: Writable | null;
  waits: number;
}

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
  const known = states.get(src);
  if (known) return known;
  const state: SourceState = { refused: null, announced: null, waits: 0 };
  states.set(src, state);
  return state;
}

/**
 * False for the reads pipeFromFile() would hand straight to Node: a file's
 * first two reads, unless the first is piped to an HTTP response. Asked by
 * _read() before it calls pipeFromFile() (so those reads, every read of a
 * small file, make no closure and take no other look), and by pipeFromFile()
 * itself when it runs again after a wait.
 */
export function readNeedsDecision(src: FileSource): boolean {
  if (src.bytesRead >= 2 * src.readableHighWaterMark) return true;
  if (src.bytesRead !== 0) return false;
  const dest = pipedTo(src);
  return dest !== null && isOutgoingBody(dest);
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
  // The first two reads are always Node's own (readNeedsDecision, asked by
  // _read() before calling, and here again for a call made after a wait: the
  // flow may have changed meanwhile): most files served are small, and for
  // them even the fstat of a decision costs more than it could save. A short
  // read means the file has (almost surely) ended: no decision then either.
  // An HTTP response is the exception: its Content-Length (or the stream's
  // `end`) tells a small body without an fstat, and deciding before the first
  // write lets the kernel carry the whole body.
  if (fresh && !readNeedsDecision(src)) {
    normalRead();
    return;
  }
  const destStream = pipedTo(src);
  // Not a single-destination pipe(): nothing to decide.
  if (!destStream) {
    normalRead();
    return;
  }
  // Before the first two reads are done, only an HTTP response's first read gets here.
  if (src.bytesRead < 2 * src.readableHighWaterMark) {
    const body = Math.min(sourceLimit(src), bodyLeft(destStream, 0));
    if (body < settings.minHttpBodyBytes) {
      // Said, not remembered: no later read asks again (see `states`).
      if (transferChannel.hasSubscribers || debug.enabled)
        decline(src, destStream, `small (${Math.max(body, 0)} bytes)`);
      normalRead();
      return;
    }
  }
  // Looked up, not made: a small body never needs a state of its own.
  if (states.get(src)?.refused === destStream) {
    normalRead();
    return;
  }
  const limit = sourceLimit(src);
  // Node's _read ends the stream here.
  if (limit <= 0) {
    normalRead();
    return;
  }
  const bound = Math.min(limit, bodyLeft(destStream, src.bytesRead));
  if (bound < settings.minFastPathBytes) {
    declineFlow(src, destStream, `small (${Math.max(bound, 0)} bytes)`, 'for good', normalRead);
    return;
  }
  const fp = fastPath();
  if ('off' in fp) {
    declineFlow(src, destStream, fp.off, 'for good', normalRead);
    return;
  }
  const fixed = sourceFileDecline(src);
  if (fixed) {
    declineFlow(src, destStream, fixed, 'for good', normalRead);
    return;
  }
  const binding = fp.on;
  // These may change during the flow (a listener removed): say so once, and
  // ask again at the next read.
  const watched = sourceWatched(src);
  if (watched) {
    declineFlow(src, destStream, watched, 'for now', normalRead);
    return;
  }
  // Source facts next: one fstat, and a small file needs no more.
  const size = fileSize(binding, src.fd as number);
  if (size === null) {
    declineFlow(src, destStream, 'source is not a regular file', 'for good', normalRead);
    return;
  }
  const expected = Math.min(limit, size - sourceOffset(src));
  if (expected < settings.minFastPathBytes) {
    declineFlow(src, destStream, `small (${Math.max(expected, 0)} bytes)`, 'for good', normalRead);
    return;
  }

  const facts = describeDestination(binding, destStream);
  if (facts.kind === 'declined') {
    declineFlow(src, destStream, facts.reason, 'for good', normalRead);
    return;
  }
  // Opening, connecting, an HTTP response queued behind another: Node's
  // pipe() reads ahead meanwhile, and so do we.
  if (facts.kind === 'notYet' && facts.readAhead) {
    declineFlow(src, destStream, facts.reason, 'for now', normalRead);
    return;
  }
  // Bytes JavaScript already holds go first: keep this read pending (so
  // nothing new is read) while Node's flow writes them out, then decide again
  // in a turn of our own (see `fresh` above).
  const held =
    facts.kind === 'notYet'
      ? facts.reason
      : (heldInJavaScript(src, destStream) ?? (fresh ? null : 'inside the read call'));
  if (held) {
    const state = sourceState(src);
    if (++state.waits > MAX_WAITS) {
      state.waits = 0;
      normalRead();
      return;
    }
    const again = (): void => {
      if (!src.destroyed) pipeFromFile(src, normalRead, true);
    };
    if (facts.kind === 'notYet') facts.wait(() => setImmediate(again));
    else afterDrain(destStream, again);
    return;
  }
  const state = states.get(src);
  if (state) state.waits = 0;
  if (facts.kind === 'ready') start(binding, src, facts.dest, limit, expected, normalRead);
}

/**
 * The normal read runs, and the reason is said. 'for good': the reason will
 * not change for this destination, so no later read asks again. 'for now':
 * it may pass (a listener removed), so it is said once per destination and
 * the next read asks again.
 */
function declineFlow(
  src: FileSource,
  dest: Writable,
  reason: string,
  how: 'for good' | 'for now',
  normalRead: () => void,
): void {
  const state = sourceState(src);
  if (how === 'for good') {
    state.refused = dest;
    decline(src, dest, reason);
  } else if (state.announced !== dest) {
    state.announced = dest;
    decline(src, dest, reason);
  }
  normalRead();
}

// `limit`: what the source may still read (its `end`); `expected`: what the
// file holds of that now, by fstat.
function start(
  binding: NativeBinding,
  src: FileSource,
  dest: Destination,
  limit: number,
  expected: number,
  normalRead: () => void,
): void {
  // A framing destination (a chunked HTTP body) promises `expected` bytes up
  // front: once its head is out only the destination going away may stop the
  // transfer, and bytes the file gains meanwhile go by the normal path after.
  const frame = dest.openFrame?.(expected) ?? null;
  const served = pipeListener(src);
  let unguard: (() => void) | null = null;
  const transfer = FileTransfer.start(
    binding,
    {
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
      shouldContinue: frame
        ? dest.usable
        : () => sourceObserved(src) === null && pipedTo(src) === dest.stream && dest.usable(),
      onEnd: (outcome) => {
        unguard?.();
        finish(binding, src, dest, frame, limit, outcome, normalRead, served);
      },
    },
    [src, dest.stream],
  );
  if (!transfer) declineFlow(src, dest.stream, 'could not duplicate fds', 'for good', normalRead);
  else if (transfer.active) {
    prepareSocketCounters(dest.stream);
    unguard = dest.guard ? dest.guard(transfer) : guardDestination(dest.stream, transfer);
  }
}

function finish(
  binding: NativeBinding,
  src: FileSource,
  dest: Destination,
  frame: Frame | null,
  limit: number,
  outcome: Outcome,
  normalRead: () => void,
  served: ReturnType<typeof pipeListener>,
): void {
  const moved = outcome.kind === 'declined' ? 0 : outcome.bytes;
  if ((outcome.kind === 'ended' || outcome.kind === 'stopped') && moved > 0) {
    const shrank = shrankUnderKernel(binding, src, dest);
    if (shrank) {
      publish(outcome.op ?? dest.ops[0], 'source shrank below the bytes sent', moved, src, dest.stream, shrank);
      if (dest.discard) dest.discard(shrank);
      else failDestination(dest, shrank);
      // As after a failed write: the destination's 'error' unpipes us first.
      setImmediate(() => {
        if (!src.destroyed) normalRead();
      });
      return;
    }
  }
  // A frame the kernel did not fill has ended the destination (see Frame).
  const framed = frame ? frame.close(moved) : true;
  // Whoever started watching during the last chunk sees it first (a frame's
  // bytes were promised whole: nobody may start watching them).
  const unseen = (o: { lastChunk: number }): number => (frame ? 0 : o.lastChunk);
  finishFlow(
    {
      source: src,
      dest,
      readError: (errno) => fsError(errno, 'read'),
      endReason: (o) => (!framed ? 'file shorter than its frame' : o.eof ? 'end of file' : 'end reached'),
      ended(o) {
        if (src.destroyed) return;
        // The source's own end, or only the frame's: the normal read goes on
        // from there (and finds the end of file, or what the file gained).
        replayUnseen(src, served, unseen(o), () => {
          if (framed && (o.eof || o.bytes >= limit)) src.push(null);
          else normalRead();
        });
      },
      // Paused, unpiped, or someone started watching: the normal read carries
      // on from the exact offset the kernel reached, after the watcher has
      // seen what moved while it came.
      stopped(o) {
        if (!src.destroyed) replayUnseen(src, served, unseen(o), normalRead);
      },
      declined() {
        sourceState(src).refused = dest.stream;
        if (!src.destroyed) normalRead();
      },
      readOn() {
        if (!src.destroyed) normalRead();
      },
    },
    outcome,
  );
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
function shrankUnderKernel(binding: NativeBinding, src: FileSource, dest: Destination): Error | null {
  if (dest.kind === 'file' || src.destroyed || dest.stream.destroyed || typeof src.fd !== 'number') return null;
  const reached = sourceOffset(src);
  const size = fileSize(binding, src.fd);
  return size !== null && size < reached ? sourceShrankError(size, reached) : null;
}
