// HTTP/1.1 load for the bodies workload (bench/workloads/bodies.js): requests
// one after another on keep-alive connections, with no body byte ever copied
// to user space on this side.
//
//   http_client PORT PUT PATH CONNS DURATION_MS FILE
//       PUT with Content-Length and the body from FILE (page-cached) by
//       sendfile(2); the response must be 2xx with an empty body.
//   http_client PORT GET PATH CONNS DURATION_MS
//       GET; the response must be 200 with a Content-Length, whose body goes
//       socket -> pipe -> /dev/null by splice(2).
//   http_client PORT GET PATH 1 DURATION_MS OUT splice|copy
//       GET, each body written to OUT as `res.pipe(fs.createWriteStream(OUT))`
//       does it: opened with O_TRUNC per response, the bytes read with the
//       head written first, the rest socket -> pipe -> OUT by splice(2)
//       ("splice", the kernel's floor) or read(2)/write(2) through a 64 KiB
//       buffer ("copy", what a userspace copy costs), then closed. The C
//       ceiling of bench/tools/download-ceiling.sh.
//
// Each of CONNS threads connects (before the clock starts) and repeats its
// request until DURATION_MS have passed; a request under way then runs to its
// end, so only whole bodies count and the wall time runs to the last one.
// A response saying "Connection: close" (or a peer closing after a complete
// response) is followed by a new connection, counted in "reconnects".
// Prints one JSON line: wall time, body bytes, requests, this program's CPU
// (getrusage over the timed part, user and sys apart), peak RSS, latency per
// request (p50/p99/max), and ok: false with "error" if anything went wrong.
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
#include <strings.h>
#include <sys/resource.h>
#include <sys/sendfile.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define PIPE_BYTES (1 << 20)
#define MAX_CONNS 64

static int port, put, devnull, copy_out;
static const char *url_path, *body_file, *out_file;
static int64_t body_size, deadline_ns;
static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static double *lat;  // seconds per request, all threads
static size_t nlat, cap_lat;
static int64_t total_bytes, reconnects;
static char error[256];

static int64_t now_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static void fail(const char *what, int err) {
  pthread_mutex_lock(&lock);
  if (!error[0]) snprintf(error, sizeof error, "%s%s%s", what, err ? ": " : "", err ? strerror(err) : "");
  pthread_mutex_unlock(&lock);
}

// Peak RSS in KiB (VmHWM; not ru_maxrss, which keeps the spawner's mark across vfork+exec).
static long vm_hwm_kib(void) {
  FILE *f = fopen("/proc/self/status", "r");
  char line[256];
  long kib = -1;
  while (f && fgets(line, sizeof line, f))
    if (sscanf(line, "VmHWM: %ld", &kib) == 1) break;
  if (f) fclose(f);
  return kib;
}

static int connect_once(void) {
  int s = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0), one = 1;
  struct sockaddr_in a = {0};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  a.sin_port = htons((uint16_t)port);
  if (s < 0 || connect(s, (struct sockaddr *)&a, sizeof a) != 0) {
    fail("connect", errno);
    if (s >= 0) close(s);
    return -1;
  }
  setsockopt(s, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  return s;
}

static int write_full(int s, const char *p, size_t n, int flags) {
  while (n > 0) {
    ssize_t w = send(s, p, n, flags | MSG_NOSIGNAL);
    if (w < 0 && errno == EINTR) continue;
    if (w <= 0) return -1;
    p += w;
    n -= (size_t)w;
  }
  return 0;
}

// The value of header `name` in the header block [h, end), or NULL.
static const char *header(const char *h, const char *end, const char *name) {
  size_t n = strlen(name);
  for (const char *l = strstr(h, "\r\n"); l && l + 2 < end; l = strstr(l + 2, "\r\n")) {
    const char *k = l + 2;
    if ((size_t)(end - k) > n && strncasecmp(k, name, n) == 0 && k[n] == ':') {
      k += n + 1;
      while (*k == ' ' || *k == '\t') k++;
      return k;
    }
  }
  return NULL;
}

static int write_all_fd(int fd, const char *q, size_t n) {
  while (n > 0) {
    ssize_t w = write(fd, q, n);
    if (w < 0 && errno == EINTR) continue;
    if (w <= 0) return -1;
    q += w;
    n -= (size_t)w;
  }
  return 0;
}

