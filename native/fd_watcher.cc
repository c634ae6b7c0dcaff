#include "fd_watcher.h"

namespace zerocopy {

Napi::Function FdWatcher::Init(Napi::Env env) {
  return DefineClass(env, "FdWatcher",
                     {InstanceMethod<&FdWatcher::Wait>("wait"),
                      InstanceMethod<&FdWatcher::Stop>("stop"),
                      InstanceMethod<&FdWatcher::Close>("close")});
}

FdWatcher::FdWatcher(const Napi::CallbackInfo& info) : Napi::ObjectWrap<FdWatcher>(info) {
  Napi::Env env = info.Env();
  if (info.Length() < 1 || !info[0].IsNumber()) {
    Napi::TypeError::New(env, "FdWatcher(fd)").ThrowAsJavaScriptException();
    return;
  }
  uv_loop_t* loop = nullptr;
  if (napi_get_uv_event_loop(env, &loop) != napi_ok || loop == nullptr) {
    Napi::Error::New(env, "FdWatcher: no event loop").ThrowAsJavaScriptException();
    return;
  }
  auto* handle = new uv_poll_t;
  int rc = uv_poll_init(loop, handle, info[0].As<Napi::Number>().Int32Value());
  if (rc != 0) {
    delete handle;
    Napi::Error err = Napi::Error::New(env, uv_strerror(rc));
    err.Set("code", Napi::String::New(env, uv_err_name(rc)));
    err.Set("errno", Napi::Number::New(env, rc));
    err.Set("syscall", Napi::String::New(env, "uv_poll_init"));
    err.ThrowAsJavaScriptException();
    return;
  }
  handle->data = this;
  handle_ = handle;
}

FdWatcher::~FdWatcher() { CloseHandle(); }

void FdWatcher::OnPoll(uv_poll_t* handle, int status, int events) {
  static_cast<FdWatcher*>(handle->data)->Fire(status, events);
}

void FdWatcher::Fire(int status, int events) {
  // One-shot: stop before calling back, so a level-triggered fd cannot fire again.
  Disarm();
  Napi::Env env = Env();
  Napi::HandleScope scope(env);
  Napi::FunctionReference cb = std::move(callback_);
  Unref();  // taken by Wait()
  if (!cb.IsEmpty()) {
    cb.MakeCallback(env.Global(), {Napi::Number::New(env, status), Napi::Number::New(env, events)});
  }
}

void FdWatcher::Disarm() {
  if (armed_ && handle_ != nullptr) uv_poll_stop(handle_);
  armed_ = false;
}

Napi::Value FdWatcher::Wait(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (handle_ == nullptr || armed_ || info.Length() < 2 || !info[0].IsNumber() ||
      !info[1].IsFunction()) {
    Napi::Error::New(env, "FdWatcher.wait(events, cb): closed, busy or bad arguments")
        .ThrowAsJavaScriptException();
    return env.Undefined();
  }
  int events = info[0].As<Napi::Number>().Int32Value() & (UV_READABLE | UV_WRITABLE | UV_DISCONNECT);
  int rc = uv_poll_start(handle_, events, OnPoll);
  if (rc != 0) return Napi::Number::New(env, rc);
  armed_ = true;
  callback_ = Napi::Persistent(info[1].As<Napi::Function>());
  Ref();  // keep this object alive while the loop may call back into it
  return Napi::Number::New(env, 0);
}

Napi::Value FdWatcher::Stop(const Napi::CallbackInfo& info) {
  if (armed_) {
    Disarm();
    callback_.Reset();
    Unref();
  }
  return info.Env().Undefined();
}

Napi::Value FdWatcher::Close(const Napi::CallbackInfo& info) {
  Stop(info);
  CloseHandle();
  return info.Env().Undefined();
}

void FdWatcher::CloseHandle() {
  if (handle_ == nullptr) return;
  uv_poll_t* handle = handle_;
  handle_ = nullptr;
  handle->data = nullptr;
  // uv_close takes the fd out of epoll now; the memory goes in the close callback.
  uv_close(reinterpret_cast<uv_handle_t*>(handle),
           [](uv_handle_t* h) { delete reinterpret_cast<uv_poll_t*>(h); });
}

}  // namespace zerocopy
