#pragma once
#include <napi.h>
#include <uv.h>

namespace zerocopy {

// Waits in the event loop until an fd is readable or writable, once per wait().
// libuv allows one watcher per fd number (UV_EEXIST), and Node already watches
// its sockets, so the fd given here must be our own dup(). close() must run
// before that dup is closed: uv_close() removes the fd from epoll, and a
// registration left behind for a closed fd makes libuv spin.
class FdWatcher : public Napi::ObjectWrap<FdWatcher> {
 public:
  static Napi::Function Init(Napi::Env env);
  explicit FdWatcher(const Napi::CallbackInfo& info);
  ~FdWatcher() override;

 private:
  Napi::Value Wait(const Napi::CallbackInfo& info);  // wait(events, cb(status, events))
  Napi::Value Stop(const Napi::CallbackInfo& info);
  Napi::Value Close(const Napi::CallbackInfo& info);
  static void OnPoll(uv_poll_t* handle, int status, int events);
  void Fire(int status, int events);
  void Disarm();
  void CloseHandle();

  uv_poll_t* handle_ = nullptr;
  Napi::FunctionReference callback_;
  bool armed_ = false;
};

}  // namespace zerocopy
