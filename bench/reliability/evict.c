// Drops the named files' pages from the page cache: fdatasync (a dirty page
// cannot be dropped), then posix_fadvise(POSIX_FADV_DONTNEED) over the whole
// file — what `dd iflag=nocache count=0` does, for thousands of files in one
// process. Exits non-zero if any file could not be opened.
#define _GNU_SOURCE
#include <fcntl.h>
#include <stdio.h>
#include <unistd.h>

int main(int argc, char **argv) {
  int bad = 0;
  for (int i = 1; i < argc; i++) {
    int fd = open(argv[i], O_RDONLY | O_CLOEXEC);
    if (fd < 0) { perror(argv[i]); bad = 1; continue; }
    fdatasync(fd);
    int rc = posix_fadvise(fd, 0, 0, POSIX_FADV_DONTNEED);
    if (rc != 0) { fprintf(stderr, "%s: posix_fadvise: error %d\n", argv[i], rc); bad = 1; }
    close(fd);
  }
  return bad;
}
