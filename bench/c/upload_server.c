// The C ceiling for uploads (bench/tools/upload-ceiling.sh): a minimal
// HTTP/1.1 server that writes each request's Content-Length body into OUT
// (opened with O_TRUNC per request, as `fs.createWriteStream(out)` is) and
// answers `200` with an empty body. One connection at a time, one thread:
//   upload_server splice OUT   socket → pipe (1 MiB, as the library's pipes into
//                              files) → file by splice(2),
//                              each fill drained before the next (Go's rule);
//   upload_server copy OUT     read(2) into a 64 KiB buffer, write(2) to the file.
// Prints `PORT <n>` (127.0.0.1, a free port). Requests must not be pipelined
// (bench/c/http_client sends one after another).
#define _GNU_SOURCE
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#define PIPE_SIZE (1024 * 1024)

static char head[65536];
static char buf[65536];

static int write_all(int fd, const char *p, size_t n) {
  while (n > 0) {
    ssize_t w = write(fd, p, n);
    if (w <= 0) return -1;
    p += w;
    n -= (size_t)w;
  }
  return 0;
}

// Moves `left` body bytes from the socket into the file; 0 on success.
static int body(int sock, int file, long left, int by_splice, int pipefd[2]) {
  while (left > 0) {
    if (!by_splice) {
      ssize_t n = read(sock, buf, left < (long)sizeof buf ? (size_t)left : sizeof buf);
      if (n <= 0 || write_all(file, buf, (size_t)n) < 0) return -1;
      left -= n;
      continue;
    }
    ssize_t n = splice(sock, NULL, pipefd[1], NULL, left < PIPE_SIZE ? (size_t)left : PIPE_SIZE, SPLICE_F_MOVE);
    if (n <= 0) return -1;
    left -= n;
    while (n > 0) {
      ssize_t m = splice(pipefd[0], NULL, file, NULL, (size_t)n, SPLICE_F_MOVE);
      if (m <= 0) return -1;
      n -= m;
    }
  }
  return 0;
}

static void serve(int sock, const char *out, int by_splice, int pipefd[2]) {
  static const char ok[] = "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n";
  for (;;) {
    size_t have = 0;
    char *end;
    while (!(end = memmem(head, have, "\r\n\r\n", 4))) {
      if (have == sizeof head) return;
      ssize_t n = read(sock, head + have, sizeof head - have);
      if (n <= 0) return;
      have += (size_t)n;
    }
    size_t header_len = (size_t)(end + 4 - head);
    *end = '\0';
    const char *cl = strcasestr(head, "\r\ncontent-length:");
    long length = cl ? atol(cl + 17) : 0;
    int file = open(out, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (file < 0) return;
    size_t early = have - header_len < (size_t)length ? have - header_len : (size_t)length;
    int bad = write_all(file, head + header_len, early) < 0 ||
              body(sock, file, length - (long)early, by_splice, pipefd) < 0;
    close(file);
    if (bad || write_all(sock, ok, sizeof ok - 1) < 0) return;
  }
}

int main(int argc, char **argv) {
  if (argc != 3 || (strcmp(argv[1], "splice") != 0 && strcmp(argv[1], "copy") != 0)) {
    fprintf(stderr, "usage: upload_server splice|copy OUT\n");
    return 2;
  }
  int by_splice = strcmp(argv[1], "splice") == 0;
  int pipefd[2];
  if (pipe(pipefd) < 0) return 1;
  fcntl(pipefd[0], F_SETPIPE_SZ, PIPE_SIZE);
  int ls = socket(AF_INET, SOCK_STREAM, 0), one = 1;
  struct sockaddr_in addr = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
  socklen_t len = sizeof addr;
  if (ls < 0 || bind(ls, (struct sockaddr *)&addr, sizeof addr) < 0 || listen(ls, 16) < 0 ||
      getsockname(ls, (struct sockaddr *)&addr, &len) < 0) {
    perror("listen");
    return 1;
  }
  printf("PORT %d\n", ntohs(addr.sin_port));
  fflush(stdout);
  for (;;) {
    int sock = accept(ls, NULL, NULL);
    if (sock < 0) continue;
    setsockopt(sock, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    serve(sock, argv[2], by_splice, pipefd);
    close(sock);
    // A body cut short may leave bytes in the pipe: never reuse it then.
    int pending = 0;
    if (ioctl(pipefd[0], FIONREAD, &pending) == 0 && pending > 0) {
      close(pipefd[0]);
      close(pipefd[1]);
      if (pipe(pipefd) < 0) return 1;
      fcntl(pipefd[0], F_SETPIPE_SZ, PIPE_SIZE);
    }
  }
}
