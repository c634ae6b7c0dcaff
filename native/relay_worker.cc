#include "relay_worker.h"

#include "args.h"
#include "pool_job.h"
#include "syscalls.h"

namespace zerocopy {
namespace {

// Socket → pipe → file for as long as the socket has bytes, up to a budget,
// in one pool job: one round trip between the loop and the pool per burst
// instead of one per pipeful. The caller bounds `budget` so that concurrent
// transfers take turns on the pool.
class RelayWorker : public PoolJob {
 public:
  RelayWorker(Napi::Function cb, int in_fd, int pipe_r, int pipe_w, int out_fd, int64_t out_off,
              int64_t in_pipe, int64_t pipe_cap, int64_t take, int64_t budget)
      : PoolJob(cb, "zerocopy:relay"),
        in_fd_(in_fd), pipe_r_(pipe_r), pipe_w_(pipe_w), out_fd_(out_fd), out_off_(out_off),
        in_pipe_(in_pipe), pipe_cap_(pipe_cap), take_(take), budget_(budget) {}

  void Execute() override {
    result_ = Relay(in_fd_, pipe_r_, pipe_w_, out_fd_, out_off_, in_pipe_, pipe_cap_, take_, budget_);
  }

  void OnOK() override {
    CallBack(result_.error, static_cast<int>(result_.side), result_.received, result_.delivered);
  }

 private:
  int in_fd_, pipe_r_, pipe_w_, out_fd_;
  int64_t out_off_, in_pipe_, pipe_cap_, take_, budget_;
  RelayResult result_{0, 0, 0, RelaySide::kNone};
};

}  // namespace

Napi::Value RelayJs(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  int in_fd, pipe_r, pipe_w, out_fd;
  int64_t out_off, in_pipe, pipe_cap, take, budget;
  if (!arg::Fd(info, 0, "inFd", &in_fd) || !arg::Fd(info, 1, "pipeReadFd", &pipe_r) ||
      !arg::Fd(info, 2, "pipeWriteFd", &pipe_w) || !arg::Fd(info, 3, "outFd", &out_fd) ||
      !arg::Length(info, 4, "outOffset", -1, &out_off) || !arg::Length(info, 5, "inPipe", 0, &in_pipe) ||
      !arg::Length(info, 6, "pipeCapacity", 1, &pipe_cap) || !arg::Length(info, 7, "take", 0, &take) ||
      !arg::Length(info, 8, "budget", 0, &budget) || !arg::Function(info, 9, "cb")) {
    return env.Undefined();
  }
  auto* worker = new RelayWorker(info[9].As<Napi::Function>(), in_fd, pipe_r, pipe_w, out_fd, out_off,
                                 in_pipe, pipe_cap, take, budget);
  worker->Queue();
  return env.Undefined();
}

}  // namespace zerocopy
