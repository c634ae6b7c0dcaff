// Clamped, EINTR-retrying wrappers around the kernel copy syscalls, plus the
// small fd helpers the TypeScript side needs. No policy lives here: every
// function moves bytes or reports an errno, and TypeScript decides what it means.
#pragma once
#include <cstdint>

namespace zerocopy {

enum class Op : int { kSendfile = 0, kSplice = 1, kCopyFileRange = 2 };

struct CopyResult {
  int64_t bytes;  // bytes moved before stopping
  int error;      // 0, or the errno that stopped the loop (never EINTR)
};

// Moves up to `len` bytes from in_fd to out_fd with one syscall kind, looping on
// short counts. Stops at `len`, at end of input (a call returning 0), or at the
// first error (EAGAIN included). An offset < 0 means "use and advance the file
// position" (NULL offset pointer); otherwise the explicit offset is used and the
// file position is left alone.
CopyResult CopyLoop(Op op, int in_fd, int out_fd, int64_t in_offset,
                    int64_t out_offset, int64_t len);

// Socket → pipe → file in one go, for a pool job: drains the `in_pipe`
// bytes the pipe already holds into out_fd, then fills the pipe from in_fd
// (at most `pipe_cap` a fill) and drains it fully, again and again, until
// `take` bytes were taken from in_fd, `budget` bytes were delivered, or a
// call stops it. Every splice is non-blocking: a source with nothing to give
// stops the loop with EAGAIN (waiting for it is the event loop's job); only
// the file side may wait, on the disk. The pipe is empty on return unless the
// destination failed. out_offset < 0: the file position.
enum class RelaySide : int { kNone = 0, kSource = 1, kDestination = 2 };
struct RelayResult {
  int64_t received;   // bytes taken from in_fd
  int64_t delivered;  // bytes written to out_fd (the in_pipe bytes included)
  int error;          // 0, or the errno that stopped it (never EINTR)
  RelaySide side;     // kNone: take or budget reached; kSource: error, EAGAIN, or end of input (error 0)
};
RelayResult Relay(int in_fd, int pipe_r, int pipe_w, int out_fd, int64_t out_offset,
                  int64_t in_pipe, int64_t pipe_cap, int64_t take, int64_t budget);

// Kind of file behind an fd, from fstat; plus its status flags (F_GETFL) and size.
struct FdInfo {
  int error;
  int type;  // 1 regular, 2 socket, 3 fifo, 4 char device, 5 block, 0 other
  int flags;
  int64_t size;
};
FdInfo Describe(int fd);

int DupCloexec(int fd);  // >= 0 fd, or -errno

// One non-blocking splice between a socket/pipe and a pipe, no offsets
// (EINTR retried). Never touches a disk, so it is safe on the event loop.
// Returns bytes moved (0 = end of input) or -errno.
int64_t SpliceOnce(int in_fd, int out_fd, int64_t len);

// pipe2(O_CLOEXEC|O_NONBLOCK), then a best-effort F_SETPIPE_SZ to `size`
// (refused above the per-user limit: the pipe keeps its default size).
struct PipePair { int error; int read_fd; int write_fd; int capacity; };
PipePair MakePipe(int size);

// Bytes waiting in a pipe or socket (FIONREAD), or -errno.
int64_t BytesReadable(int fd);

// read(2) once into buf (EINTR retried): bytes, 0 at end, or -errno.
int64_t ReadOnce(int fd, char* buf, int64_t len);
int CloseFd(int fd);     // 0 or -errno

// Is fd open (F_GETFD)? 0 or -errno (-EBADF).
int FdStatus(int fd);

}  // namespace zerocopy
