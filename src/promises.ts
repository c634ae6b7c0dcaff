// zerocopy/promises: the stream/promises API with our streams' fast paths.
import { pipelinePromise } from './pipeline';
import type * as streamPromises from 'node:stream/promises';

export const pipeline = pipelinePromise as typeof streamPromises.pipeline;
export { finished } from 'node:stream/promises';
