// May the bytes of this flow skip JavaScript right now? Only when nothing but
// pipe() itself would observe them. Each check returns the reason to decline,
// or null.
import type * as fs from 'node:fs';
import type { Readable, Writable } from 'node:stream';
import { settings } from '../config';
import { native, nativeUnavailableReason } from '../native';
import { hasCustomFs, readableState } from './node-internals';

export function globalDecline(): string | null {
  if (settings.disabled) return 'ZEROCOPY_DISABLE';
  if (!native) return nativeUnavailableReason || 'no native addon';
  return null;
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
export function flowBusy(src: Readable, dest: Writable): string | null {
  const st = readableState(src)!;
  if (st.length > 0) return 'source has buffered data';
  if (st.flowing !== true) return 'source paused';
  if (dest.writableLength > 0) return 'destination write queue';
  return null;
}

/** sourceWatched, and nothing held in JavaScript: the chunk-boundary check. */
export function sourceObserved(src: Readable): string | null {
  return sourceWatched(src) ?? flowBusy(src, readableState(src)!.pipes[0]);
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
