#include "cached_io.h"

#include <cerrno>

#ifndef ZEROCOPY_UNSUPPORTED_OS
#include <fcntl.h>
#include <linux/openat2.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <unistd.h>

#ifndef SYS_openat2
#define SYS_openat2 437
#endif
#ifndef RWF_NOWAIT
#define RWF_NOWAIT 0x00000008
#endif
#endif

namespace zerocopy {

#ifndef ZEROCOPY_UNSUPPORTED_OS
namespace {

int OpenCached(const char* path, uint64_t flags) {
  struct open_how how = {};
  how.flags = flags;
  how.resolve = RESOLVE_CACHED;
  for (;;) {
    long fd = syscall(SYS_openat2, AT_FDCWD, path, &how, sizeof how);
    if (fd >= 0) return static_cast<int>(fd);
    if (errno != EINTR) return -errno;
  }
}

int StatxFd(int fd, unsigned mask, struct statx* st) {
  return syscall(SYS_statx, fd, "", AT_EMPTY_PATH | AT_STATX_DONT_SYNC, mask, st) == 0 ? 0 : -errno;
}

}  // namespace

CachedLookup LookupCached(const char* path) {
  int fd = OpenCached(path, O_PATH | O_CLOEXEC);
  if (fd < 0) return {fd, 0, 0};
  struct statx st = {};
  int rc = StatxFd(fd, STATX_TYPE | STATX_MNT_ID, &st);
  if (rc == 0 && !(st.stx_mask & STATX_MNT_ID)) rc = -ENOSYS;  // before Linux 5.8
  if (rc != 0) {
    close(fd);
    return {rc, 0, 0};
  }
  return {fd, st.stx_mnt_id, S_ISREG(st.stx_mode) ? 1 : 0};
}

int ReopenCached(const char* path, int path_fd) {
  struct statx want = {}, got = {};
  int rc = StatxFd(path_fd, STATX_INO, &want);
  close(path_fd);
  if (rc != 0) return rc;
  int fd = OpenCached(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
  if (fd < 0) return fd;
  rc = StatxFd(fd, STATX_TYPE | STATX_INO, &got);
  if (rc == 0 && (got.stx_ino != want.stx_ino || got.stx_dev_major != want.stx_dev_major ||
                  got.stx_dev_minor != want.stx_dev_minor || !S_ISREG(got.stx_mode))) {
    rc = -ESTALE;
  }
  if (rc == 0) {
    int fl = fcntl(fd, F_GETFL);
    if (fl < 0 || fcntl(fd, F_SETFL, fl & ~O_NONBLOCK) != 0) rc = -errno;
  }
  if (rc != 0) {
    close(fd);
    return rc;
  }
  return fd;
}

int64_t ReadNowait(int fd, char* buf, int64_t len, int64_t position, int64_t* partial) {
  int64_t total = 0;
  *partial = 0;
  while (total < len) {
    struct iovec iov = {buf + total, static_cast<size_t>(len - total)};
    ssize_t n = preadv2(fd, &iov, 1, position < 0 ? -1 : position + total, RWF_NOWAIT);
    if (n < 0) {
      if (errno == EINTR) continue;
      if (total == 0) return -errno;
      if (errno == EAGAIN) {
        *partial = total;
        return -EAGAIN;
      }
      return total;  // what Node's read would return: the bytes it got
    }
    if (n == 0) break;  // end of file
    total += n;
  }
  return total;
}

#else

CachedLookup LookupCached(const char*) { return {-ENOSYS, 0, 0}; }
int ReopenCached(const char*, int) { return -ENOSYS; }
int64_t ReadNowait(int, char*, int64_t, int64_t, int64_t*) { return -ENOSYS; }

#endif

}  // namespace zerocopy
