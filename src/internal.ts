// Not the public API: the one entry through which zerocopy's own benchmarks,
// soak and tests reach internals (README documents what index.ts exports).

export { MAX_POOL_JOBS } from './config';
export * as errnoPolicy from './engine/errno-policy';
export { FileTransfer } from './engine/file-transfer';
export { transferOf } from './engine/lifecycle';
export { SocketTransfer } from './engine/socket-transfer';
export { learnMounts, mountAnswer, parseMountinfo } from './facts/mounts';
export * as nodeInternals from './facts/node-internals';
export * as nodeWrites from './facts/node-writes';
export type { NativeBinding } from './native';
export { native, nativeUnavailableReason } from './native';
export { MAX_IN_LOOP_READ, makeInLoopFs } from './paths/in-loop-fs';
export { MAX_IN_LOOP_PER_TURN } from './paths/loop-budget';
