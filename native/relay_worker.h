#pragma once
#include <napi.h>

namespace zerocopy {
// relay(inFd, pipeReadFd, pipeWriteFd, outFd, outOffset, inPipe, pipeCapacity,
//       take, budget, cb(errno, side, received, delivered)):
// one bounded Relay (syscalls.h) on the libuv threadpool. fds 0..2**31-1,
// outOffset -1 (the file position) or 0..2**53-1, the counts 0..2**53-1
// (pipeCapacity at least 1); anything else throws before a job is queued.
// side: 0 none (take or budget reached), 1 the source, 2 the destination.
// cb runs once.
Napi::Value RelayJs(const Napi::CallbackInfo& info);
}  // namespace zerocopy
