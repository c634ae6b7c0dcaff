#pragma once
#include <napi.h>
#include <uv.h>

namespace zerocopy {

// Watches an fd in the event loop for readability or writability, calling back
// each time it is ready until stop(). Level-triggered: a caller waiting for a
// writable socket stops at the first callback (it stays writable); a caller
// reading a socket may stay armed across waits (it fires only on new data),
// which saves the epoll_ctl calls of re-arming for every message.
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
  Napi::Value Start(const Napi::CallbackInfo& info);  // start(events, cb(status, events)) -> 0 or uv error
  Napi::Value Stop(const Napi::CallbackInfo& info);
  Napi::Value Close(const Napi::CallbackInfo& info);
  static void OnPoll(uv_poll_t* handle, int status, int events);
  void Fire(int status, int events);
  void Disarm();
  int events_ = 0;
  void CloseHandle();

  uv_poll_t* handle_ = nullptr;
  Napi::FunctionReference callback_;
  bool armed_ = false;
};

}  // namespace zerocopy
