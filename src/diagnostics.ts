// What users can see of the fast path: a diagnostics_channel message per
// transfer decision/outcome, NODE_DEBUG=zerocopy logging, and the kill switch.
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

export function publish(msg: TransferMessage): void {
  if (debug.enabled)
    debug('%s %s bytes=%d%s', msg.path, msg.reason, msg.bytes, msg.error ? ` error=${msg.error.message}` : '');
  if (transferChannel.hasSubscribers) transferChannel.publish(msg);
}
