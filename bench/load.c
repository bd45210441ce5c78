// A light closed-loop RESP load generator for bench/matrix.sh: one thread, epoll, N connections to
// 127.0.0.1 each keeping P requests in flight, SET or GET of `key:` + 12 digits (as bench.ts and
// redis-benchmark -r), latency of each request from its batch's write to its reply. Lighter than
// bench.ts (no JavaScript, values sent from one shared buffer with writev, reply bodies skipped
// unread), so at large values and many clients the servers, not the generator, are measured.
// Prints one JSON line shaped like `bench.ts --json`. Built at run time: gcc -O2 -o load load.c
//
//   load --port 6379 --clients 50 --pipeline 1 --op set --value-size 1048576 --keyspace 1000
//        --duration 10 --warmup 1 [--preload] [--value-fill x|random]
// --value-fill random: the value is random bytes (one buffer, so every key gets the same ones) that
// compression cannot shrink; the default, 'x' repeated, lets Redis's RDB (its AOF rewrite's base)
// compress every value to almost nothing, which Osprey's snapshots do not do.
//   load --port 6379 --value-size 16384 --keyspace 1000 --preload-only   (SET every key once, then exit)

#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

#define KEY_DIGITS 12
#define HDR_MAX 96
#define READ_BYTES (256 * 1024)

// Latency histogram in nanoseconds: exact below 1024 ns, then 128 buckets per power of two
// (under 0.8% wide), reported at the bucket's midpoint; max and mean are exact.
#define SUB 128
#define OCTAVES 44
static uint64_t hist[1024 + OCTAVES * SUB];
static uint64_t hist_count, hist_max;
static double hist_sum;

static int bucket_of(uint64_t v) {
  if (v < 1024) return (int)v;
  int e = 63 - __builtin_clzll(v);
  if (e - 10 >= OCTAVES) e = OCTAVES + 9, v = (uint64_t)1 << e | (((uint64_t)1 << e) - 1);
  return 1024 + (e - 10) * SUB + (int)((v >> (e - 7)) & (SUB - 1));
}

static double bucket_mid(int i) {
  if (i < 1024) return i;
  int e = (i - 1024) / SUB + 10, sub = (i - 1024) % SUB;
  double width = (double)((uint64_t)1 << (e - 7));
  return (double)(SUB + sub) * width + width / 2;
}

static void hist_add(uint64_t ns) {
  hist[bucket_of(ns)]++;
  hist_count++;
  hist_sum += (double)ns;
  if (ns > hist_max) hist_max = ns;
}

static double percentile_ms(double p) {
  if (hist_count == 0) return 0;
  uint64_t rank = (uint64_t)(p / 100.0 * (double)hist_count + 0.5), seen = 0;
  if (rank < 1) rank = 1;
  for (int i = 0; i < (int)(sizeof hist / sizeof hist[0]); i++) {
    seen += hist[i];
    if (seen >= rank) {
      double mid = bucket_mid(i);
      return (mid > (double)hist_max ? (double)hist_max : mid) / 1e6;
    }
  }
  return (double)hist_max / 1e6;
}

static uint64_t now_ns(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return (uint64_t)t.tv_sec * 1000000000u + (uint64_t)t.tv_nsec;
}

// ---- options ----
static int port = 6379, clients = 50, pipeline = 1, is_set = 1, preload = 0, preload_only = 0;
static long value_bytes = 100, keyspace = 100000;
static int value_random = 0;
static double duration_s = 10, warmup_s = 1;

static void usage(const char *why) {
  fprintf(stderr, "load: %s\nusage: load --port N --clients N --pipeline N --op set|get --value-size N --keyspace N --duration S --warmup S [--preload] [--value-fill x|random]\n", why);
  exit(2);
}

static long num(const char *name, const char *v, long min, long max) {
  char *end;
  errno = 0;
  long n = strtol(v, &end, 10);
  if (errno != 0 || *end != 0 || n < min || n > max) {
    char msg[128];
    snprintf(msg, sizeof msg, "--%s must be an integer in %ld..%ld", name, min, max);
    usage(msg);
  }
  return n;
}

