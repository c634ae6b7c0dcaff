#include "fd_watcher.h"

#include <mutex>
#include <unordered_map>

#include "args.h"
#include "syscalls.h"

namespace zerocopy {

// The uv handle and what closing it needs, apart from the JS object: the close
// callback and the teardown hook may run after the FdWatcher is gone.
struct Poll {
  uv_poll_t handle;  // first member: the handle's address is the Poll's
  int fd = -1;
  napi_async_cleanup_hook_handle hook = nullptr;
  FdWatcher* owner = nullptr;  // cleared when the owner lets go
};

namespace {

// Marks objects made by this constructor, so a method called on anything else
// (another addon's wrapped object included) is a TypeError, not a bad cast.
const napi_type_tag kTypeTag = {0x7a65726f636f7079ULL, 0x6664776174636872ULL};

// fds held by open watchers, process-wide: Workers share one fd table.
std::mutex watched_mutex;
std::unordered_map<int, int> watched;

void Hold(int fd) {
  std::lock_guard<std::mutex> lock(watched_mutex);
  watched[fd]++;
}

void Release(int fd) {
  std::lock_guard<std::mutex> lock(watched_mutex);
  auto it = watched.find(fd);
  if (it != watched.end() && --it->second == 0) watched.erase(it);
}

void OnClosed(uv_handle_t* h) {
  Poll* p = reinterpret_cast<Poll*>(h);
  if (p->hook != nullptr) napi_remove_async_cleanup_hook(p->hook);
  delete p;
}

// uv_close takes the fd out of epoll now; the memory goes in OnClosed.
void ClosePoll(Poll* p) {
  p->owner = nullptr;
  Release(p->fd);
  uv_close(reinterpret_cast<uv_handle_t*>(&p->handle), OnClosed);
}

}  // namespace

bool FdWatcher::Watches(int fd) {
  std::lock_guard<std::mutex> lock(watched_mutex);
  return watched.count(fd) != 0;
}

Napi::Function FdWatcher::Init(Napi::Env env) {
  // Plain functions on the prototype rather than InstanceMethod: each checks its
  // receiver (Self) before treating it as a watcher.
  Napi::Function ctor = DefineClass(env, "FdWatcher", {});
  Napi::Object proto = ctor.Get("prototype").As<Napi::Object>();
  proto.DefineProperties({
      Napi::PropertyDescriptor::Function(env, proto, "start", StartJs, napi_default_method),
      Napi::PropertyDescriptor::Function(env, proto, "stop", StopJs, napi_default_method),
      Napi::PropertyDescriptor::Function(env, proto, "close", CloseJs, napi_default_method)});
  return ctor;
}

FdWatcher::FdWatcher(const Napi::CallbackInfo& info) : Napi::ObjectWrap<FdWatcher>(info) {
  Napi::Env env = info.Env();
  int fd;
  if (!arg::Fd(info, 0, "fd", &fd)) return;
  uv_loop_t* loop = nullptr;
  if (napi_get_uv_event_loop(env, &loop) != napi_ok || loop == nullptr) {
    Napi::Error::New(env, "FdWatcher: no event loop").ThrowAsJavaScriptException();
    return;
  }
  auto* p = new Poll;
  int rc = uv_poll_init(loop, &p->handle, fd);
  if (rc != 0) {
    delete p;
    Napi::Error err = Napi::Error::New(env, std::string(uv_err_name(rc)) + ": " + uv_strerror(rc) + ", uv_poll_init");
    err.Set("code", Napi::String::New(env, uv_err_name(rc)));
    err.Set("errno", Napi::Number::New(env, rc));
    err.Set("syscall", Napi::String::New(env, "uv_poll_init"));
    err.ThrowAsJavaScriptException();
    return;
  }
  p->fd = fd;
  p->owner = this;
  p->handle.data = p;
  Hold(fd);
  // Without the hook (it cannot fail on Node >= 14.8) the watcher still works;
  // only a Worker exiting with it open would be unsafe.
  napi_add_async_cleanup_hook(env, OnTeardown, p, &p->hook);
  poll_ = p;
  info.This().As<Napi::Object>().TypeTag(&kTypeTag);
}

FdWatcher::~FdWatcher() { CloseHandle(); }

FdWatcher* FdWatcher::Self(const Napi::CallbackInfo& info) {
  Napi::Value self = info.This();
  if (self.IsObject() && self.As<Napi::Object>().CheckTypeTag(&kTypeTag)) {
    return FdWatcher::Unwrap(self.As<Napi::Object>());
  }
  Napi::TypeError err = Napi::TypeError::New(info.Env(), "Value of \"this\" must be of type FdWatcher");
  err.Set("code", Napi::String::New(info.Env(), "ERR_INVALID_THIS"));
  err.ThrowAsJavaScriptException();
  return nullptr;
}

Napi::Value FdWatcher::StartJs(const Napi::CallbackInfo& info) {
  FdWatcher* self = Self(info);
  return self != nullptr ? self->Start(info) : info.Env().Undefined();
}

Napi::Value FdWatcher::StopJs(const Napi::CallbackInfo& info) {
  if (FdWatcher* self = Self(info)) self->Stop();
  return info.Env().Undefined();
}

Napi::Value FdWatcher::CloseJs(const Napi::CallbackInfo& info) {
  if (FdWatcher* self = Self(info)) {
    self->Stop();
    self->CloseHandle();
  }
  return info.Env().Undefined();
}

// Runs when the environment that made the watcher shuts down with it still
// open: the close callback must run before the addon can be unloaded (it is
// the addon's code), and Node waits for this hook to be removed, in OnClosed.
void FdWatcher::OnTeardown(napi_async_cleanup_hook_handle, void* arg) {
  Poll* p = static_cast<Poll*>(arg);
  if (uv_is_closing(reinterpret_cast<uv_handle_t*>(&p->handle))) return;  // OnClosed is coming
  if (FdWatcher* owner = p->owner) {
    owner->armed_ = false;
    owner->poll_ = nullptr;
  }
  ClosePoll(p);
}

void FdWatcher::OnPoll(uv_poll_t* handle, int status, int events) {
  Poll* p = static_cast<Poll*>(handle->data);
  if (p->owner != nullptr) p->owner->Fire(status, events);
}

void FdWatcher::Fire(int status, int events) {
  if (!armed_ || callback_.IsEmpty()) return;
  Napi::Env env = Env();
  Napi::HandleScope scope(env);
  // The callback may stop() (dropping callback_) or close() this watcher: call
  // through a local reference that outlives it.
  Napi::Function cb = callback_.Value();
  napi_value argv[2] = {Napi::Number::New(env, status), Napi::Number::New(env, events)};
  napi_value result;
  // The raw call: during an environment's teardown it fails (JavaScript can no
  // longer run) and there is no one to tell. A throwing callback is reported
  // as uncaught, as Node does for its own event callbacks; napi_make_callback
  // alone would leave the exception pending in the addon, unseen.
  if (napi_make_callback(env, nullptr, env.Global(), cb, 2, argv, &result) != napi_ok) {
    bool pending = false;
    napi_value error;
    if (napi_is_exception_pending(env, &pending) == napi_ok && pending &&
        napi_get_and_clear_last_exception(env, &error) == napi_ok) {
      napi_fatal_exception(env, error);
    }
  }
}

Napi::Value FdWatcher::Start(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  int64_t events;
  if (!arg::Integer(info, 0, "events", 1, UV_READABLE | UV_WRITABLE | UV_DISCONNECT, &events) ||
      !arg::Function(info, 1, "cb")) {
    return env.Undefined();
  }
  if (poll_ == nullptr) return Napi::Number::New(env, UV_EBADF);  // closed
  if (armed_ && events == events_) {  // already watching for exactly this: nothing to change
    callback_ = Napi::Persistent(info[1].As<Napi::Function>());
    return Napi::Number::New(env, 0);
  }
  // epoll would meet a closed fd at the loop's next poll, and libuv aborts then.
  int open = FdStatus(poll_->fd);
  if (open != 0) return Napi::Number::New(env, open);
  int rc = uv_poll_start(&poll_->handle, static_cast<int>(events), OnPoll);
  if (rc != 0) return Napi::Number::New(env, rc);
  if (!armed_) Ref();  // keep this object alive while the loop may call back into it
  armed_ = true;
  events_ = static_cast<int>(events);
  callback_ = Napi::Persistent(info[1].As<Napi::Function>());
  return Napi::Number::New(env, 0);
}

void FdWatcher::Stop() {
  if (!armed_) return;
  if (poll_ != nullptr) uv_poll_stop(&poll_->handle);
  armed_ = false;
  callback_.Reset();
  Unref();
}

void FdWatcher::CloseHandle() {
  if (poll_ == nullptr) return;
  Poll* p = poll_;
  poll_ = nullptr;
  ClosePoll(p);
}

}  // namespace zerocopy
