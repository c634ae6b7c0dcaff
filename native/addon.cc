// Module entry: exposes the thin native surface that src/native.ts loads.
#include <napi.h>
#include <cerrno>
#include <fcntl.h>

#include "args.h"

#include "cached_io.h"
#include "copy_worker.h"
#include "fd_watcher.h"
#include "relay_worker.h"
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

// The fixed-size scratch array (a Float64Array) the cached-I/O calls write
// their second answers into, so the event-loop path allocates nothing per call.
bool Scratch(const Napi::CallbackInfo& info, size_t i, size_t need, double** out) {
  Napi::Value v = info[i];
  if (v.IsTypedArray() && v.As<Napi::TypedArray>().TypedArrayType() == napi_float64_array &&
      v.As<Napi::TypedArray>().ElementLength() >= need) {
    *out = v.As<Napi::Float64Array>().Data();
    return true;
  }
  return arg::ThrowType(info, i, "out", need == 1 ? "a Float64Array" : "a Float64Array of 2 or more");
}

bool PathString(const Napi::CallbackInfo& info, size_t i, std::string* out) {
  if (!info[i].IsString()) return arg::ThrowType(info, i, "path", "of type string");
  *out = info[i].As<Napi::String>().Utf8Value();
  if (out->find('\0') != std::string::npos) return arg::ThrowType(info, i, "path", "without null bytes");
  return true;
}

// lookupCached(path, out) -> O_PATH fd or -errno; out = [mountId, isRegular]
Napi::Value LookupCachedJs(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  std::string path;
  double* out;
  if (!PathString(info, 0, &path) || !Scratch(info, 1, 2, &out)) return env.Undefined();
  CachedLookup r = LookupCached(path.c_str());
  out[0] = static_cast<double>(r.mnt_id);
  out[1] = r.type;
  return Napi::Number::New(env, r.path_fd);
}

// reopenCached(path, pathFd) -> fd or -errno; pathFd is always closed
Napi::Value ReopenCachedJs(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  std::string path;
  int path_fd;
  if (!PathString(info, 0, &path) || !arg::Fd(info, 1, "pathFd", &path_fd)) return env.Undefined();
  return Napi::Number::New(env, ReopenCached(path.c_str(), path_fd));
}

// readNowait(fd, buffer, offset, length, position, out) -> bytes or -errno;
// on -EAGAIN out[0] = bytes read (from the page cache) before it
Napi::Value ReadNowaitJs(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  int fd;
  char* data = nullptr;
  size_t size = 0;
  int64_t offset, length, position;
  double* out;
  if (!arg::Fd(info, 0, "fd", &fd) || !arg::Bytes(info, 1, "buffer", &data, &size) ||
      !arg::Length(info, 2, "offset", 0, &offset) || !arg::Length(info, 3, "length", 0, &length) ||
      !arg::Integer(info, 4, "position", -1, static_cast<int64_t>(arg::kMaxSafeInteger), &position) ||
      !Scratch(info, 5, 1, &out)) {
    return env.Undefined();
  }
  if (static_cast<uint64_t>(offset) + static_cast<uint64_t>(length) > size) {
    arg::ThrowCoded(Napi::RangeError::New(env, "The value of \"length\" is out of range."), "ERR_OUT_OF_RANGE");
    return env.Undefined();
  }
  int64_t partial = 0;
  int64_t r = ReadNowait(fd, data + offset, length, position, &partial);
  out[0] = static_cast<double>(partial);
  return Napi::Number::New(env, static_cast<double>(r));
}

Napi::Object Init(Napi::Env env, Napi::Object exports) {
  exports.Set("spliceSync", Napi::Function::New(env, SpliceSyncJs, "spliceSync"));
  exports.Set("makePipe", Napi::Function::New(env, MakePipeJs, "makePipe"));
  exports.Set("bytesReadable", Napi::Function::New(env, BytesReadableJs, "bytesReadable"));
  exports.Set("readInto", Napi::Function::New(env, ReadIntoJs, "readInto"));
  exports.Set("copy", Napi::Function::New(env, Copy, "copy"));
  exports.Set("relay", Napi::Function::New(env, RelayJs, "relay"));
  exports.Set("describe", Napi::Function::New(env, DescribeJs, "describe"));
  exports.Set("dup", Napi::Function::New(env, DupJs, "dup"));
  exports.Set("close", Napi::Function::New(env, CloseJs, "close"));
  exports.Set("lookupCached", Napi::Function::New(env, LookupCachedJs, "lookupCached"));
  exports.Set("reopenCached", Napi::Function::New(env, ReopenCachedJs, "reopenCached"));
  exports.Set("readNowait", Napi::Function::New(env, ReadNowaitJs, "readNowait"));
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