// The `rem` body bytes left on socket s into fd `sink`: socket -> pipe -> sink
// by splice(2), or (copy) read(2)/write(2) through a 64 KiB buffer.
static int move_body(int s, int p[2], int sink, int64_t rem, int copy, const char *sink_name) {
  static char chunk[65536];  // copy mode: one connection, one thread (main() checks)
  while (rem > 0) {
    ssize_t m = copy ? read(s, chunk, rem > (int64_t)sizeof chunk ? sizeof chunk : (size_t)rem)
                     : splice(s, NULL, p[1], NULL, rem > PIPE_BYTES ? PIPE_BYTES : (size_t)rem, SPLICE_F_MOVE);
    if (m < 0 && errno == EINTR) continue;
    if (m <= 0) return fail(m ? "take the body from the socket" : "connection closed mid-body", m ? errno : 0), -1;
    rem -= m;
    if (copy) {
      if (write_all_fd(sink, chunk, (size_t)m) != 0) return fail(sink_name, errno), -1;
      continue;
    }
    while (m > 0) {
      ssize_t k = splice(p[0], NULL, sink, NULL, (size_t)m, SPLICE_F_MOVE);
      if (k < 0 && errno == EINTR) continue;
      if (k <= 0) return fail(sink_name, errno), -1;
      m -= k;
    }
  }
  return 0;
}

// A GET's body into out_file, as fs.createWriteStream(out_file) takes it:
// opened with O_TRUNC, the `have` bytes read with the head (at `end`) first.
static int save_body(int s, int p[2], const char *end, int64_t have, int64_t len) {
  int fd = open(out_file, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) return fail("open the output file", errno), -1;
  int rc = write_all_fd(fd, end, (size_t)have) == 0 ? 0 : (fail("write the output file", errno), -1);
  if (rc == 0) rc = move_body(s, p, fd, len - have, copy_out, "write the output file");
  if (close(fd) != 0 && rc == 0) rc = (fail("close the output file", errno), -1);
  return rc;
}

// One request and its response on socket s. Returns 1 if the connection stays
// open, 0 if the server closes it (a new one is needed), -1 on failure.
static int exchange(int s, int body_fd, int p[2]) {
  char buf[16384];
  int n = snprintf(buf, sizeof buf,
                   put ? "PUT %s HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: %lld\r\n\r\n"
                       : "GET %s HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n",
                   url_path, (long long)body_size);
  if (write_full(s, buf, (size_t)n, put ? MSG_MORE : 0) != 0) return fail("send request", errno), -1;
  if (put) {
    off_t off = 0;
    while (off < body_size) {
      ssize_t w = sendfile(s, body_fd, &off, (size_t)(body_size - off));
      if (w < 0 && errno == EINTR) continue;
      if (w <= 0) return fail("sendfile", errno), -1;
    }
  }
  // The response head (and any body bytes read with it).
  size_t got = 0;
  char *end = NULL;
  while (!end) {
    if (got == sizeof buf - 1) return fail("response head too long", 0), -1;
    ssize_t r = read(s, buf + got, sizeof buf - 1 - got);
    if (r < 0 && errno == EINTR) continue;
    if (r <= 0) return fail(r ? "read response" : "connection closed before a response", r ? errno : 0), -1;
    got += (size_t)r;
    buf[got] = 0;
    end = strstr(buf, "\r\n\r\n");
  }
  end += 4;
  int status = 0;
  if (sscanf(buf, "HTTP/1.%*d %d", &status) != 1 || status < 200 || status > 299 || (!put && status != 200)) {
    char msg[96];
    snprintf(msg, sizeof msg, "status %d: %.60s", status, buf);
    return fail(msg, 0), -1;
  }
  const char *cl = header(buf, end, "content-length");
  if (!cl) return fail("response without Content-Length", 0), -1;
  int64_t len = atoll(cl), have = (int64_t)(buf + got - end);
  if (put && len != 0) return fail("PUT response with a body", 0), -1;
  if (have > len) return fail("more bytes than the response's Content-Length", 0), -1;
  if (out_file ? save_body(s, p, end, have, len) : move_body(s, p, devnull, len - have, 0, "splice to /dev/null"))
    return -1;
  pthread_mutex_lock(&lock);
  total_bytes += put ? body_size : len;
  pthread_mutex_unlock(&lock);
  const char *conn = header(buf, end, "connection");
  return conn && strncasecmp(conn, "close", 5) == 0 ? 0 : 1;
}

static int socks[MAX_CONNS];

