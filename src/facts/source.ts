// What a source is, and may the bytes of its flow skip JavaScript right now?
// Only when nothing but pipe() itself would observe them. Each check returns
// the reason to decline, or null; the fstat of a source is made here, once.
import type * as fs from 'node:fs';
import type * as net from 'node:net';
import type { Readable, Writable } from 'node:stream';
import { settings } from '../config';
import { FileType, type NativeBinding, native, nativeUnavailableReason } from '../native';
import { hasCustomFs, isTlsSocket, readableState, socketFd, socketHasUserBuffer } from './node-internals';

/** The fs.ReadStream fields Node's own _read() uses; ours keeps them true. */
export interface FileSource extends fs.ReadStream {
  fd: number | null;
  pos?: number;
  start?: number;
  end: number;
}

/** The addon's binding when the fast path is on here, else why it is off. */
export type FastPath = { on: NativeBinding } | { off: string };

// Made once: asked at every decision.
const ON: FastPath | null = native ? { on: native } : null;
const DISABLED: FastPath = { off: 'ZEROCOPY_DISABLE' };
const NO_ADDON: FastPath = { off: nativeUnavailableReason || 'no native addon' };

export function fastPath(): FastPath {
  if (settings.disabled) return DISABLED;
  return ON ?? NO_ADDON;
}

/**
 * Someone besides pipe() reads the source: another destination, a 'data' or
 * 'readable' listener, an encoding. Checked when the flow starts and at every
 * chunk boundary.
 */
export function sourceWatched(src: Readable): string | null {
  const st = readableState(src);
  if (!st) return 'unknown readable state';
  if (src.destroyed) return 'source destroyed';
  if (st.pipes.length !== 1) return st.pipes.length === 0 ? 'not piped' : 'several destinations';
  if (st.objectMode) return 'source in object mode';
  if (st.encoding) return 'source has an encoding';
  if (src.listenerCount('data') !== 1) return "extra 'data' listener";
  if (src.listenerCount('readable') !== 0) return "'readable' listener";
  return null;
}

/**
 * Bytes JavaScript holds for this flow — in the source's buffer, in the
 * destination's queue — or a flow held back by backpressure: they must go
 * through first. Null when the kernel may take over right now.
 */
export function heldInJavaScript(src: Readable, dest: Writable): string | null {
  const st = readableState(src);
  if (!st) return 'unknown readable state';
  if (st.length > 0) return 'source has buffered data';
  if (st.flowing !== true) return 'source paused';
  if (dest.writableLength > 0) return 'destination write queue';
  return null;
}

/** sourceWatched, and nothing held in JavaScript: the chunk-boundary check. */
export function sourceObserved(src: Readable): string | null {
  const watched = sourceWatched(src);
  if (watched) return watched;
  const dest = pipedTo(src);
  return dest ? heldInJavaScript(src, dest) : 'not piped';
}

export function pipedTo(src: Readable): Writable | null {
  const st = readableState(src);
  return st && st.pipes.length === 1 ? st.pipes[0] : null;
}

export function sourceFileDecline(src: fs.ReadStream): string | null {
  if (hasCustomFs(src)) return 'source has a custom fs';
  const fd = (src as unknown as { fd: unknown }).fd;
  if (typeof fd !== 'number' || fd < 0) return 'source has no fd';
  return null;
}

/**
 * What the source may still read: Node's own _read() bound. `end` is
 * inclusive; without `start` the stream reads from the fd's current position
 * and counts with bytesRead.
 */
export function sourceLimit(src: FileSource): number {
  return src.pos !== undefined ? src.end - src.pos + 1 : src.end - src.bytesRead + 1;
}

/**
 * The file offset the stream has reached. Without `start` the kernel uses the
 * fd's own position, which began at 0 or later: bytesRead is then a lower
 * bound of it.
 */
export function sourceOffset(src: FileSource): number {
  return src.pos ?? (src.start ?? 0) + src.bytesRead;
}

/** The file's size by one fstat, or null if the fd is not a regular file (or fstat failed). */
export function fileSize(binding: NativeBinding, fd: number): number | null {
  const [err, type, , size] = binding.describe(fd);
  return err === 0 && type === FileType.file ? size : null;
}

/** A socket or pipe source the kernel may read: its fd and whether it is a pipe (spliced directly). */
export type SocketSourceFacts = { fd: number; direct: boolean } | { declined: string };

/** Why a socket source's bytes are not the kernel's to take, whatever happens later; or null. */
export function socketSourceDecline(src: net.Socket): string | null {
  if (isTlsSocket(src)) return 'TLS socket';
  if (socketHasUserBuffer(src)) return 'source reads into a user buffer';
  return null;
}

/** The kernel side of a connected socket or pipe source: its fd, by one fstat. */
export function describeSocketSource(binding: NativeBinding, src: net.Socket): SocketSourceFacts {
  const fd = socketFd(src);
  if (fd < 0) return { declined: 'source has no fd' };
  const [err, type, flags] = binding.describe(fd);
  if (err !== 0 || (type !== FileType.socket && type !== FileType.fifo))
    return { declined: 'source is not a socket or pipe' };
  if (type === FileType.socket && !(flags & binding.O_NONBLOCK)) return { declined: 'source socket is blocking' };
  return { fd, direct: type === FileType.fifo };
}
