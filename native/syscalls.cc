#include "syscalls.h"

#include <cerrno>

#ifndef ZEROCOPY_UNSUPPORTED_OS
#include <fcntl.h>
#include <sys/sendfile.h>
#include <sys/stat.h>
#include <sys/ioctl.h>
#include <sys/syscall.h>
#include <unistd.h>
#endif

namespace zerocopy {

#ifndef ZEROCOPY_UNSUPPORTED_OS
namespace {

// The kernel refuses (or silently truncates) larger single calls: sendfile and
// splice stop at 0x7ffff000 (MAX_RW_COUNT); copy_file_range is kept to 1 GiB as
// Go and Rust do, so one call never holds a worker for too long.
constexpr int64_t kMaxRw = 0x7ffff000;
constexpr int64_t kMaxCopyFileRange = int64_t(1) << 30;

ssize_t OneCall(Op op, int in_fd, int out_fd, loff_t* in_off, loff_t* out_off,
                size_t want) {
  switch (op) {
    case Op::kSendfile:
      // sendfile has no output offset: out_off is never set for it.
      return sendfile(out_fd, in_fd, in_off, want);
    case Op::kSplice:
      // NONBLOCK keeps the pipe side from parking the thread; never MORE
      // (it adds latency on sockets, golang/go#10948).
      return splice(in_fd, in_off, out_fd, out_off, want, SPLICE_F_NONBLOCK);
    case Op::kCopyFileRange:
      return syscall(SYS_copy_file_range, in_fd, in_off, out_fd, out_off, want, 0u);
  }
  errno = EINVAL;
  return -1;
}

}  // namespace

CopyResult CopyLoop(Op op, int in_fd, int out_fd, int64_t in_offset,
                    int64_t out_offset, int64_t len) {
  const int64_t cap = op == Op::kCopyFileRange ? kMaxCopyFileRange : kMaxRw;
  loff_t in_pos = in_offset, out_pos = out_offset;
  loff_t* in_ptr = in_offset >= 0 ? &in_pos : nullptr;
  loff_t* out_ptr = out_offset >= 0 ? &out_pos : nullptr;
  if (op == Op::kSendfile && out_ptr != nullptr) return {0, EINVAL};
  int64_t total = 0;
  while (total < len) {
    int64_t want = len - total;
    if (want > cap) want = cap;
    ssize_t n = OneCall(op, in_fd, out_fd, in_ptr, out_ptr, static_cast<size_t>(want));
    if (n < 0) {
      if (errno == EINTR) continue;
      return {total, errno};
    }
    if (n == 0) break;  // end of input
    total += n;
  }
  return {total, 0};
}

RelayResult Relay(int in_fd, int pipe_r, int pipe_w, int out_fd, int64_t out_offset,
                  int64_t in_pipe, int64_t pipe_cap, int64_t take, int64_t budget) {
  RelayResult r{0, 0, 0, RelaySide::kNone};
  loff_t pos = out_offset;
  loff_t* out_ptr = out_offset >= 0 ? &pos : nullptr;
  int64_t pending = in_pipe;
  for (;;) {
    while (pending > 0) {
      ssize_t n = splice(pipe_r, nullptr, out_fd, out_ptr, static_cast<size_t>(pending), SPLICE_F_NONBLOCK);
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) {
        // 0 from a pipe that holds bytes is not an answer the kernel gives; say EIO rather than spin.
        r.error = n < 0 ? errno : EIO;
        r.side = RelaySide::kDestination;
        return r;
      }
      pending -= n;
      r.delivered += n;
    }
    if (r.received >= take || r.delivered >= budget) return r;
    int64_t want = take - r.received;
    if (want > pipe_cap) want = pipe_cap;
    ssize_t n = splice(in_fd, nullptr, pipe_w, nullptr, static_cast<size_t>(want), SPLICE_F_NONBLOCK);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      r.error = n < 0 ? errno : 0;  // 0: end of input
      r.side = RelaySide::kSource;
      return r;
    }
    pending = n;
    r.received += n;
  }
}

FdInfo Describe(int fd) {
  struct stat st;
  if (fstat(fd, &st) != 0) return {errno, 0, 0, 0};
  int flags = fcntl(fd, F_GETFL);
  if (flags < 0) return {errno, 0, 0, 0};
  int type = 0;
  if (S_ISREG(st.st_mode)) type = 1;
  else if (S_ISSOCK(st.st_mode)) type = 2;
  else if (S_ISFIFO(st.st_mode)) type = 3;
  else if (S_ISCHR(st.st_mode)) type = 4;
  else if (S_ISBLK(st.st_mode)) type = 5;
  return {0, type, flags, static_cast<int64_t>(st.st_size)};
}

int DupCloexec(int fd) {
  int r = fcntl(fd, F_DUPFD_CLOEXEC, 0);
  return r < 0 ? -errno : r;
}

int CloseFd(int fd) {
  // Linux closes the fd even when close() reports EINTR: never retry.
  return close(fd) == 0 ? 0 : -errno;
}

int FdStatus(int fd) { return fcntl(fd, F_GETFD) < 0 ? -errno : 0; }

int64_t SpliceOnce(int in_fd, int out_fd, int64_t len) {
  if (len > kMaxRw) len = kMaxRw;
  for (;;) {
    ssize_t n = splice(in_fd, nullptr, out_fd, nullptr, static_cast<size_t>(len), SPLICE_F_NONBLOCK);
    if (n >= 0) return n;
    if (errno != EINTR) return -errno;
  }
}

PipePair MakePipe(int size) {
  int fds[2];
  if (pipe2(fds, O_CLOEXEC | O_NONBLOCK) != 0) return {errno, -1, -1, 0};
  if (size > 0) fcntl(fds[1], F_SETPIPE_SZ, size);  // EPERM past the per-user limit is fine
  int cap = fcntl(fds[1], F_GETPIPE_SZ);
  return {0, fds[0], fds[1], cap < 0 ? 0 : cap};
}

int64_t BytesReadable(int fd) {
  int n = 0;
  if (ioctl(fd, FIONREAD, &n) != 0) return -errno;
  return n;
}

int64_t ReadOnce(int fd, char* buf, int64_t len) {
  for (;;) {
    ssize_t n = read(fd, buf, static_cast<size_t>(len));
    if (n >= 0) return n;
    if (errno != EINTR) return -errno;
  }
}

#else  // Other systems: the addon loads but every fast path declines.

CopyResult CopyLoop(Op, int, int, int64_t, int64_t, int64_t) { return {0, ENOSYS}; }
RelayResult Relay(int, int, int, int, int64_t, int64_t, int64_t, int64_t, int64_t) {
  return {0, 0, ENOSYS, RelaySide::kSource};
}
FdInfo Describe(int) { return {ENOSYS, 0, 0, 0}; }
int DupCloexec(int) { return -ENOSYS; }
int CloseFd(int) { return -ENOSYS; }
int FdStatus(int) { return 0; }  // the watcher itself still works there
int64_t SpliceOnce(int, int, int64_t) { return -ENOSYS; }
PipePair MakePipe(int) { return {ENOSYS, -1, -1, 0}; }
int64_t BytesReadable(int) { return -ENOSYS; }
int64_t ReadOnce(int, char*, int64_t) { return -ENOSYS; }

#endif

}  // namespace zerocopy
