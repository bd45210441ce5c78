// Osprey's native helpers, called from TypeScript through bun:ffi (src/native/index.ts).
//
// crc32c: the Castagnoli CRC of the WAL and snapshot formats, with the CPU's CRC instructions
// when it has them (SSE4.2 on x86-64, the ARMv8 CRC extension on arm64), a table otherwise.
// osprey_fdatasync / osprey_fallocate: the two system calls durability needs that Bun does not
// expose directly (Bun's own fdatasync is used as the fallback), returning 0 or an errno.
// osprey_nofile_raise / osprey_nofile_hard: the descriptor limit, raised at start-up (setrlimit).
// osprey_writeback: starts the WAL's writeback early (sync_file_range), so rotations block less.

#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/file.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#if defined(__aarch64__) && defined(__linux__)
#include <sys/auxv.h>
#ifndef HWCAP_CRC32
#define HWCAP_CRC32 (1 << 7)
#endif
#endif

static uint32_t table[8][256];
static int ready;
static int hardware;

static void init(void) {
  for (uint32_t i = 0; i < 256; i++) {
    uint32_t c = i;
    for (int k = 0; k < 8; k++) c = (c >> 1) ^ (0x82F63B78u & (0u - (c & 1)));
    table[0][i] = c;
  }
  for (uint32_t i = 0; i < 256; i++)
    for (int t = 1; t < 8; t++) table[t][i] = (table[t - 1][i] >> 8) ^ table[0][table[t - 1][i] & 0xff];
#if defined(__x86_64__)
  __builtin_cpu_init();
  hardware = __builtin_cpu_supports("sse4.2");
#elif defined(__aarch64__) && defined(__linux__)
  hardware = (getauxval(AT_HWCAP) & HWCAP_CRC32) != 0;
#endif
  ready = 1;
}

// Slice-by-8 over the tables: the portable path, also what src/native/crc32c.ts does in TypeScript.
static uint32_t crc_table(uint32_t c, const uint8_t *p, size_t n) {
  while (n >= 8) {
    uint32_t lo, hi;
    memcpy(&lo, p, 4);
    memcpy(&hi, p + 4, 4);
    lo ^= c;
    c = table[7][lo & 0xff] ^ table[6][(lo >> 8) & 0xff] ^ table[5][(lo >> 16) & 0xff] ^ table[4][lo >> 24] ^
        table[3][hi & 0xff] ^ table[2][(hi >> 8) & 0xff] ^ table[1][(hi >> 16) & 0xff] ^ table[0][hi >> 24];
    p += 8;
    n -= 8;
  }
  while (n--) c = (c >> 8) ^ table[0][(c ^ *p++) & 0xff];
  return c;
}

#if defined(__x86_64__)
#include <nmmintrin.h>
__attribute__((target("sse4.2"))) static uint32_t crc_hw(uint32_t c, const uint8_t *p, size_t n) {
  uint64_t c64 = c;
  // Three independent streams would hide the instruction's latency; one stream already runs at
  // ~8 bytes/cycle-ish on current cores, far beyond what the disk takes, so keep it simple.
  while (n >= 8) {
    uint64_t v;
    memcpy(&v, p, 8);
    c64 = _mm_crc32_u64(c64, v);
    p += 8;
    n -= 8;
  }
  c = (uint32_t)c64;
  while (n--) c = _mm_crc32_u8(c, *p++);
  return c;
}
#elif defined(__aarch64__)
#include <arm_acle.h>
__attribute__((target("+crc"))) static uint32_t crc_hw(uint32_t c, const uint8_t *p, size_t n) {
  while (n >= 8) {
    uint64_t v;
    memcpy(&v, p, 8);
    c = __crc32cd(c, v);
    p += 8;
    n -= 8;
  }
  while (n--) c = __crc32cb(c, *p++);
  return c;
}
#else
static uint32_t crc_hw(uint32_t c, const uint8_t *p, size_t n) { return crc_table(c, p, n); }
#endif

/** CRC32C of p[0..len) continuing from `seed` (0 to start): crc32c(b, crc32c(a)) == crc32c(a ++ b). */
uint32_t osprey_crc32c(const uint8_t *p, uint32_t len, uint32_t seed) {
  if (!ready) init();
  uint32_t c = ~seed;
  c = hardware ? crc_hw(c, p, len) : crc_table(c, p, len);
  return ~c;
}

/** The same over p[start..start+len): TypeScript passes whole arrays, since a subarray per call costs more than the call. */
uint32_t osprey_crc32c_at(const uint8_t *p, uint32_t start, uint32_t len, uint32_t seed) {
  return osprey_crc32c(p + start, len, seed);
}

