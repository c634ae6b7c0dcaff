// Benchmark receiver: one process for every variant, discarding as fast as it
// can. Listens on 127.0.0.1 (port 0 = any), prints "PORT <n>" on stdout, and
// serves each connection on its own thread:
//
//   client -> 8-byte little-endian header: S, the size of each transfer
//   client -> S bytes, receiver -> 1 ack byte, repeated until the client's EOF
//
// Bytes go socket -> pipe -> /dev/null with splice(2): they are never copied
// to user space. On close, a connection prints one line to stdout:
//   CONN <bytes> <transfers> <wall_us> <thread_cpu_us>
// so the bench can check the receiver was not the bottleneck.
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
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

static int devnull;
static pthread_mutex_t out_lock = PTHREAD_MUTEX_INITIALIZER;

static int64_t now_us(clockid_t c) {
  struct timespec ts;
  clock_gettime(c, &ts);
  return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

static int read_full(int fd, void *buf, size_t n) {
  size_t got = 0;
  while (got < n) {
    ssize_t r = read(fd, (char *)buf + got, n - got);
    if (r < 0 && errno == EINTR) continue;
    if (r <= 0) return -1;
    got += (size_t)r;
  }
  return 0;
}

static void *serve(void *arg) {
  int sock = (int)(intptr_t)arg;
  int p[2];
  uint64_t size = 0, total = 0, transfers = 0;
  int64_t t0 = now_us(CLOCK_MONOTONIC), c0 = now_us(CLOCK_THREAD_CPUTIME_ID);
  if (pipe2(p, O_CLOEXEC) != 0) { close(sock); return NULL; }
  fcntl(p[1], F_SETPIPE_SZ, 1 << 20);
  if (read_full(sock, &size, 8) != 0 || size == 0) goto done;
  for (int eof = 0; !eof;) {
    uint64_t rem = size;
    while (rem > 0) {
      size_t want = rem > (1u << 20) ? (1u << 20) : (size_t)rem;
      ssize_t n = splice(sock, NULL, p[1], NULL, want, SPLICE_F_MOVE);
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) { eof = 1; break; }
      rem -= (uint64_t)n;
      total += (uint64_t)n;
      while (n > 0) {
        ssize_t m = splice(p[0], NULL, devnull, NULL, (size_t)n, SPLICE_F_MOVE);
        if (m < 0 && errno == EINTR) continue;
        if (m <= 0) { eof = 1; break; }
        n -= m;
      }
    }
    if (eof || rem != 0) break;
    transfers++;
    char ack = 'k';
    if (write(sock, &ack, 1) != 1) break;
  }
done:;
  int64_t wall = now_us(CLOCK_MONOTONIC) - t0, cpu = now_us(CLOCK_THREAD_CPUTIME_ID) - c0;
  pthread_mutex_lock(&out_lock);
  printf("CONN %llu %llu %lld %lld\n", (unsigned long long)total, (unsigned long long)transfers,
         (long long)wall, (long long)cpu);
  fflush(stdout);
  pthread_mutex_unlock(&out_lock);
  close(p[0]);
  close(p[1]);
  close(sock);
  return NULL;
}

int main(int argc, char **argv) {
  signal(SIGPIPE, SIG_IGN);
  devnull = open("/dev/null", O_WRONLY | O_CLOEXEC);
  int ls = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  int one = 1;
  setsockopt(ls, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  struct sockaddr_in a = {0};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  a.sin_port = htons(argc > 1 ? (uint16_t)atoi(argv[1]) : 0);
  if (devnull < 0 || ls < 0 || bind(ls, (struct sockaddr *)&a, sizeof a) != 0 || listen(ls, 128) != 0) {
    perror("receiver");
    return 1;
  }
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