static double seconds(const char *name, const char *v) {
  char *end;
  double s = strtod(v, &end);
  if (*end != 0 || !(s >= 0 && s <= 86400)) {
    char msg[128];
    snprintf(msg, sizeof msg, "--%s must be seconds in 0..86400", name);
    usage(msg);
  }
  return s;
}

// ---- connections ----
typedef struct {
  int fd;
  int inflight;
  int head;           // oldest in-flight request in `sent`
  uint64_t *sent;     // write time of each in-flight request, a ring of `pipeline`
  char *hdr;          // per slot (HDR_MAX each): the request's bytes before the value (all of it for GET)
  struct iovec *iov;  // the batch being written: header, value per request
  int iov_n, iov_at;  // iov[iov_at..iov_n) is unsent; iov[iov_at] may be partly sent
  int want_out;
  // reply parser: state 0 = a reply's first byte, 1 = rest of a line, 2 = bulk length, 3 = bulk body
  int st;
  char kind;
  long long num, body_left;
  int neg;
  char line[80];
  int line_len;
} Conn;

static Conn *conns;
static int ep;
static char *value_crlf;        // the value then CRLF, shared by every SET
static long next_key;           // --preload: the next key to set, in order
static int measuring, stopping;
static uint64_t gets_hit, gets_miss, errors;
static char first_error[96];
static int preloading;
static int hdr_len;             // bytes of a request before its value
static const int key_digits_at = 22; // after "*3\r\n$3\r\nSET\r\n$16\r\nkey:" (GET's "*2…GET" is as long)

static void fail(const char *what) {
  if (errors++ == 0) snprintf(first_error, sizeof first_error, "%s", what);
}

static void watch_out(Conn *c, int on) {
  if (c->want_out == on) return;
  c->want_out = on;
  struct epoll_event ev = {.events = EPOLLIN | (on ? EPOLLOUT : 0), .data.ptr = c};
  epoll_ctl(ep, EPOLL_CTL_MOD, c->fd, &ev);
}

/** Writes what is left of the batch; returns 0 when all went out, 1 when the kernel is full, -1 on error. */
static int flush_out(Conn *c) {
  while (c->iov_at < c->iov_n) {
    ssize_t n = writev(c->fd, c->iov + c->iov_at, c->iov_n - c->iov_at > 1024 ? 1024 : c->iov_n - c->iov_at);
    if (n < 0) {
      if (errno == EAGAIN || errno == EINTR) return 1;
      return -1;
    }
    while (n > 0) {
      struct iovec *v = &c->iov[c->iov_at];
      if ((size_t)n >= v->iov_len) {
        n -= (ssize_t)v->iov_len;
        c->iov_at++;
      } else {
        v->iov_base = (char *)v->iov_base + n;
        v->iov_len -= (size_t)n;
        n = 0;
      }
    }
  }
  return 0;
}

static void put_key(char *p, long key) {
  for (int i = KEY_DIGITS - 1; i >= 0; i--) {
    p[i] = (char)('0' + key % 10);
    key /= 10;
  }
}

/** Tops the connection up to `pipeline` requests in flight, written with one writev. */
static void refill(Conn *c, uint64_t now) {
  if (stopping || c->iov_at < c->iov_n) return;
  int room = pipeline - c->inflight;
  c->iov_n = c->iov_at = 0;
  int tail = (c->head + c->inflight) % pipeline;
  for (; room > 0; room--) {
    long key;
    if (preloading) {
      if (next_key >= keyspace) break;
      key = next_key++;
    } else {
      key = (long)(((double)random() / ((double)RAND_MAX + 1)) * (double)keyspace);
    }
    char *h = c->hdr + (size_t)tail * HDR_MAX;
    put_key(h + key_digits_at, key);
    c->iov[c->iov_n++] = (struct iovec){h, (size_t)hdr_len};
    if (is_set) c->iov[c->iov_n++] = (struct iovec){value_crlf, (size_t)value_bytes + 2};
    c->sent[tail] = now;
    tail = tail + 1 == pipeline ? 0 : tail + 1;
    c->inflight++;
  }
  if (c->iov_n == 0) return;
  int rc = flush_out(c);
  if (rc < 0) {
    fail("write failed: connection lost");
    stopping = 1;
  }
  watch_out(c, rc == 1);
}

