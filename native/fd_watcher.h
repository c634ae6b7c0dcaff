#pragma once
#include <napi.h>
#include <uv.h>

namespace zerocopy {

struct Poll;

// Watches an fd in the event loop for readability or writability, calling back
// each time it is ready until stop(). Level-triggered: a caller waiting for a
// writable socket stops at the first callback (it stays writable); a caller
// reading a socket may stay armed across waits (it fires only on new data),
// which saves the epoll_ctl calls of re-arming for every message.
// libuv allows one watcher per fd number (UV_EEXIST), and Node already watches
// its sockets, so the fd given here must be our own dup(). close() must run
// before that dup is closed: uv_close() removes the fd from epoll, and libuv
// aborts the process (or spins) when epoll meets a watched fd that was closed.
// The addon's close() therefore refuses (EBUSY) an fd a watcher still holds,
// and start() refuses (EBADF) an fd already closed by other means; an fd
// closed by other means after start() is beyond what the addon can see.
//
// new FdWatcher(fd); start(events, cb(status, events)) -> 0 or a negative libuv
// error (UV_EBADF once closed); stop(); close() (again: nothing).
// A watcher left open when its Worker (or the main environment) shuts down is
// closed by an async cleanup hook, while the addon is still loaded.
class FdWatcher : public Napi::ObjectWrap<FdWatcher> {
 public:
  static Napi::Function Init(Napi::Env env);
  explicit FdWatcher(const Napi::CallbackInfo& info);
  ~FdWatcher() override;

  // Does an open (not yet closed) watcher, in any environment, hold fd?
  static bool Watches(int fd);

 private:
  static FdWatcher* Self(const Napi::CallbackInfo& info);
  static Napi::Value StartJs(const Napi::CallbackInfo& info);
  static Napi::Value StopJs(const Napi::CallbackInfo& info);
  static Napi::Value CloseJs(const Napi::CallbackInfo& info);
  static void OnPoll(uv_poll_t* handle, int status, int events);
  static void OnTeardown(napi_async_cleanup_hook_handle hook, void* arg);

  Napi::Value Start(const Napi::CallbackInfo& info);
  void Stop();
  void Fire(int status, int events);
  void CloseHandle();

  Poll* poll_ = nullptr;  // null once closed
  Napi::FunctionReference callback_;
  bool armed_ = false;
  int events_ = 0;
};

}  // namespace zerocopy
