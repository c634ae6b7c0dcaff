// Ceiling for file -> socket: a bare sendfile(2) loop, no event loop, blocking
// socket. Speaks the receiver's protocol (8-byte size header, then per
// transfer S bytes and one ack byte back).
//
//   sendfile_client PORT CONNS DURATION_MS MAX_TRANSFERS FILE...
//
// Each of CONNS threads opens its own connection and sends files one after
// another (open, sendfile to the end, close, wait for the ack), cycling
// through FILE..., until MAX_TRANSFERS in all or DURATION_MS. All files must
// have the same size. Prints one JSON line with wall time, bytes, CPU
// (getrusage over the timed part, user and sys apart), peak RSS and per-transfer latencies.
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/sendfile.h>
#include <sys/socket.h>
#include <sys/stat.h>
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

static int port, nfiles, max_transfers;
static char **files;
static int64_t size, deadline_ns;
static int taken;  // transfers claimed so far (under lock)
static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static double *lat;  // seconds, one per transfer
static int nlat;
static int64_t total_bytes;
static int failed;

static int64_t now_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static int socks[64];

// Connected before the clock starts, as the Node senders do.
static int open_conn(void) {
  int s = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0), one = 1;
  struct sockaddr_in a = {0};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  a.sin_port = htons((uint16_t)port);
  if (s < 0 || connect(s, (struct sockaddr *)&a, sizeof a) != 0) { perror("connect"); return -1; }
  setsockopt(s, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  uint64_t hdr = (uint64_t)size;
  if (write(s, &hdr, 8) != 8) { close(s); return -1; }
  return s;
}

static void *run(void *arg) {
  int id = (int)(intptr_t)arg;
  int s = socks[id];
  for (int k = id;; k++) {
    pthread_mutex_lock(&lock);
    int go = taken < max_transfers && now_ns() < deadline_ns;
    if (go) taken++;
    pthread_mutex_unlock(&lock);
    if (!go) break;
    int64_t t0 = now_ns();
    int fd = open(files[k % nfiles], O_RDONLY | O_CLOEXEC);
    if (fd < 0) { perror("open"); failed = 1; break; }
    int64_t left = size;
    while (left > 0) {
      ssize_t n = sendfile(s, fd, NULL, left > 0x7ffff000 ? 0x7ffff000 : (size_t)left);
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) { perror("sendfile"); failed = 1; break; }
      left -= n;
    }
    close(fd);
    char ack;
    ssize_t r;
    do r = read(s, &ack, 1); while (r < 0 && errno == EINTR);
    if (left != 0 || r != 1) { failed = 1; break; }
    double l = (double)(now_ns() - t0) / 1e9;
    pthread_mutex_lock(&lock);
    lat[nlat++] = l;
    total_bytes += size;
    pthread_mutex_unlock(&lock);
  }
  return NULL;
}

static double tv(struct timeval t) { return t.tv_sec + t.tv_usec / 1e6; }

static int cmp(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return x < y ? -1 : x > y;
}

static double pct(double p) {
  if (nlat == 0) return 0;
  int i = (int)(p / 100.0 * nlat);
  if (i >= nlat) i = nlat - 1;
  return lat[i];
}

int main(int argc, char **argv) {
  if (argc < 6) { fprintf(stderr, "usage: %s PORT CONNS DURATION_MS MAX_TRANSFERS FILE...\n", argv[0]); return 2; }
  signal(SIGPIPE, SIG_IGN);
  port = atoi(argv[1]);
  int conns = atoi(argv[2]);
  int64_t duration_ms = atoll(argv[3]);
  max_transfers = atoi(argv[4]);
  files = argv + 5;
  nfiles = argc - 5;
  struct stat st;
  if (stat(files[0], &st) != 0) { perror("stat"); return 1; }
  size = st.st_size;
  lat = calloc((size_t)max_transfers, sizeof *lat);
  pthread_t th[64];
  if (conns < 1 || conns > 64 || !lat) return 2;
  for (int i = 0; i < conns; i++)
    if ((socks[i] = open_conn()) < 0) return 1;
  struct rusage r0, ru;
  getrusage(RUSAGE_SELF, &r0);
  int64_t t0 = now_ns();
  deadline_ns = t0 + duration_ms * 1000000;
  for (int i = 0; i < conns; i++) pthread_create(&th[i], NULL, run, (void *)(intptr_t)i);
  for (int i = 0; i < conns; i++) pthread_join(th[i], NULL);
  double wall = (double)(now_ns() - t0) / 1e9;
  getrusage(RUSAGE_SELF, &ru);
  // After the clock: half-close, and wait for the other side's EOF before
  // closing, so a proxy in between sees a clean close in both directions.
  for (int i = 0; i < conns; i++) {
    char sink[256];
    shutdown(socks[i], SHUT_WR);
    while (read(socks[i], sink, sizeof sink) > 0) {}
    close(socks[i]);
  }
  qsort(lat, (size_t)nlat, sizeof *lat, cmp);
  printf("{\"ok\":%s,\"wall\":%.6f,\"bytes\":%lld,\"transfers\":%d,\"user\":%.6f,\"sys\":%.6f,"
         "\"maxRssKiB\":%ld,\"latP50\":%.9f,\"latP99\":%.9f}\n",
         failed ? "false" : "true", wall, (long long)total_bytes, nlat,
         tv(ru.ru_utime) - tv(r0.ru_utime), tv(ru.ru_stime) - tv(r0.ru_stime),
         vm_hwm_kib(), pct(50), pct(99));
  return failed;
}