/** 1 when crc32c runs on CRC instructions, 0 when on tables. */
int osprey_crc32c_hardware(void) {
  if (!ready) init();
  return hardware;
}

int osprey_fdatasync(int fd) { return fdatasync(fd) == 0 ? 0 : errno; }

/**
 * Reserves disk blocks for [offset, offset+len) without changing the file's size, so later writes
 * there cannot fail for lack of space: the WAL learns "disk full" before it applies a write.
 * Returns 0, or an errno (EOPNOTSUPP where the file system cannot reserve).
 */
int osprey_reserve(int fd, int64_t offset, int64_t len) {
  // Reserving past the end does not grow the file, so RLIMIT_FSIZE would only bite at the write:
  // check it here, where refusing is still clean.
  struct rlimit lim;
  if (getrlimit(RLIMIT_FSIZE, &lim) == 0 && lim.rlim_cur != RLIM_INFINITY && (uint64_t)(offset + len) > (uint64_t)lim.rlim_cur) return EFBIG;
#if defined(__linux__)
  return fallocate(fd, FALLOC_FL_KEEP_SIZE, (off_t)offset, (off_t)len) == 0 ? 0 : errno;
#else
  (void)fd; (void)offset; (void)len;
  return EOPNOTSUPP;
#endif
}

/**
 * Starts writeback of [offset, offset+len) without waiting for it (sync_file_range WRITE): the WAL
 * calls it as it grows, so the fdatasync of a rotation finds little left to write and blocks the
 * event loop for less. Durability is unchanged: nothing is promised until an fdatasync returns.
 * Returns 0, or an errno (EOPNOTSUPP off Linux).
 */
int osprey_writeback(int fd, int64_t offset, int64_t len) {
#if defined(__linux__)
  return sync_file_range(fd, (off_t)offset, (off_t)len, SYNC_FILE_RANGE_WRITE) == 0 ? 0 : errno;
#else
  (void)fd; (void)offset; (void)len;
  return EOPNOTSUPP;
#endif
}

/**
 * Past RLIMIT_FSIZE the kernel sends SIGXFSZ, whose default action kills the process; ignored,
 * the write fails with EFBIG instead, which the WAL answers like a full disk.
 */
void osprey_ignore_sigxfsz(void) { signal(SIGXFSZ, SIG_IGN); }

/**
 * Takes an exclusive advisory lock on fd without waiting (the data_dir's LOCK file). Returns 0, or
 * an errno: EWOULDBLOCK while another process (or another open of the file) holds it. The kernel
 * drops the lock when the fd is closed or the process dies, so a crash never leaves it stale.
 */
int osprey_lock(int fd) { return flock(fd, LOCK_EX | LOCK_NB) == 0 ? 0 : errno; }

/**
 * Raises the soft RLIMIT_NOFILE to the hard limit (Linux caps the soft limit at the hard one, and an
 * infinite hard limit at nr_open, so a failed raise to infinity is retried at the largest int).
 * Every client is a descriptor: below max_clients plus the server's own files, accept() fails with
 * EMFILE and the WAL cannot rotate. Returns the soft limit now (clamped to INT32_MAX), or -errno.
 */
int32_t osprey_nofile_raise(void) {
  struct rlimit lim;
  if (getrlimit(RLIMIT_NOFILE, &lim) != 0) return -errno;
  if (lim.rlim_cur != lim.rlim_max) {
    struct rlimit want = lim;
    want.rlim_cur = lim.rlim_max;
    if (setrlimit(RLIMIT_NOFILE, &want) != 0 && lim.rlim_max == RLIM_INFINITY) {
      want.rlim_cur = INT32_MAX;
      while (want.rlim_cur > lim.rlim_cur && setrlimit(RLIMIT_NOFILE, &want) != 0) want.rlim_cur /= 2;
    }
    if (getrlimit(RLIMIT_NOFILE, &lim) != 0) return -errno;
  }
  return lim.rlim_cur == RLIM_INFINITY || lim.rlim_cur > INT32_MAX ? INT32_MAX : (int32_t)lim.rlim_cur;
}

/** The hard RLIMIT_NOFILE (clamped to INT32_MAX), or -errno: the most a raise can reach. */
int32_t osprey_nofile_hard(void) {
  struct rlimit lim;
  if (getrlimit(RLIMIT_NOFILE, &lim) != 0) return -errno;
  return lim.rlim_max == RLIM_INFINITY || lim.rlim_max > INT32_MAX ? INT32_MAX : (int32_t)lim.rlim_max;
}
