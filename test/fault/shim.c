// Test fault injection, loaded into the server with LD_PRELOAD (built by test/fault/shim.ts with
// the system cc). While the file named by OSPREY_FAULT_TRIGGER exists, I/O on files whose path
// contains OSPREY_FAULT_MATCH (".oswal", ".osnap", …) fails. The trigger's first word is the
// errno (EIO, ENOSPC, EROFS, EFBIG, EDQUOT); the words after it name the calls that fail
// (write fallocate fdatasync fsync), all of them when none is named. Deleting it clears the fault;
// the word "once" makes the first failure of a wrapped call delete it (the kernel reports a
// writeback error once); a swapped "write" fault lasts until the file is deleted.
//
// Why two mechanisms: native/osprey.c (fdatasync, fallocate) and Bun's fs.fdatasync/fsync reach
// libc's symbols, which the wrappers below replace; Bun's writeSync issues the write system call
// itself, which no wrapper sees. For "write" a thread polls the trigger and, while it names write,
// puts a descriptor that fails every write (a pty slave whose master is closed: EIO; /dev/full:
// ENOSPC; no descriptor fails with EROFS, so other errnos give EIO) in place of each matching
// descriptor with dup2, and puts the original back after. The wrappers route
// fallocate/fdatasync/fsync of a swapped descriptor to the original.
// OSPREY_FAULT_LOG, if set, gets one line per failure and per swap ("armed write <path>").

#define _GNU_SOURCE
#include <dirent.h>
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include <unistd.h>

#define FDS_MAX 4096

static const char *match, *trigger, *faultLog;
/** saved[fd] is the original description of a swapped descriptor fd (+1), or 0. */
static volatile int saved[FDS_MAX];
static pthread_mutex_t swapLock = PTHREAD_MUTEX_INITIALIZER;

static int errno_named(const char *w, size_t n) {
  static const struct { const char *name; int value; } names[] = {
      {"EIO", EIO}, {"ENOSPC", ENOSPC}, {"EROFS", EROFS}, {"EFBIG", EFBIG}, {"EDQUOT", EDQUOT},
  };
  for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
    if (strlen(names[i].name) == n && memcmp(names[i].name, w, n) == 0) return names[i].value;
  return EIO;
}

/** Reads the trigger: the errno that `call` fails with now, or 0; `consume` honours "once". */
static int trigger_errno(const char *call, int consume) {
  int t = open(trigger, O_RDONLY | O_CLOEXEC);
  if (t < 0) return 0;
  char text[256];
  ssize_t got = read(t, text, sizeof text - 1);
  close(t);
  text[got > 0 ? got : 0] = 0;
  char *p = text + strspn(text, " \n");
  size_t len = strcspn(p, " \n");
  if (len == 0) return 0; // an empty trigger (one being written) arms nothing
  int err = errno_named(p, len);
  int named = 0, hit = 0, once = 0;
  for (p += len;; p += len) {
    p += strspn(p, " \n");
    if (*p == 0) break;
    len = strcspn(p, " \n");
    if (len == 4 && memcmp(p, "once", 4) == 0) {
      once = 1;
      continue;
    }
    named = 1;
    if (strlen(call) == len && memcmp(call, p, len) == 0) hit = 1;
  }
  if (named && !hit) return 0;
  if (once && consume) unlink(trigger);
  return err;
}

static int path_of(int fd, char *path, size_t size) {
  char link[64];
  snprintf(link, sizeof link, "/proc/self/fd/%d", fd);
  ssize_t n = readlink(link, path, size - 1);
  if (n <= 0) return 0;
  path[n] = 0;
  return 1;
}

static void note(const char *what, const char *path) {
  if (faultLog == NULL) return;
  int l = open(faultLog, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644);
  if (l < 0) return;
  char line[4200];
  int m = snprintf(line, sizeof line, "%s %s\n", what, path);
  ssize_t (*real_write)(int, const void *, size_t) = dlsym(RTLD_NEXT, "write");
  if (m > 0 && real_write != NULL) (void)real_write(l, line, (size_t)m);
  close(l);
}

/** The descriptor the program meant: the original of a swapped one. */
static int original(int fd) {
  return fd >= 0 && fd < FDS_MAX && saved[fd] > 0 ? saved[fd] - 1 : fd;
}

