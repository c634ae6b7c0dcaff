// Argument checks for every export, in the style of Node's
// lib/internal/validators.js: a wrong type is a TypeError with code
// ERR_INVALID_ARG_TYPE, a number outside its domain (NaN, fractional, too
// large or too small) a RangeError with code ERR_OUT_OF_RANGE. A number is
// never truncated into range: a fractional or NaN fd used to become fd 0, and
// 2**32 + n used to become fd n.
// Each check returns false with the exception pending; the caller returns.
#pragma once
#include <napi.h>

#include <cmath>
#include <cstdint>
#include <string>

namespace zerocopy {
namespace arg {

constexpr double kMaxSafeInteger = 9007199254740991.0;  // Number.MAX_SAFE_INTEGER
constexpr int64_t kMaxInt32 = 2147483647;

inline std::string Received(Napi::Value v) {
  switch (v.Type()) {
    case napi_undefined: return "Received undefined";
    case napi_null: return "Received null";
    case napi_number: {
      // Coercing a number to a string runs no user code.
      Napi::String s = v.ToString();
      return "Received " + (s.IsEmpty() ? std::string("a number") : s.Utf8Value());
    }
    case napi_boolean: return "Received type boolean";
    case napi_string: return "Received type string";
    case napi_symbol: return "Received type symbol";
    case napi_function: return "Received function";
    case napi_bigint: return "Received type bigint";
    default: return "Received an object";
  }
}

inline void ThrowCoded(Napi::Error err, const char* code) {
  err.Set("code", Napi::String::New(err.Env(), code));
  err.ThrowAsJavaScriptException();
}

inline bool ThrowType(const Napi::CallbackInfo& info, size_t i, const char* name,
                      const char* expected) {
  Napi::Value v = info[i];  // undefined past the last argument
  ThrowCoded(Napi::TypeError::New(info.Env(), std::string("The \"") + name + "\" argument must be " +
                                                  expected + ". " + Received(v)),
             "ERR_INVALID_ARG_TYPE");
  return false;
}

// An integer number in [min, max]; the value in *out.
inline bool Integer(const Napi::CallbackInfo& info, size_t i, const char* name, int64_t min,
                    int64_t max, int64_t* out) {
  Napi::Value v = info[i];
  if (!v.IsNumber()) return ThrowType(info, i, name, "of type number");
  double d = v.As<Napi::Number>().DoubleValue();
  std::string bound;
  if (!std::isfinite(d) || std::trunc(d) != d) {
    bound = "an integer";
  } else if (d < static_cast<double>(min) || d > static_cast<double>(max)) {
    bound = ">= " + std::to_string(min) + " && <= " + std::to_string(max);
  } else {
    *out = static_cast<int64_t>(d);  // in range: the cast is exact
    return true;
  }
  ThrowCoded(Napi::RangeError::New(info.Env(), std::string("The value of \"") + name +
                                                   "\" is out of range. It must be " + bound +
                                                   ". " + Received(v)),
             "ERR_OUT_OF_RANGE");
  return false;
}

// A file descriptor: an integer in [0, 2**31 - 1] (Node's validateInt32(fd, 'fd', 0)).
// One that is closed or was never opened is the kernel's to refuse (EBADF).
inline bool Fd(const Napi::CallbackInfo& info, size_t i, const char* name, int* out) {
  int64_t v = 0;
  if (!Integer(info, i, name, 0, kMaxInt32, &v)) return false;
  *out = static_cast<int>(v);
  return true;
}

// A byte count or an offset: integers exact in a double.
inline bool Length(const Napi::CallbackInfo& info, size_t i, const char* name, int64_t min,
                   int64_t* out) {
  return Integer(info, i, name, min, static_cast<int64_t>(kMaxSafeInteger), out);
}

inline bool Function(const Napi::CallbackInfo& info, size_t i, const char* name) {
  return info[i].IsFunction() || ThrowType(info, i, name, "of type function");
}

// A Buffer, TypedArray or DataView (what fs.readSync accepts): its bytes.
// napi_get_buffer_info takes any ArrayBufferView and gives its byteLength from
// V8 (never a JS property a caller could redefine); a detached one has none.
inline bool Bytes(const Napi::CallbackInfo& info, size_t i, const char* name, char** data,
                  size_t* len) {
  napi_env env = info.Env();
  napi_value v = info[i];
  bool view = false;
  void* p = nullptr;
  size_t n = 0;
  if (napi_is_buffer(env, v, &view) == napi_ok && view &&
      napi_get_buffer_info(env, v, &p, &n) == napi_ok) {
    *data = static_cast<char*>(p);
    *len = p == nullptr ? 0 : n;
    return true;
  }
  return ThrowType(info, i, name, "an instance of Buffer, TypedArray, or DataView");
}

}  // namespace arg
}  // namespace zerocopy
