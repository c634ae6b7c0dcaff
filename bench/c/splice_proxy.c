// Ceiling for the TCP proxy: a bare splice(2) loop, one thread, poll().
//
//   splice_proxy UPSTREAM_PORT [PIPE_BYTES]
//
// Listens on 127.0.0.1 (any port), prints "PORT <n>", accepts ONE client,
// connects to 127.0.0.1:UPSTREAM_PORT, and moves bytes both ways
// (client -> pipe -> upstream, upstream -> pipe -> client) without copying
// them to user space. Each direction has its own pipe, sized with
// F_SETPIPE_SZ (default 256 KiB, the size of the library's pooled pipes).
// Like the library: a pipe is drained completely before the next fill, and a
// short fill means the socket is empty, so the next step is poll(), not
// another splice that would say EAGAIN. EOF on one side is passed on with
// shutdown(SHUT_WR) once the pipe is empty. When both directions are done it
// prints one JSON line: wall time, CPU user/sys (getrusage) and peak RSS
// (VmHWM) from accept to the end, and the bytes moved each way.
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

struct dir {
  int in, out, p[2];
  size_t cap, inpipe;
  long long bytes;
  int eof, done, failed, drained;  // drained: last fill was short, poll before the next
  short want;                      // POLLIN on in, or POLLOUT on out
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

static double tv(struct timeval t) { return t.tv_sec + t.tv_usec / 1e6; }

static int64_t now_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

// Moves what it can until a side would block (sets d->want) or the direction ends.
static void step(struct dir *d) {
  for (;;) {
    if (d->inpipe > 0) {
      ssize_t n = splice(d->p[0], NULL, d->out, NULL, d->inpipe, SPLICE_F_MOVE | SPLICE_F_NONBLOCK);
      if (n > 0) { d->inpipe -= (size_t)n; d->bytes += n; continue; }
      if (n < 0 && errno == EINTR) continue;
      if (n < 0 && errno == EAGAIN) { d->want = POLLOUT; return; }
      d->failed = d->done = 1;
      return;
    }
    if (d->eof) { shutdown(d->out, SHUT_WR); d->done = 1; return; }
    if (d->drained) { d->drained = 0; d->want = POLLIN; return; }
    ssize_t n = splice(d->in, NULL, d->p[1], NULL, d->cap, SPLICE_F_MOVE | SPLICE_F_NONBLOCK);
    if (n > 0) { d->inpipe = (size_t)n; d->drained = (size_t)n < d->cap; continue; }
    if (n == 0) { d->eof = 1; continue; }
    if (errno == EINTR) continue;
    if (errno == EAGAIN) { d->want = POLLIN; return; }
    d->failed = d->done = 1;
    return;
  }
}

int main(int argc, char **argv) {
  if (argc < 2) { fprintf(stderr, "usage: %s UPSTREAM_PORT [PIPE_BYTES]\n", argv[0]); return 2; }
  signal(SIGPIPE, SIG_IGN);
  int pipe_bytes = argc > 2 ? atoi(argv[2]) : 256 * 1024;
  int one = 1;
  int ls = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  struct sockaddr_in a = {0};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (ls < 0 || bind(ls, (struct sockaddr *)&a, sizeof a) != 0 || listen(ls, 8) != 0) { perror("listen"); return 1; }
  socklen_t len = sizeof a;
  getsockname(ls, (struct sockaddr *)&a, &len);
  printf("PORT %d\n", ntohs(a.sin_port));
  fflush(stdout);

  int c = accept4(ls, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);
  if (c < 0) { perror("accept"); return 1; }
  close(ls);
  struct rusage r0, ru;
  getrusage(RUSAGE_SELF, &r0);
  int64_t t0 = now_ns();
  int u = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  a.sin_port = htons((uint16_t)atoi(argv[1]));
  if (u < 0 || connect(u, (struct sockaddr *)&a, sizeof a) != 0) { perror("connect upstream"); return 1; }
  fcntl(u, F_SETFL, fcntl(u, F_GETFL) | O_NONBLOCK);
  setsockopt(c, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  setsockopt(u, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);

  struct dir d[2] = {{.in = c, .out = u}, {.in = u, .out = c}};
  for (int i = 0; i < 2; i++) {
    if (pipe2(d[i].p, O_CLOEXEC | O_NONBLOCK) != 0) { perror("pipe"); return 1; }
    int got = fcntl(d[i].p[1], F_SETPIPE_SZ, pipe_bytes);
    d[i].cap = got > 0 ? (size_t)got : 65536;
    step(&d[i]);
  }
  while (!d[0].done || !d[1].done) {
    struct pollfd pf[2];
    int idx[2], n = 0;
    for (int i = 0; i < 2; i++) {
      if (d[i].done) continue;
      pf[n].fd = d[i].want == POLLOUT ? d[i].out : d[i].in;
      pf[n].events = d[i].want;
      pf[n].revents = 0;
      idx[n++] = i;
    }
    int r = poll(pf, (nfds_t)n, -1);
    if (r < 0) { if (errno == EINTR) continue; perror("poll"); return 1; }
    for (int k = 0; k < n; k++)
      if (pf[k].revents) step(&d[idx[k]]);  // errors and hang-ups show up in the next splice
  }
  double wall = (double)(now_ns() - t0) / 1e9;
  getrusage(RUSAGE_SELF, &ru);
  printf("{\"ok\":%s,\"wall\":%.6f,\"user\":%.6f,\"sys\":%.6f,\"maxRssKiB\":%ld,\"bytesUp\":%lld,\"bytesDown\":%lld,"
         "\"pipeBytes\":%zu}\n",
         d[0].failed || d[1].failed ? "false" : "true", wall, tv(ru.ru_utime) - tv(r0.ru_utime),
         tv(ru.ru_stime) - tv(r0.ru_stime), vm_hwm_kib(), d[0].bytes, d[1].bytes, d[0].cap);
  close(c);
  close(u);
  return d[0].failed || d[1].failed;
}
