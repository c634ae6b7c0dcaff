// A 'data' listener (or a second pipe(), or setEncoding()) that arrives while
// a kernel chunk is in flight would, on Node's path, see every byte from the
// stream's bytesRead at that moment on: the reads that complete after it
// emit to it. The chunk's bytes counted only when the chunk returned, so at
// the moment the listener came bytesRead still stood at the chunk's start —
// but the bytes themselves are already at the destination, and no read
// emitted them. This gives them to the listeners that came: read back from
// the file (on the threadpool, as Node's reads are), in reads of the
// stream's highWaterMark, decoded if an encoding was set, emitted to every
// 'data' listener except the pipe that the kernel already served.
import * as fs from 'node:fs';
import type { Readable } from 'node:stream';
import type { FileSource } from '../facts/source';

type Listener = (chunk: unknown) => void;

// Streams given an fd by the caller without `start`: the fd's file position
// is theirs, not ours to know, so the read-back cannot find the bytes.
const givenFd = new WeakSet<object>();

/** Called by the ReadStream constructor when the caller supplied the fd. */
export function noteGivenFd(src: object): void {
  givenFd.add(src);
}

/** The pipe's own 'data' listener, the one the kernel transfer serves. */
export function pipeListener(src: Readable): Listener | undefined {
  return src.rawListeners('data')[0] as Listener | undefined;
}

/**
 * If listeners other than `served` came while the last `bytes` moved, reads
 * those bytes back and emits them to them, then calls `then`. Otherwise calls
 * `then` at once. A read error destroys the source, as a failing read of
 * Node's would.
 */
export function replayUnseen(src: FileSource, served: Listener | undefined, bytes: number, then: () => void): void {
  if (bytes <= 0 || src.destroyed || typeof src.fd !== 'number') {
    then();
    return;
  }
  if (src.pos === undefined && givenFd.has(src)) {
    then();
    return;
  }
  // unpipe() during the chunk (and maybe pipe() again to the same
  // destination, whose new listener cannot be told from a newcomer's): the
  // destination got the chunk when the kernel moved it, before the unpipe as
  // far as anyone can tell, and must not get it twice.
  if (!served || !src.rawListeners('data').includes(served)) {
    then();
    return;
  }
  const others = (): Listener[] => (src.rawListeners('data') as Listener[]).filter((l) => l !== served);
  if (others().length === 0) {
    then();
    return;
  }
  const fd = src.fd;
  const end = src.pos ?? src.bytesRead; // file offset just past the chunk
  let at = end - bytes;
  const step = src.readableHighWaterMark;
  const next = (): void => {
    if (src.destroyed) return;
    if (at >= end) {
      then();
      return;
    }
    const buf = Buffer.allocUnsafe(Math.min(step, end - at));
    fs.read(fd, buf, 0, buf.length, at, (err, n) => {
      if (src.destroyed) return;
      // Node's own read error, as its _read reports it.
      if (err) {
        src.destroy(err);
        return;
      }
      // The file shrank since the kernel read it.
      if (n === 0) {
        then();
        return;
      }
      at += n;
      emit(src, others(), n === buf.length ? buf : buf.subarray(0, n));
      next();
    });
  };
  next();
}

function emit(src: FileSource, listeners: Listener[], chunk: Buffer): void {
  const decoder = (src as unknown as { _readableState: { decoder?: { write(b: Buffer): string } | null } })
    ._readableState.decoder;
  const out = decoder ? decoder.write(chunk) : chunk;
  if (out.length === 0) return;
  for (const l of listeners) l.call(src, out);
}
