// Echo server behind the proxy for the request/response benchmark: one
// process for every variant. Listens on 127.0.0.1 (any port), prints
// "PORT <n>", and serves each connection on its own thread: whatever it
// reads it writes straight back (TCP_NODELAY). On EOF it prints
//   CONN <bytes> 0 <wall_us> <thread_cpu_us>
// (the receiver's format) so the bench can check the byte count and that the
// server was not the bottleneck.
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

static pthread_mutex_t out_lock = PTHREAD_MUTEX_INITIALIZER;

static int64_t now_us(clockid_t c) {
  struct timespec ts;
  clock_gettime(c, &ts);
  return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

static void *serve(void *arg) {
  int s = (int)(intptr_t)arg;
  static __thread char buf[256 * 1024];
  unsigned long long total = 0;
  int64_t t0 = now_us(CLOCK_MONOTONIC), c0 = now_us(CLOCK_THREAD_CPUTIME_ID);
  for (;;) {
    ssize_t n = read(s, buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    total += (unsigned long long)n;
    for (ssize_t off = 0; off < n;) {
      ssize_t w = write(s, buf + off, (size_t)(n - off));
      if (w < 0 && errno == EINTR) continue;
      if (w <= 0) goto done;
      off += w;
    }
  }
done:;
  int64_t wall = now_us(CLOCK_MONOTONIC) - t0, cpu = now_us(CLOCK_THREAD_CPUTIME_ID) - c0;
  pthread_mutex_lock(&out_lock);
  printf("CONN %llu 0 %lld %lld\n", total, (long long)wall, (long long)cpu);
  fflush(stdout);
  pthread_mutex_unlock(&out_lock);
  close(s);
  return NULL;
}

int main(void) {
  signal(SIGPIPE, SIG_IGN);
  int one = 1;
  int ls = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  setsockopt(ls, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  struct sockaddr_in a = {0};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (ls < 0 || bind(ls, (struct sockaddr *)&a, sizeof a) != 0 || listen(ls, 128) != 0) { perror("echo"); return 1; }
  socklen_t len = sizeof a;
  getsockname(ls, (struct sockaddr *)&a, &len);
  printf("PORT %d\n", ntohs(a.sin_port));
  fflush(stdout);
  for (;;) {  // runs until the bench kills it
    int s = accept4(ls, NULL, NULL, SOCK_CLOEXEC);
    if (s < 0) { if (errno == EINTR || errno == ECONNABORTED) continue; perror("accept"); return 1; }
    setsockopt(s, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    pthread_t t;
    pthread_attr_t at;
    pthread_attr_init(&at);
    pthread_attr_setdetachstate(&at, PTHREAD_CREATE_DETACHED);
    if (pthread_create(&t, &at, serve, (void *)(intptr_t)s) != 0) close(s);
    pthread_attr_destroy(&at);
  }
}
