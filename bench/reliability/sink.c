// Sink for the reliability benchmarks: one thread, epoll, any number of
// connections, every byte spliced socket -> pipe -> /dev/null (never copied to
// user space), so one process can drain a thousand senders without being the
// bottleneck for long. Listens on 127.0.0.1 (port 0 = any) and prints
// "PORT <n>" on stdout.
//
//   sink [BYTES_PER_SEC_PER_CONN]
//
// Without an argument (or 0) it reads as fast as it can. With a rate, it is a
// slow reader: every 10 ms it takes at most rate/100 bytes from each
// connection, leaving the senders' socket buffers full most of the time.
// A line on stdin ("?\n") makes it print "BYTES <total> CONNS <open>".
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#define MAX_EVENTS 256
#define STEP (1 << 20)

static int devnull, pipe_r, pipe_w;
static uint64_t total;
static int open_conns;

// Moves up to `max` bytes from sock to /dev/null; -1 when the peer has gone.
static int drain(int sock, size_t max) {
  size_t moved = 0;
  while (moved < max) {
    size_t want = max - moved > STEP ? STEP : max - moved;
    ssize_t n = splice(sock, NULL, pipe_w, NULL, want, SPLICE_F_MOVE | SPLICE_F_NONBLOCK);
    if (n == 0) return -1;
    if (n < 0) {
      if (errno == EINTR) continue;
      if (errno == EAGAIN) return 0;
      return -1;
    }
    for (ssize_t left = n; left > 0;) {
      ssize_t m = splice(pipe_r, NULL, devnull, NULL, (size_t)left, SPLICE_F_MOVE);
      if (m < 0 && errno == EINTR) continue;
      if (m <= 0) { perror("sink: splice to /dev/null"); exit(1); }
      left -= m;
    }
    moved += (size_t)n;
    total += (uint64_t)n;
  }
  return 0;
}

int main(int argc, char **argv) {
  long rate = argc > 1 ? atol(argv[1]) : 0;
  devnull = open("/dev/null", O_WRONLY | O_CLOEXEC);
  int p[2];
  if (devnull < 0 || pipe2(p, O_CLOEXEC) != 0) { perror("sink"); return 1; }
  pipe_r = p[0]; pipe_w = p[1];
  fcntl(pipe_w, F_SETPIPE_SZ, STEP);

  int lsock = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  int one = 1;
  setsockopt(lsock, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  struct sockaddr_in addr = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
  socklen_t alen = sizeof addr;
  if (bind(lsock, (struct sockaddr *)&addr, sizeof addr) != 0 || listen(lsock, 4096) != 0 ||
      getsockname(lsock, (struct sockaddr *)&addr, &alen) != 0) {
    perror("sink: listen");
    return 1;
  }
  printf("PORT %d\n", ntohs(addr.sin_port));
  fflush(stdout);

  int ep = epoll_create1(EPOLL_CLOEXEC);
  struct epoll_event ev = {.events = EPOLLIN, .data.fd = lsock};
  epoll_ctl(ep, EPOLL_CTL_ADD, lsock, &ev);
  ev.data.fd = 0;
  epoll_ctl(ep, EPOLL_CTL_ADD, 0, &ev);

  // Slow mode keeps its own list of connections and polls them on a tick.
  int *conns = NULL;
  size_t nconns = 0, cap = 0;
  struct epoll_event events[MAX_EVENTS];
  for (;;) {
    int n = epoll_wait(ep, events, MAX_EVENTS, rate > 0 ? 10 : -1);
    if (n < 0 && errno == EINTR) continue;
    for (int i = 0; i < n; i++) {
      int fd = events[i].data.fd;
      if (fd == lsock) {
        for (;;) {
          int c = accept4(lsock, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
          if (c < 0) break;
          open_conns++;
          if (rate > 0) {
            if (nconns == cap) conns = realloc(conns, (cap = cap ? cap * 2 : 1024) * sizeof *conns);
            conns[nconns++] = c;
          } else {
            struct epoll_event cev = {.events = EPOLLIN, .data.fd = c};
            epoll_ctl(ep, EPOLL_CTL_ADD, c, &cev);
          }
        }
      } else if (fd == 0) {
        char buf[64];
        ssize_t r = read(0, buf, sizeof buf);
        if (r <= 0) return 0;  // parent gone
        printf("BYTES %llu CONNS %d\n", (unsigned long long)total, open_conns);
        fflush(stdout);
      } else if (drain(fd, 4 * STEP) < 0) {
        close(fd);  // also leaves epoll
        open_conns--;
      }
    }
    if (rate > 0) {
      for (size_t i = 0; i < nconns;) {
        if (drain(conns[i], (size_t)(rate / 100)) < 0) {
          close(conns[i]);
          open_conns--;
          conns[i] = conns[--nconns];
        } else {
          i++;
        }
      }
    }
  }
}
