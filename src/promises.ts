// zerocopy/promises: the stream/promises API with our streams' fast paths.

import type * as streamPromises from 'node:stream/promises';
import { pipelinePromise } from './pipeline';

export const pipeline = pipelinePromise as typeof streamPromises.pipeline;
export { finished } from 'node:stream/promises';