static void complete(Conn *c, uint64_t now, int error) {
  if (c->inflight == 0) {
    fail("a reply with no request in flight");
    return;
  }
  if (measuring) hist_add(now - c->sent[c->head]);
  c->head = c->head + 1 == pipeline ? 0 : c->head + 1;
  c->inflight--;
  if (error) {
    c->line[c->line_len] = 0;
    fail(c->line);
  }
}

/** Feeds reply bytes through the parser; returns -1 on a malformed stream. */
static int feed(Conn *c, const char *p, size_t n, uint64_t now) {
  size_t i = 0;
  while (i < n) {
    switch (c->st) {
      case 0:
        c->kind = p[i++];
        c->line_len = 0;
        if (c->kind == '+' || c->kind == '-' || c->kind == ':') c->st = 1;
        else if (c->kind == '$') c->st = 2, c->num = 0, c->neg = 0;
        else return -1;
        break;
      case 1: {
        const char *lf = memchr(p + i, '\n', n - i);
        size_t upto = lf ? (size_t)(lf - p) : n;
        for (size_t k = i; k < upto && c->line_len < (int)sizeof c->line - 1; k++)
          if (p[k] != '\r') c->line[c->line_len++] = p[k];
        i = upto;
        if (lf) {
          i++;
          c->st = 0;
          complete(c, now, c->kind == '-');
        }
        break;
      }
      case 2: {
        char ch = p[i++];
        if (ch == '-') c->neg = 1;
        else if (ch >= '0' && ch <= '9') c->num = c->num * 10 + (ch - '0');
        else if (ch == '\n') {
          if (c->neg) {
            c->st = 0;
            if (!is_set && measuring) gets_miss++;
            complete(c, now, 0);
          } else {
            c->body_left = c->num + 2;
            c->st = 3;
          }
        } else if (ch != '\r') return -1;
        break;
      }
      case 3: {
        size_t take = n - i < (size_t)c->body_left ? n - i : (size_t)c->body_left;
        c->body_left -= (long long)take;
        i += take;
        if (c->body_left == 0) {
          c->st = 0;
          if (!is_set && measuring) gets_hit++;
          complete(c, now, 0);
        }
        break;
      }
    }
  }
  return 0;
}

static void setup(Conn *c) {
  c->fd = socket(AF_INET, SOCK_STREAM, 0);
  if (c->fd < 0) {
    perror("socket");
    exit(1);
  }
  struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK); // loopback only, whatever the arguments
  if (connect(c->fd, (struct sockaddr *)&a, sizeof a) != 0) {
    perror("load: connect 127.0.0.1");
    exit(1);
  }
  int one = 1;
  setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  fcntl(c->fd, F_SETFL, fcntl(c->fd, F_GETFL) | O_NONBLOCK);
  c->sent = calloc((size_t)pipeline, sizeof *c->sent);
  c->hdr = malloc((size_t)pipeline * HDR_MAX);
  c->iov = malloc((size_t)pipeline * 2 * sizeof *c->iov);
  if (!c->sent || !c->hdr || !c->iov) {
    fprintf(stderr, "load: out of memory\n");
    exit(1);
  }
  char tmpl[HDR_MAX];
  if (is_set) hdr_len = snprintf(tmpl, sizeof tmpl, "*3\r\n$3\r\nSET\r\n$16\r\nkey:000000000000\r\n$%ld\r\n", value_bytes);
  else hdr_len = snprintf(tmpl, sizeof tmpl, "*2\r\n$3\r\nGET\r\n$16\r\nkey:000000000000\r\n");
  for (int i = 0; i < pipeline; i++) memcpy(c->hdr + (size_t)i * HDR_MAX, tmpl, (size_t)hdr_len);
  struct epoll_event ev = {.events = EPOLLIN, .data.ptr = c};
  epoll_ctl(ep, EPOLL_CTL_ADD, c->fd, &ev);
}

