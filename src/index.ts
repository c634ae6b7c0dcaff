export { ReadStream, createReadStream } from './read-stream';
export { WriteStream, createWriteStream } from './write-stream';
export { pipeline } from './pipeline';
export { transferChannel } from './diagnostics';
export type { TransferMessage, TransferPath } from './diagnostics';
export { MIN_FAST_PATH_BYTES } from './fastpath/pipe-from-file';
export { native as _native } from './native';
export { pipeStats, drainPipePool } from './fastpath/pipe-pool';
