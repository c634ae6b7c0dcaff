// Ceiling for file -> file: a bare copy_file_range(2) loop.
//   cfr_copy SRC DST [CHUNK_BYTES]   (default 8 MiB per call)
// Prints one JSON line: wall time, bytes, CPU (user, sys), peak RSS.
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

// Peak RSS of this program in KiB (VmHWM). Not getrusage's ru_maxrss: across
// vfork+exec that keeps the spawning process's high-water mark.
static long vm_hwm_kib(void) {
  FILE *f = fopen("/proc/self/status", "r");
  char line[256];
  long kib = -1;
  while (f && fgets(line, sizeof line, f))
    if (sscanf(line, "VmHWM: %ld", &kib) == 1) break;
  if (f) fclose(f);
  return kib;
}

static double now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return ts.tv_sec + ts.tv_nsec / 1e9;
}

static double tv(struct timeval t) { return t.tv_sec + t.tv_usec / 1e6; }

int main(int argc, char **argv) {
  if (argc != 3 && argc != 4) { fprintf(stderr, "usage: %s SRC DST [CHUNK_BYTES]\n", argv[0]); return 2; }
  int64_t chunk = argc == 4 ? atoll(argv[3]) : (int64_t)8 << 20;
  if (chunk <= 0 || chunk > (int64_t)1 << 30) chunk = (int64_t)1 << 30;
  struct rusage r0, ru;
  getrusage(RUSAGE_SELF, &r0);
  double t0 = now();
  int in = open(argv[1], O_RDONLY | O_CLOEXEC);
  int out = open(argv[2], O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  struct stat st;
  if (in < 0 || out < 0 || fstat(in, &st) != 0) { perror("open"); return 1; }
  int64_t left = st.st_size, total = 0;
  while (left > 0) {
    ssize_t n = syscall(SYS_copy_file_range, in, NULL, out, NULL, (size_t)(left > chunk ? chunk : left), 0u);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) { perror("copy_file_range"); return 1; }
    left -= n;
    total += n;
  }
  close(in);
  if (close(out) != 0) { perror("close"); return 1; }
  double wall = now() - t0;
  getrusage(RUSAGE_SELF, &ru);
  printf("{\"ok\":true,\"wall\":%.6f,\"bytes\":%lld,\"transfers\":1,\"user\":%.6f,\"sys\":%.6f,\"maxRssKiB\":%ld}\n",
         wall, (long long)total, tv(ru.ru_utime) - tv(r0.ru_utime), tv(ru.ru_stime) - tv(r0.ru_stime),
         vm_hwm_kib());
  return 0;
}
