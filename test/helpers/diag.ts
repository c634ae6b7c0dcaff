// Records the zerocopy:transfer diagnostics messages a test produces.
import * as dc from 'node:diagnostics_channel';
import type { TransferMessage } from '../../src/diagnostics';

export function recordTransfers(): { messages: TransferMessage[]; stop(): void } {
  const messages: TransferMessage[] = [];
  const listener = (m: unknown): void => {
    messages.push(m as TransferMessage);
  };
  dc.subscribe('zerocopy:transfer', listener);
  return { messages, stop: () => dc.unsubscribe('zerocopy:transfer', listener) };
}
