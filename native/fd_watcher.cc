#include "fd_watcher.h"

namespace zerocopy {

Napi::Function FdWatcher::Init(Napi::Env env) {
  return DefineClass(env, "FdWatcher",
                     {InstanceMethod<&FdWatcher::Start>("start"),
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
  auto* self = static_cast<FdWatcher*>(handle->data);
  if (self != nullptr) self->Fire(status, events);
}

void FdWatcher::Fire(int status, int events) {
  if (!armed_ || callback_.IsEmpty()) return;
  Napi::Env env = Env();
  Napi::HandleScope scope(env);
  // The callback may stop() (dropping callback_) or close() this watcher: call
  // through a local reference that outlives it.
  Napi::Function cb = callback_.Value();
  cb.MakeCallback(env.Global(), {Napi::Number::New(env, status), Napi::Number::New(env, events)});
}

void FdWatcher::Disarm() {
  if (armed_ && handle_ != nullptr) uv_poll_stop(handle_);
  armed_ = false;
}

Napi::Value FdWatcher::Start(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (handle_ == nullptr || info.Length() < 2 || !info[0].IsNumber() || !info[1].IsFunction()) {
    Napi::Error::New(env, "FdWatcher.start(events, cb): closed or bad arguments")
        .ThrowAsJavaScriptException();
    return env.Undefined();
  }
  int events = info[0].As<Napi::Number>().Int32Value() & (UV_READABLE | UV_WRITABLE | UV_DISCONNECT);
  if (armed_ && events == events_) {  // already watching for exactly this: nothing to change
    callback_ = Napi::Persistent(info[1].As<Napi::Function>());
    return Napi::Number::New(env, 0);
  }
  int rc = uv_poll_start(handle_, events, OnPoll);
  if (rc != 0) return Napi::Number::New(env, rc);
  if (!armed_) Ref();  // keep this object alive while the loop may call back into it
  armed_ = true;
  events_ = events;
  callback_ = Napi::Persistent(info[1].As<Napi::Function>());
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
