// The public API: what README documents, nothing more.

export type { Settings } from './config';
export { configure, MIN_FAST_PATH_BYTES, MIN_HTTP_BODY_BYTES, MIN_SPLICED_BODY_BYTES, settings } from './config';
export type { FileIoMessage, TransferMessage, TransferPath } from './diagnostics';
export { fileChannel, transferChannel } from './diagnostics';
export type { TransferStats } from './engine/lifecycle';
export { transferStats } from './engine/lifecycle';
export { drainPipePool, pipeStats } from './engine/pipe-pool';
export { pipeline } from './pipeline';
export { createReadStream, ReadStream } from './streams/read-stream';
export { createWriteStream, WriteStream } from './streams/write-stream';
