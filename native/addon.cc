// Module entry: exposes the thin native surface that src/native.ts loads.
#include <napi.h>
#include <fcntl.h>

#include "copy_worker.h"
#include "fd_watcher.h"
#include "syscalls.h"

namespace zerocopy {
namespace {

int FdArg(const Napi::CallbackInfo& info, const char* name) {
  if (info.Length() < 1 || !info[0].IsNumber()) {
    Napi::TypeError::New(info.Env(), std::string(name) + "(fd): fd must be a number")
        .ThrowAsJavaScriptException();
    return -1;
  }
  return info[0].As<Napi::Number>().Int32Value();
}

// describe(fd) -> [errno, type, flags, size]
Napi::Value DescribeJs(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  int fd = FdArg(info, "describe");
  if (env.IsExceptionPending()) return env.Undefined();
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
  int fd = FdArg(info, "dup");
  if (env.IsExceptionPending()) return env.Undefined();
  return Napi::Number::New(env, DupCloexec(fd));
}

// close(fd) -> 0 or -errno
Napi::Value CloseJs(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  int fd = FdArg(info, "close");
  if (env.IsExceptionPending()) return env.Undefined();
  return Napi::Number::New(env, CloseFd(fd));
}

int IntArg(const Napi::CallbackInfo& info, size_t i) {
  return info.Length() > i && info[i].IsNumber() ? info[i].As<Napi::Number>().Int32Value() : -1;
}

double NumArg(const Napi::CallbackInfo& info, size_t i) {
  return info.Length() > i && info[i].IsNumber() ? info[i].As<Napi::Number>().DoubleValue() : -1;
}

// spliceSync(inFd, outFd, len) -> bytes (0 = end of input) or -errno
Napi::Value SpliceSyncJs(const Napi::CallbackInfo& info) {
  return Napi::Number::New(info.Env(), static_cast<double>(
      SpliceOnce(IntArg(info, 0), IntArg(info, 1), static_cast<int64_t>(NumArg(info, 2)))));
}

// makePipe(size) -> [errno, readFd, writeFd, capacity]
Napi::Value MakePipeJs(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  PipePair p = MakePipe(IntArg(info, 0));
  Napi::Array out = Napi::Array::New(env, 4);
  out.Set(0u, Napi::Number::New(env, p.error));
  out.Set(1u, Napi::Number::New(env, p.read_fd));
  out.Set(2u, Napi::Number::New(env, p.write_fd));
  out.Set(3u, Napi::Number::New(env, p.capacity));
  return out;
}

// bytesReadable(fd) -> bytes or -errno
Napi::Value BytesReadableJs(const Napi::CallbackInfo& info) {
  return Napi::Number::New(info.Env(), static_cast<double>(BytesReadable(IntArg(info, 0))));
}

// readInto(fd, buffer) -> bytes or -errno
Napi::Value ReadIntoJs(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() < 2 || !info[1].IsBuffer()) {
    Napi::TypeError::New(env, "readInto(fd, buffer)").ThrowAsJavaScriptException();
    return env.Undefined();
  }
  auto buf = info[1].As<Napi::Buffer<char>>();
  return Napi::Number::New(env, static_cast<double>(
      ReadOnce(IntArg(info, 0), buf.Data(), static_cast<int64_t>(buf.Length()))));
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
