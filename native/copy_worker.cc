#include "copy_worker.h"

#include "syscalls.h"

namespace zerocopy {
namespace {

// Runs one chunk on the threadpool. The caller bounds `len` (a few MiB) so a
// slow disk holds one pool thread for one chunk only, and concurrent transfers
// take turns.
class CopyWorker : public Napi::AsyncWorker {
 public:
  CopyWorker(Napi::Function cb, Op op, int in_fd, int out_fd, int64_t in_off,
             int64_t out_off, int64_t len)
      : Napi::AsyncWorker(cb, "zerocopy:copy"),
        op_(op), in_fd_(in_fd), out_fd_(out_fd), in_off_(in_off),
        out_off_(out_off), len_(len) {}

  void Execute() override {
    result_ = CopyLoop(op_, in_fd_, out_fd_, in_off_, out_off_, len_);
  }

  void OnOK() override {
    Napi::Env env = Env();
    Callback().Call({Napi::Number::New(env, result_.error),
                     Napi::Number::New(env, static_cast<double>(result_.bytes))});
  }

 private:
  Op op_;
  int in_fd_, out_fd_;
  int64_t in_off_, out_off_, len_;
  CopyResult result_{0, 0};
};

}  // namespace

Napi::Value Copy(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() < 7 || !info[6].IsFunction()) {
    Napi::TypeError::New(env, "copy(op, inFd, outFd, inOffset, outOffset, len, cb)")
        .ThrowAsJavaScriptException();
    return env.Undefined();
  }
  for (int i = 0; i < 6; i++) {
    if (!info[i].IsNumber()) {
      Napi::TypeError::New(env, "copy: numeric arguments expected").ThrowAsJavaScriptException();
      return env.Undefined();
    }
  }
  int op = info[0].As<Napi::Number>().Int32Value();
  if (op < 0 || op > 2) {
    Napi::RangeError::New(env, "copy: unknown op").ThrowAsJavaScriptException();
    return env.Undefined();
  }
  auto* worker = new CopyWorker(
      info[6].As<Napi::Function>(), static_cast<Op>(op),
      info[1].As<Napi::Number>().Int32Value(), info[2].As<Napi::Number>().Int32Value(),
      info[3].As<Napi::Number>().Int64Value(), info[4].As<Napi::Number>().Int64Value(),
      info[5].As<Napi::Number>().Int64Value());
  worker->Queue();
  return env.Undefined();
}

}  // namespace zerocopy
