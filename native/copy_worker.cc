#include "copy_worker.h"

#include "args.h"
#include "pool_job.h"
#include "syscalls.h"

namespace zerocopy {
namespace {

// Runs one chunk on the threadpool. The caller bounds `len` (a few MiB) so a
// slow disk holds one pool thread for one chunk only, and concurrent transfers
// take turns.
class CopyWorker : public PoolJob {
 public:
  CopyWorker(Napi::Function cb, Op op, int in_fd, int out_fd, int64_t in_off,
             int64_t out_off, int64_t len)
      : PoolJob(cb, "zerocopy:copy"),
        op_(op), in_fd_(in_fd), out_fd_(out_fd), in_off_(in_off),
        out_off_(out_off), len_(len) {}

  void Execute() override {
    result_ = CopyLoop(op_, in_fd_, out_fd_, in_off_, out_off_, len_);
  }

  void OnOK() override { CallBack(result_.error, result_.bytes); }

 private:
  Op op_;
  int in_fd_, out_fd_;
  int64_t in_off_, out_off_, len_;
  CopyResult result_{0, 0};
};

}  // namespace

// Offsets: -1 for "the file position", else where to start; a byte count of 0
// completes with (0, 0).
Napi::Value Copy(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  int64_t op, in_off, out_off, len;
  int in_fd, out_fd;
  if (!arg::Integer(info, 0, "op", 0, 2, &op) || !arg::Fd(info, 1, "inFd", &in_fd) ||
      !arg::Fd(info, 2, "outFd", &out_fd) || !arg::Length(info, 3, "inOffset", -1, &in_off) ||
      !arg::Length(info, 4, "outOffset", -1, &out_off) || !arg::Length(info, 5, "len", 0, &len) ||
      !arg::Function(info, 6, "cb")) {
    return env.Undefined();
  }
  auto* worker = new CopyWorker(info[6].As<Napi::Function>(), static_cast<Op>(op), in_fd, out_fd,
                                in_off, out_off, len);
  worker->Queue();
  return env.Undefined();
}

}  // namespace zerocopy
