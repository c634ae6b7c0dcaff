#pragma once
#include <napi.h>

namespace zerocopy {
// copy(op, inFd, outFd, inOffset, outOffset, len, cb(errno, bytes)):
// one bounded CopyLoop on the libuv threadpool. op 0-2 (syscalls.h Op), fds
// 0..2**31-1, offsets -1 (the file position) or 0..2**53-1, len 0..2**53-1;
// anything else throws before a job is queued. cb runs once.
Napi::Value Copy(const Napi::CallbackInfo& info);
}  // namespace zerocopy
