// Force-included (-include) into the prebuilt binaries only, never into a
// source build: keeps the shipped .node loadable on glibc 2.28, the floor of
// Node's own Linux binaries (RHEL 8, Debian 11, Ubuntu 20.04), when it is
// built on a newer glibc.
//
// glibc 2.33 turned fstat() from an inline over __fxstat() into an exported
// symbol, fstat64@GLIBC_2.33, so an addon built on 2.33+ fails to dlopen on
// anything older. The raw syscall has the same struct stat layout on x86_64
// and aarch64 (what glibc's own fstat passes to the kernel there) and the
// same -1/errno convention.
#pragma once
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

static inline int zerocopy_compat_fstat(int fd, struct stat* st) {
  return static_cast<int>(syscall(SYS_fstat, fd, st));
}
#define fstat(fd, st) zerocopy_compat_fstat((fd), (st))
