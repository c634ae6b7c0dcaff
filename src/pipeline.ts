// pipeline(): Node's own. It calls src.pipe(dst), which is where our streams
// take the fast path, so nothing needs wrapping; re-exported so users can
// change one import.
import * as stream from 'node:stream';
import * as streamPromises from 'node:stream/promises';

export const pipeline: typeof stream.pipeline = stream.pipeline;
export const pipelinePromise: typeof streamPromises.pipeline = streamPromises.pipeline;
