// zerocopy/promises: the stream/promises API with our streams' fast paths.
export { pipelinePromise as pipeline } from './pipeline';
export { finished } from 'node:stream/promises';