/** The errno `call` on `fd` must fail with now, or 0 to let it through. */
static int fault_for(int fd, const char *call) {
  if (match == NULL || trigger == NULL || fd < 0) return 0;
  int keep = errno;
  char path[4096];
  int err = path_of(fd, path, sizeof path) && strstr(path, match) != NULL ? trigger_errno(call, 1) : 0;
  if (err) note(call, path);
  errno = keep;
  return err;
}

/** A descriptor whose every write fails with err. */
static int failing_fd(int err) {
  if (err == ENOSPC) return open("/dev/full", O_WRONLY | O_CLOEXEC);
  int master = posix_openpt(O_RDWR | O_NOCTTY | O_CLOEXEC);
  if (master < 0 || grantpt(master) != 0 || unlockpt(master) != 0) return -1;
  int slave = open(ptsname(master), O_RDWR | O_NOCTTY | O_CLOEXEC);
  close(master); // the slave is now hung up: writes to it fail with EIO
  return slave;
}

static void swap_in(int err) {
  DIR *d = opendir("/proc/self/fd");
  if (d == NULL) return;
  struct dirent *e;
  while ((e = readdir(d)) != NULL) {
    int fd = atoi(e->d_name);
    char path[4096];
    if (fd <= 2 || fd >= FDS_MAX || saved[fd] > 0 || !path_of(fd, path, sizeof path) || strstr(path, match) == NULL) continue;
    int bad = failing_fd(err);
    if (bad < 0) {
      // No /dev/full or no pty here: say so (once), so the test waiting for "armed" can tell why.
      static int told;
      if (!told) note("cannot arm write (no failing descriptor: /dev/full or /dev/ptmx missing)", path);
      told = 1;
      continue;
    }
    int keep = fcntl(fd, F_DUPFD_CLOEXEC, FDS_MAX);
    if (keep < 0) {
      close(bad);
      continue;
    }
    saved[fd] = keep + 1;
    dup3(bad, fd, O_CLOEXEC);
    close(bad);
    note("armed write", path);
  }
  closedir(d);
}

static void swap_out(void) {
  for (int fd = 3; fd < FDS_MAX; fd++) {
    if (saved[fd] == 0) continue;
    int keep = saved[fd] - 1;
    char path[4096];
    dup3(keep, fd, O_CLOEXEC);
    saved[fd] = 0;
    if (path_of(fd, path, sizeof path)) note("cleared write", path);
    close(keep);
  }
}

static void *poll_trigger(void *arg) {
  (void)arg;
  for (;;) {
    int err = trigger_errno("write", 0);
    pthread_mutex_lock(&swapLock);
    if (err) swap_in(err);
    else swap_out();
    pthread_mutex_unlock(&swapLock);
    usleep(2000);
  }
  return NULL;
}

__attribute__((constructor)) static void start(void) {
  match = getenv("OSPREY_FAULT_MATCH");
  trigger = getenv("OSPREY_FAULT_TRIGGER");
  faultLog = getenv("OSPREY_FAULT_LOG");
  if (match == NULL || trigger == NULL) return;
  pthread_t t;
  if (pthread_create(&t, NULL, poll_trigger, NULL) == 0) pthread_detach(t);
}

#define REAL(name) static __typeof__(name) *real; if (!real) real = dlsym(RTLD_NEXT, #name)

int fallocate(int fd, int mode, off_t offset, off_t len) {
  REAL(fallocate);
  fd = original(fd);
  int e = fault_for(fd, "fallocate");
  if (e) { errno = e; return -1; }
  return real(fd, mode, offset, len);
}

int fallocate64(int fd, int mode, off_t offset, off_t len) {
  REAL(fallocate64);
  fd = original(fd);
  int e = fault_for(fd, "fallocate");
  if (e) { errno = e; return -1; }
  return real(fd, mode, offset, len);
}

int fdatasync(int fd) {
  REAL(fdatasync);
  fd = original(fd);
  int e = fault_for(fd, "fdatasync");
  if (e) { errno = e; return -1; }
  return real(fd);
}

int fsync(int fd) {
  REAL(fsync);
  fd = original(fd);
  int e = fault_for(fd, "fsync");
  if (e) { errno = e; return -1; }
  return real(fd);
}
