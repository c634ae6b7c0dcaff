// What users can see of the fast path: a diagnostics_channel message per
// transfer decision/outcome and per file call that did not run in the event
// loop, and NODE_DEBUG=zerocopy logging.
import * as dc from 'node:diagnostics_channel';
import { debuglog } from 'node:util';

export const debug = debuglog('zerocopy');

/** Published once per pipe() flow: the path taken and what it moved. */
export const transferChannel = dc.channel('zerocopy:transfer');

export type TransferPath = 'sendfile' | 'splice' | 'copy_file_range' | 'normal';

export interface TransferMessage {
  /** The syscall that moved the bytes, or 'normal' when the fast path declined. */
  path: TransferPath;
  /** Why the fast path declined ('normal'), or how a fast transfer ended. */
  reason: string;
  /** Bytes moved by the kernel path (0 for 'normal'). */
  bytes: number;
  source: unknown;
  destination: unknown;
  error?: Error;
}

/**
 * Says what one flow did. The message is built here, with one shape, and only
 * when someone listens: a message spread from a partial object and then grown
 * gets a map of its own on V8 11 (Node 20) every time — maps live in old
 * space, so every flow left garbage there, and the mark-compacts it caused
 * threw away optimized code that then had to be compiled again.
 */
export function publish(
  path: TransferPath,
  reason: string,
  bytes: number,
  source: unknown,
  destination: unknown,
  error?: Error,
): void {
  if (debug.enabled) debug('%s %s bytes=%d%s', path, reason, bytes, error ? ` error=${error.message}` : '');
  if (!transferChannel.hasSubscribers) return;
  const msg: TransferMessage =
    error === undefined
      ? { path, reason, bytes, source, destination }
      : { path, reason, bytes, source, destination, error };
  transferChannel.publish(msg);
}

/** File calls (open, read, close, stat) that went to the threadpool, and with a subscriber those done in the loop. */
export const fileChannel = dc.channel('zerocopy:file');

export interface FileIoMessage {
  op: 'open' | 'read' | 'close' | 'stat';
  /** 'loop': done in the event loop; 'threadpool': handed to Node's fs. */
  where: 'loop' | 'threadpool';
  reason: string;
  fd?: number;
  path?: string;
}

export function noteFileIo(msg: FileIoMessage): void {
  if (debug.enabled) debug('%s %s: %s%s', msg.op, msg.where, msg.reason, msg.path ? ` '${msg.path}'` : '');
  if (fileChannel.hasSubscribers) fileChannel.publish(msg);
}
