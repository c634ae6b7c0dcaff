// pipeline(): Node's own, which calls src.pipe(dst) for each pair — where our
// file streams take the fast path. Sockets are Node's own class, so for each
// socket → fd pair we also offer the flow to the socket-source fast path.
import * as stream from 'node:stream';
import * as streamPromises from 'node:stream/promises';
import { promisify } from 'node:util';
import { adoptAfterPipe, pipeOffers } from './paths/adopt';

type AnyArgs = unknown[];

function isNodeStream(x: unknown): x is stream.Readable & stream.Writable {
  return (
    typeof x === 'object' &&
    x !== null &&
    typeof (x as { on?: unknown }).on === 'function' &&
    (typeof (x as { pipe?: unknown }).pipe === 'function' || typeof (x as { write?: unknown }).write === 'function')
  );
}

function adoptPairs(args: AnyArgs): void {
  const list = (Array.isArray(args[0]) ? args[0] : args).filter(isNodeStream);
  for (let i = 0; i + 1 < list.length; i++) if (!pipeOffers(list[i], list[i + 1])) adoptAfterPipe(list[i], list[i + 1]);
}

export const pipeline = function pipeline(...args: AnyArgs) {
  const result = (stream.pipeline as (...a: AnyArgs) => unknown)(...args);
  adoptPairs(args);
  return result;
} as typeof stream.pipeline;
Object.defineProperty(pipeline, promisify.custom, { value: pipelinePromise });

export function pipelinePromise(...args: AnyArgs): Promise<void> {
  const result = (streamPromises.pipeline as (...a: AnyArgs) => Promise<void>)(...args);
  adoptPairs(args);
  return result;
}