/** Runs the event loop until `until_ns`, or (preloading) until every key is set. */
static void run(uint64_t until_ns) {
  static char buf[READ_BYTES];
  struct epoll_event evs[256];
  for (;;) {
    uint64_t now = now_ns();
    if (now >= until_ns || stopping) return;
    if (preloading && next_key >= keyspace) {
      int busy = 0;
      for (int i = 0; i < clients; i++) busy |= conns[i].inflight > 0;
      if (!busy) return;
    }
    int n = epoll_wait(ep, evs, 256, 50);
    if (n < 0 && errno != EINTR) {
      perror("epoll_wait");
      exit(1);
    }
    now = now_ns();
    for (int k = 0; k < n; k++) {
      Conn *c = evs[k].data.ptr;
      if (evs[k].events & EPOLLOUT) {
        int rc = flush_out(c);
        if (rc < 0) {
          fail("write failed: connection lost");
          stopping = 1;
          return;
        }
        watch_out(c, rc == 1);
        if (rc == 0) refill(c, now);
      }
      if (evs[k].events & (EPOLLIN | EPOLLHUP | EPOLLERR)) {
        ssize_t got = read(c->fd, buf, sizeof buf);
        if (got == 0 || (got < 0 && errno != EAGAIN && errno != EINTR)) {
          fail("connection closed by the server");
          stopping = 1;
          return;
        }
        if (got > 0) {
          if (feed(c, buf, (size_t)got, now) < 0) {
            fail("bad reply stream");
            stopping = 1;
            return;
          }
          refill(c, now);
        }
      }
    }
  }
}

static void json_string(const char *s) {
  putchar('"');
  for (; *s; s++) {
    if (*s == '"' || *s == '\\') printf("\\%c", *s);
    else if ((unsigned char)*s < 32) printf("\\u%04x", *s);
    else putchar(*s);
  }
  putchar('"');
}

