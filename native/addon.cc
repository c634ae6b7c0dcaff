// Module entry: exposes the thin native surface that src/native.ts loads.
#include <napi.h>
#include <cerrno>
#include <fcntl.h>

#include "args.h"

#include "copy_worker.h"
#include "fd_watcher.h"
#include "syscalls.h"

namespace zerocopy {
namespace {

// Every export checks its arguments first (args.h): a TypeError or RangeError
// for a caller's mistake, before any syscall. What the kernel refuses (a closed
// fd, the wrong kind of file) comes back as an errno, never as an exception.

// describe(fd) -> [errno, type, flags, size]
Napi::Value DescribeJs(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  int fd;
  if (!arg::Fd(info, 0, "fd", &fd)) return env.Undefined();
  FdInfo r = Describe(fd);
  Napi::Array out = Napi::Array::New(env, 4);
  out.Set(0u, Napi::Number::New(env, r.error));
  out.Set(1u, Napi::Number::New(env, r.type));
  out.Set(2u, Napi::Number::New(env, r.flags));
  out.Set(3u, Napi::Number::New(env, static_cast<double>(r.size)));
  return out;
}

// dup(fd) -> new fd (close-on-exec) or -errno
Napi::Value DupJs(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  int fd;
  if (!arg::Fd(info, 0, "fd", &fd)) return env.Undefined();
  return Napi::Number::New(env, DupCloexec(fd));
}

// close(fd) -> 0 or -errno; -EBUSY (fd left open) while an FdWatcher that has
// not been closed holds it: libuv aborts the process when epoll meets a watched
// fd that was closed (see fd_watcher.h).
Napi::Value CloseJs(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  int fd;
  if (!arg::Fd(info, 0, "fd", &fd)) return env.Undefined();
  if (FdWatcher::Watches(fd)) return Napi::Number::New(env, -EBUSY);
  return Napi::Number::New(env, CloseFd(fd));
}

// spliceSync(inFd, outFd, len) -> bytes (0 = end of input) or -errno
Napi::Value SpliceSyncJs(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  int in_fd, out_fd;
  int64_t len;
  if (!arg::Fd(info, 0, "inFd", &in_fd) || !arg::Fd(info, 1, "outFd", &out_fd) ||
      !arg::Length(info, 2, "len", 0, &len)) {
    return env.Undefined();
  }
  return Napi::Number::New(env, static_cast<double>(SpliceOnce(in_fd, out_fd, len)));
}

// makePipe(size) -> [errno, readFd, writeFd, capacity]; size 0 keeps the default
Napi::Value MakePipeJs(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  int64_t size;
  if (!arg::Integer(info, 0, "size", 0, arg::kMaxInt32, &size)) return env.Undefined();
  PipePair p = MakePipe(static_cast<int>(size));
  Napi::Array out = Napi::Array::New(env, 4);
  out.Set(0u, Napi::Number::New(env, p.error));
  out.Set(1u, Napi::Number::New(env, p.read_fd));
  out.Set(2u, Napi::Number::New(env, p.write_fd));
  out.Set(3u, Napi::Number::New(env, p.capacity));
  return out;
}

// bytesReadable(fd) -> bytes or -errno
Napi::Value BytesReadableJs(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  int fd;
  if (!arg::Fd(info, 0, "fd", &fd)) return env.Undefined();
  return Napi::Number::New(env, static_cast<double>(BytesReadable(fd)));
}

// readInto(fd, buffer) -> bytes or -errno (a Buffer, TypedArray or DataView)
Napi::Value ReadIntoJs(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  int fd;
  char* data = nullptr;
  size_t len = 0;
  if (!arg::Fd(info, 0, "fd", &fd) || !arg::Bytes(info, 1, "buffer", &data, &len)) {
    return env.Undefined();
  }
  return Napi::Number::New(env, static_cast<double>(ReadOnce(fd, data, static_cast<int64_t>(len))));
}

Napi::Object Init(Napi::Env env, Napi::Object exports) {
  exports.Set("spliceSync", Napi::Function::New(env, SpliceSyncJs, "spliceSync"));
  exports.Set("makePipe", Napi::Function::New(env, MakePipeJs, "makePipe"));
  exports.Set("bytesReadable", Napi::Function::New(env, BytesReadableJs, "bytesReadable"));
  exports.Set("readInto", Napi::Function::New(env, ReadIntoJs, "readInto"));
  exports.Set("copy", Napi::Function::New(env, Copy, "copy"));
  exports.Set("describe", Napi::Function::New(env, DescribeJs, "describe"));
  exports.Set("dup", Napi::Function::New(env, DupJs, "dup"));
  exports.Set("close", Napi::Function::New(env, CloseJs, "close"));
  exports.Set("FdWatcher", FdWatcher::Init(env));
#ifdef O_APPEND
  exports.Set("O_APPEND", Napi::Number::New(env, O_APPEND));
  exports.Set("O_NONBLOCK", Napi::Number::New(env, O_NONBLOCK));
#endif
  exports.Set("supported", Napi::Boolean::New(env,
#ifdef ZEROCOPY_UNSUPPORTED_OS
      false
#else
      true
#endif
  ));
  return exports;
}

}  // namespace
}  // namespace zerocopy

static Napi::Object InitAddon(Napi::Env env, Napi::Object exports) {
  return zerocopy::Init(env, exports);
}

NODE_API_MODULE(zerocopy, InitAddon)
