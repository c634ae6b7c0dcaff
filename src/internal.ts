// Not the public API: the one entry through which zerocopy's own benchmarks,
// soak and tests reach internals (README documents what index.ts exports).
export { native, nativeUnavailableReason } from './native';
export { transferOf } from './fastpath/lifecycle';