static void *run(void *arg) {
  int id = (int)(intptr_t)arg, s = socks[id], p[2] = {-1, -1};
  int body_fd = put ? open(body_file, O_RDONLY | O_CLOEXEC) : -1;
  if ((put && body_fd < 0) || pipe2(p, O_CLOEXEC) != 0) {
    fail(put ? "open body file" : "pipe", errno);
    return NULL;
  }
  fcntl(p[1], F_SETPIPE_SZ, PIPE_BYTES);
  while (now_ns() < deadline_ns && !error[0]) {
    if (s < 0 && (s = connect_once()) < 0) break;
    int64_t t0 = now_ns();
    int r = exchange(s, body_fd, p);
    if (r < 0) break;
    double l = (double)(now_ns() - t0) / 1e9;
    pthread_mutex_lock(&lock);
    if (nlat == cap_lat) {
      cap_lat = cap_lat ? cap_lat * 2 : 4096;
      lat = realloc(lat, cap_lat * sizeof *lat);
    }
    lat[nlat++] = l;
    if (r == 0) reconnects++;
    pthread_mutex_unlock(&lock);
    if (r == 0) {
      close(s);
      s = -1;
    }
  }
  if (s >= 0) close(s);
  if (body_fd >= 0) close(body_fd);
  close(p[0]);
  close(p[1]);
  return NULL;
}

static double tv(struct timeval t) { return t.tv_sec + t.tv_usec / 1e6; }

static int cmp(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return x < y ? -1 : x > y;
}

static double pct(double p) {
  if (nlat == 0) return 0;
  size_t i = (size_t)(p / 100.0 * (double)nlat);
  return lat[i >= nlat ? nlat - 1 : i];
}

int main(int argc, char **argv) {
  if (argc < 6 || (strcmp(argv[2], "PUT") == 0 && argc < 7)) {
    fprintf(stderr, "usage: %s PORT PUT|GET PATH CONNS DURATION_MS [FILE | OUT splice|copy]\n", argv[0]);
    return 2;
  }
  signal(SIGPIPE, SIG_IGN);
  port = atoi(argv[1]);
  put = strcmp(argv[2], "PUT") == 0;
  url_path = argv[3];
  int conns = atoi(argv[4]);
  int64_t duration_ms = atoll(argv[5]);
  if (conns < 1 || conns > MAX_CONNS) return 2;
  if (!put && argc >= 8) {
    out_file = argv[6];
    copy_out = strcmp(argv[7], "copy") == 0;
    if (conns != 1 || (!copy_out && strcmp(argv[7], "splice") != 0)) {
      fprintf(stderr, "GET with OUT: one connection, and splice or copy\n");
      return 2;
    }
  }
  if (put) {
    struct stat st;
    body_file = argv[6];
    if (stat(body_file, &st) != 0) {
      perror("stat");
      return 2;
    }
    body_size = st.st_size;
  }
  if ((devnull = open("/dev/null", O_WRONLY | O_CLOEXEC)) < 0) return 2;
  for (int i = 0; i < conns; i++)
    if ((socks[i] = connect_once()) < 0) break;
  struct rusage r0, ru;
  getrusage(RUSAGE_SELF, &r0);
  int64_t t0 = now_ns();
  deadline_ns = t0 + duration_ms * 1000000;
  pthread_t th[MAX_CONNS];
  int started = 0;
  for (; !error[0] && started < conns; started++) pthread_create(&th[started], NULL, run, (void *)(intptr_t)started);
  for (int i = 0; i < started; i++) pthread_join(th[i], NULL);
  double wall = (double)(now_ns() - t0) / 1e9;
  getrusage(RUSAGE_SELF, &ru);
  qsort(lat, nlat, sizeof *lat, cmp);
  for (char *c = error; *c; c++)
    if (*c < ' ' || *c == '"' || *c == '\\') *c = ' ';  // JSON-safe
  printf("{\"ok\":%s,\"error\":\"%s\",\"wall\":%.6f,\"bytes\":%lld,\"requests\":%zu,\"reconnects\":%lld,"
         "\"user\":%.6f,\"sys\":%.6f,\"maxRssKiB\":%ld,\"latP50\":%.9f,\"latP99\":%.9f,\"latMax\":%.9f}\n",
         error[0] ? "false" : "true", error, wall, (long long)total_bytes, nlat, (long long)reconnects,
         tv(ru.ru_utime) - tv(r0.ru_utime), tv(ru.ru_stime) - tv(r0.ru_stime), vm_hwm_kib(), pct(50), pct(99),
         nlat ? lat[nlat - 1] : 0.0);
  return error[0] ? 1 : 0;
}
