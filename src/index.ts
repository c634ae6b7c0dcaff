// The public API: what README documents, nothing more.
export { ReadStream, createReadStream } from './streams/read-stream';
export { WriteStream, createWriteStream } from './streams/write-stream';
export { pipeline } from './pipeline';
export { transferChannel } from './diagnostics';
export type { TransferMessage, TransferPath } from './diagnostics';
export { MIN_FAST_PATH_BYTES, configure, settings } from './config';
export type { Settings } from './config';
export { pipeStats, drainPipePool } from './engine/pipe-pool';
export { transferStats } from './engine/lifecycle';
export type { TransferStats } from './engine/lifecycle';
