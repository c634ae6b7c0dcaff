#pragma once
#include <napi.h>

namespace zerocopy {

// What every job of ours on the libuv threadpool shares: its completion calls
// the JavaScript callback with numbers only.
class PoolJob : public Napi::AsyncWorker {
 protected:
  PoolJob(Napi::Function cb, const char* name) : Napi::AsyncWorker(cb, name) {}

  // The raw call, not Callback().Call(): a job still completes while a Worker
  // shuts down, when JavaScript can no longer run; the call then fails with
  // nobody left to tell, where node-addon-api would make the failure a fatal
  // error. An exception the callback throws stays pending, and Node reports
  // it as uncaught, as for any fs callback.
  template <typename... Numbers>
  void CallBack(Numbers... values) {
    static_assert(sizeof...(values) > 0, "a callback gets at least one number (its errno)");
    Napi::Env env = Env();
    napi_value argv[] = {Napi::Number::New(env, static_cast<double>(values))...};
    napi_value result;
    napi_call_function(env, env.Undefined(), Callback().Value(), sizeof...(values), argv, &result);
  }
};

}  // namespace zerocopy
