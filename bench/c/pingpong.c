// Client of the request/response benchmark. Strictly one exchange in flight
// on a connection (TCP_NODELAY): write SIZE bytes, read until the SIZE-byte
// echo is back (and check it), next.
//
//   pingpong SIZE SLICE_MS TOTAL_MS MAX PORT...
//
// One connection per PORT (one per variant: each port is a different proxy,
// or the echo server itself), all opened before the clock starts. The client
// then takes the connections in turn, SLICE_MS on each (A B C A B C ...),
// until TOTAL_MS: every variant sees the same machine, slice by slice, which
// on a shared machine matters more than anything else for latency. A slice is
// long enough (hundreds of exchanges) that the first exchange after an idle
// spell does not reach p99. MAX bounds the exchanges per connection.
//
// Prints one JSON line: total wall and CPU, peak RSS, and per connection its
// exchanges, active time (the sum of its slices), the client thread's CPU
// during its slices, and latency per exchange (p50/p99/p99.9/max). Then
// half-closes every connection and waits for the other side's EOF, so a proxy
// in between sees a clean close in both directions.
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define MAX_CONNS 16

struct conn {
  int fd, port;
  long n;
  double *lat;
  int64_t active_ns, cpu_ns;
};

static long vm_hwm_kib(void) {
  FILE *f = fopen("/proc/self/status", "r");
  char line[256];
  long kib = -1;
  while (f && fgets(line, sizeof line, f))
    if (sscanf(line, "VmHWM: %ld", &kib) == 1) break;
  if (f) fclose(f);
  return kib;
}

static int64_t now_ns(clockid_t c) {
  struct timespec ts;
  clock_gettime(c, &ts);
  return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static double tv(struct timeval t) { return t.tv_sec + t.tv_usec / 1e6; }

static int cmp(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return x < y ? -1 : x > y;
}

static double pct(const struct conn *c, double p) {
  if (c->n == 0) return 0;
  long i = (long)(p / 100.0 * (double)c->n);
  return c->lat[i < c->n ? i : c->n - 1];
}

int main(int argc, char **argv) {
  if (argc < 6) { fprintf(stderr, "usage: %s SIZE SLICE_MS TOTAL_MS MAX PORT...\n", argv[0]); return 2; }
  signal(SIGPIPE, SIG_IGN);
  size_t size = (size_t)atol(argv[1]);
  int64_t slice_ns = atoll(argv[2]) * 1000000, total_ns = atoll(argv[3]) * 1000000;
  long max = atol(argv[4]);
  int nconns = argc - 5;
  if (size == 0 || max <= 0 || nconns > MAX_CONNS) return 2;
  char *out = malloc(size), *in = malloc(size);
  struct conn c[MAX_CONNS] = {{0}};
  if (!out || !in) return 2;
  for (size_t i = 0; i < size; i++) out[i] = (char)(i * 31 + 7);
  for (int k = 0; k < nconns; k++) {
    int s = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0), one = 1;
    struct sockaddr_in a = {0};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    a.sin_port = htons((uint16_t)atoi(argv[5 + k]));
    if (s < 0 || connect(s, (struct sockaddr *)&a, sizeof a) != 0) { perror("connect"); return 1; }
    setsockopt(s, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    c[k].fd = s;
    c[k].port = atoi(argv[5 + k]);
    c[k].lat = calloc((size_t)max, sizeof(double));
    if (!c[k].lat) return 2;
  }

  struct rusage r0, ru;
  getrusage(RUSAGE_SELF, &r0);
  int64_t t0 = now_ns(CLOCK_MONOTONIC), deadline = t0 + total_ns;
  int failed = 0;
  for (int k = 0; !failed; k = (k + 1) % nconns) {
    int64_t s0 = now_ns(CLOCK_MONOTONIC), cpu0 = now_ns(CLOCK_THREAD_CPUTIME_ID);
    if (s0 >= deadline) break;
    int64_t slice_end = s0 + slice_ns < deadline ? s0 + slice_ns : deadline;
    struct conn *x = &c[k];
    int64_t e0 = s0;
    while (x->n < max && e0 < slice_end) {
      out[0] = (char)x->n;  // every request differs, and the echo is checked
      for (size_t off = 0; off < size;) {
        ssize_t w = write(x->fd, out + off, size - off);
        if (w < 0 && errno == EINTR) continue;
        if (w <= 0) { perror("write"); failed = 1; break; }
        off += (size_t)w;
      }
      size_t got = 0;
      while (!failed && got < size) {
        ssize_t r = read(x->fd, in + got, size - got);
        if (r < 0 && errno == EINTR) continue;
        if (r <= 0) { fprintf(stderr, "port %d: read: %s\n", x->port, r == 0 ? "EOF" : strerror(errno)); failed = 1; break; }
        got += (size_t)r;
      }
      if (failed) break;
      if (memcmp(in, out, size) != 0) { fprintf(stderr, "port %d: echo differs at exchange %ld\n", x->port, x->n); failed = 1; break; }
      int64_t e1 = now_ns(CLOCK_MONOTONIC);
      x->lat[x->n++] = (double)(e1 - e0) / 1e9;
      e0 = e1;
    }
    x->active_ns += e0 - s0;
    x->cpu_ns += now_ns(CLOCK_THREAD_CPUTIME_ID) - cpu0;
  }
  double wall = (double)(now_ns(CLOCK_MONOTONIC) - t0) / 1e9;
  getrusage(RUSAGE_SELF, &ru);
  for (int k = 0; k < nconns; k++) shutdown(c[k].fd, SHUT_WR);
  for (int k = 0; k < nconns; k++) {
    char sink[4096];
    while (read(c[k].fd, sink, sizeof sink) > 0) {}
    close(c[k].fd);
  }
  printf("{\"ok\":%s,\"wall\":%.6f,\"user\":%.6f,\"sys\":%.6f,\"maxRssKiB\":%ld,\"conns\":[", failed ? "false" : "true",
         wall, tv(ru.ru_utime) - tv(r0.ru_utime), tv(ru.ru_stime) - tv(r0.ru_stime), vm_hwm_kib());
  for (int k = 0; k < nconns; k++) {
    struct conn *x = &c[k];
    qsort(x->lat, (size_t)x->n, sizeof(double), cmp);
    printf("%s{\"port\":%d,\"transfers\":%ld,\"bytes\":%lld,\"wall\":%.6f,\"cpu\":%.6f,"
           "\"latP50\":%.9f,\"latP99\":%.9f,\"latP999\":%.9f,\"latMax\":%.9f}",
           k ? "," : "", x->port, x->n, (long long)size * x->n, (double)x->active_ns / 1e9, (double)x->cpu_ns / 1e9,
           pct(x, 50), pct(x, 99), pct(x, 99.9), x->n ? x->lat[x->n - 1] : 0);
  }
  printf("]}\n");
  return failed;
}
