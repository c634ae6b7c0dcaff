// "Only if it will not wait" variants of open and read, for the event loop:
// path lookup from the dcache alone (openat2 RESOLVE_CACHED, Linux 5.12+) and
// reads from the page cache alone (preadv2 RWF_NOWAIT). Each answers -EAGAIN
// where the plain call could sleep on a disk; TypeScript then takes Node's own
// threadpool call. No policy here: which mounts are safe is decided in
// TypeScript (src/facts/mounts.ts).
#pragma once
#include <cstdint>

namespace zerocopy {

// What lookup saw of the file behind a path, without opening it for I/O.
struct CachedLookup {
  int path_fd;      // an O_PATH fd (>= 0), or -errno
  uint64_t mnt_id;  // the mount it is on (statx STATX_MNT_ID)
  int type;         // 1 regular, 0 anything else (a FIFO or device open could wait or act)
};

// openat2(path, O_PATH, RESOLVE_CACHED) then statx (AT_STATX_DONT_SYNC: no
// server round trip on a network filesystem). O_PATH opens nothing: no FIFO
// wait, no device open. -ENOSYS where the kernel has no openat2 or no mount id.
CachedLookup LookupCached(const char* path);

// Opens the file `path_fd` found, for reading (O_RDONLY|O_CLOEXEC, as libuv
// opens 'r'): openat2 RESOLVE_CACHED again, O_NONBLOCK so a path swapped for a
// FIFO cannot park the loop, then checks it is the same inode and clears
// O_NONBLOCK. Always closes path_fd. fd >= 0, or -errno (-ESTALE: swapped).
int ReopenCached(const char* path, int path_fd);

// preadv2 RWF_NOWAIT until `len` bytes or end of file (position < 0: the
// file position). Returns the bytes read, or -errno; -EAGAIN with *partial set
// when the page cache held only the first *partial bytes.
int64_t ReadNowait(int fd, char* buf, int64_t len, int64_t position, int64_t* partial);

}  // namespace zerocopy