int main(int argc, char **argv) {
  for (int i = 1; i < argc; i++) {
    const char *a = argv[i];
    if (strcmp(a, "--preload") == 0 || strcmp(a, "--preload-only") == 0) {
      preload = 1;
      preload_only = a[9] == '-';
      continue;
    }
    if (i + 1 >= argc) usage("every option but --preload and --preload-only takes a value");
    const char *v = argv[++i];
    if (strcmp(a, "--port") == 0) port = (int)num("port", v, 1, 65535);
    else if (strcmp(a, "--clients") == 0) clients = (int)num("clients", v, 1, 100000);
    else if (strcmp(a, "--pipeline") == 0) pipeline = (int)num("pipeline", v, 1, 100000);
    else if (strcmp(a, "--value-size") == 0) value_bytes = num("value-size", v, 0, 512L * 1024 * 1024);
    else if (strcmp(a, "--keyspace") == 0) keyspace = num("keyspace", v, 1, 999999999999L);
    else if (strcmp(a, "--value-fill") == 0) {
      if (strcmp(v, "x") == 0) value_random = 0;
      else if (strcmp(v, "random") == 0) value_random = 1;
      else usage("--value-fill is x or random");
    }
    else if (strcmp(a, "--duration") == 0) duration_s = seconds("duration", v);
    else if (strcmp(a, "--warmup") == 0) warmup_s = seconds("warmup", v);
    else if (strcmp(a, "--op") == 0) {
      if (strcmp(v, "set") == 0) is_set = 1;
      else if (strcmp(v, "get") == 0) is_set = 0;
      else usage("--op is set or get");
    } else usage("unknown option");
  }
  // A thousand connections need a thousand descriptors: take what the hard limit allows.
  struct rlimit lim;
  if (getrlimit(RLIMIT_NOFILE, &lim) == 0 && lim.rlim_cur < lim.rlim_max) {
    lim.rlim_cur = lim.rlim_max;
    setrlimit(RLIMIT_NOFILE, &lim);
  }
  signal(SIGPIPE, SIG_IGN);
  srandom((unsigned)now_ns());
  value_crlf = malloc((size_t)value_bytes + 2);
  if (!value_crlf) usage("value too large for memory");
  memset(value_crlf, 'x', (size_t)value_bytes);
  if (value_random) {
    uint64_t s = now_ns() | 1;
    for (long i = 0; i < value_bytes; i++) {
      s ^= s << 13;
      s ^= s >> 7;
      s ^= s << 17;
      value_crlf[i] = (char)(s >> 56);
    }
  }
  memcpy(value_crlf + value_bytes, "\r\n", 2);
  ep = epoll_create1(0);
  conns = calloc((size_t)clients, sizeof *conns);
  int was_set = is_set;
  for (int i = 0; i < clients; i++) setup(&conns[i]);

  if (preload && (!is_set || preload_only)) {
    // SET every key once, in order, so the GETs that follow hit: the same connections, SET headers.
    is_set = 1;
    for (int i = 0; i < clients; i++) {
      Conn *c = &conns[i];
      char tmpl[HDR_MAX];
      hdr_len = snprintf(tmpl, sizeof tmpl, "*3\r\n$3\r\nSET\r\n$16\r\nkey:000000000000\r\n$%ld\r\n", value_bytes);
      for (int s = 0; s < pipeline; s++) memcpy(c->hdr + (size_t)s * HDR_MAX, tmpl, (size_t)hdr_len);
    }
    preloading = 1;
    uint64_t t0 = now_ns();
    for (int i = 0; i < clients; i++) refill(&conns[i], t0);
    run(UINT64_MAX);
    preloading = 0;
    is_set = was_set;
    char tmpl[HDR_MAX];
    hdr_len = snprintf(tmpl, sizeof tmpl, "*2\r\n$3\r\nGET\r\n$16\r\nkey:000000000000\r\n");
    for (int i = 0; i < clients; i++)
      for (int s = 0; s < pipeline; s++) memcpy(conns[i].hdr + (size_t)s * HDR_MAX, tmpl, (size_t)hdr_len);
    fprintf(stderr, "load: preloaded %ld keys of %ld bytes in %.2f s\n", keyspace, value_bytes, (double)(now_ns() - t0) / 1e9);
    if (preload_only) return errors > 0 ? 1 : 0;
  }

  uint64_t start = now_ns();
  for (int i = 0; i < clients; i++) refill(&conns[i], start);
  run(start + (uint64_t)(warmup_s * 1e9));
  measuring = 1;
  uint64_t from = now_ns();
  run(from + (uint64_t)(duration_s * 1e9));
  uint64_t to = now_ns();
  measuring = 0;
  stopping = 1;

  double secs = (double)(to - from) / 1e9;
  printf("{\"generator\":\"load.c\",\"op\":\"%s\",\"protocol\":\"resp\",\"host\":\"127.0.0.1\",\"port\":%d,\"clients\":%d,\"pipeline\":%d,"
         "\"valueBytes\":%ld,\"keyspace\":%ld,\"durationS\":%.3f,\"ops\":%llu,\"opsPerSec\":%.0f,"
         "\"latencyMs\":{\"p50\":%.4f,\"p99\":%.4f,\"p999\":%.4f,\"max\":%.4f,\"mean\":%.4f},"
         "\"getHits\":%llu,\"getMisses\":%llu,\"errors\":%llu,\"firstError\":",
         is_set ? "set" : "get", port, clients, pipeline, value_bytes, keyspace, secs, (unsigned long long)hist_count,
         secs > 0 ? (double)hist_count / secs : 0, percentile_ms(50), percentile_ms(99), percentile_ms(99.9),
         (double)hist_max / 1e6, hist_count ? hist_sum / (double)hist_count / 1e6 : 0, (unsigned long long)gets_hit,
         (unsigned long long)gets_miss, (unsigned long long)errors);
  json_string(first_error);
  printf("}\n");
  fflush(stdout);
  if (errors > 0) fprintf(stderr, "load: %llu errors, first: %s\n", (unsigned long long)errors, first_error);
  return errors > 0 || hist_count == 0 ? 1 : 0;
}
