#pragma once
#include <napi.h>

namespace zerocopy {
// copy(op, inFd, outFd, inOffset, outOffset, len, cb(errno, bytes)):
// one bounded CopyLoop on the libuv threadpool.
Napi::Value Copy(const Napi::CallbackInfo& info);
}  // namespace zerocopy
