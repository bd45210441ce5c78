// Osprey's native helpers, called from TypeScript through bun:ffi (src/native/index.ts).
//
// crc32c: the Castagnoli CRC of the WAL and snapshot formats, with the CPU's CRC instructions
// when it has them (SSE4.2 on x86-64, the ARMv8 CRC extension on arm64), a table otherwise.
// osprey_fdatasync / osprey_fallocate: the two system calls durability needs that Bun does not
// expose directly (Bun's own fdatasync is used as the fallback), returning 0 or an errno.
// osprey_nofile_raise / osprey_nofile_hard: the descriptor limit, raised at start-up (setrlimit).
// osprey_writeback: starts the WAL's writeback early (sync_file_range), so rotations block less.
// osprey_prefault: faults memory in from a thread of its own, so that recovery's first writes
// into fresh memory do not wait while the kernel zeroes it.

#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <sys/file.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sched.h>
#include <unistd.h>
#include <time.h>

#if defined(__aarch64__) && defined(__linux__)
#include <sys/auxv.h>
#ifndef HWCAP_CRC32
#define HWCAP_CRC32 (1 << 7)
#endif
#endif

static uint32_t table[8][256];
static int ready;
static int hardware;
static void init_shift(void);

static void init(void) {
  for (uint32_t i = 0; i < 256; i++) {
    uint32_t c = i;
    for (int k = 0; k < 8; k++) c = (c >> 1) ^ (0x82F63B78u & (0u - (c & 1)));
    table[0][i] = c;
  }
  for (uint32_t i = 0; i < 256; i++)
    for (int t = 1; t < 8; t++) table[t][i] = (table[t - 1][i] >> 8) ^ table[0][table[t - 1][i] & 0xff];
  init_shift();
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

// Hardware CRC: one CRC instruction per 8 bytes. The instruction's latency (3 cycles on current
// x86 and arm cores) is three times its issue rate, so one dependent chain runs at a third of what
// the core can do. Over longer inputs three chains run side by side, over three consecutive
// blocks of BLOCK bytes each, and are joined at the end: the register is linear, so the CRC of
// a ++ b is shift(crc(a), |b|) ^ crc_from_zero(b), where shift advances a register over |b| zero
// bytes. shift over BLOCK bytes is four table lookups (shift_table, built once in init). At 16 KiB
// values this is ~6% of a SET's server CPU with one chain (bench/RESULTS.md).
#define CRC_BLOCK 256
static uint32_t shift_table[4][256];

// Advances register c over n zero bytes, a byte at a time: only used to build shift_table.
static uint32_t zeros_slow(uint32_t c, size_t n) {
  while (n--) c = (c >> 8) ^ table[0][c & 0xff];
  return c;
}

static void init_shift(void) {
  uint32_t basis[32];
  for (int b = 0; b < 32; b++) basis[b] = zeros_slow(1u << b, CRC_BLOCK);
  for (int k = 0; k < 4; k++)
    for (uint32_t v = 0; v < 256; v++) {
      uint32_t r = 0;
      for (int j = 0; j < 8; j++)
        if (v & (1u << j)) r ^= basis[8 * k + j];
      shift_table[k][v] = r;
    }
}

static inline uint32_t shift_block(uint32_t c) {
  return shift_table[0][c & 0xff] ^ shift_table[1][(c >> 8) & 0xff] ^ shift_table[2][(c >> 16) & 0xff] ^
         shift_table[3][c >> 24];
}

#if defined(__x86_64__)
#include <nmmintrin.h>
#define CRC_TARGET __attribute__((target("sse4.2")))
#define CRC64(c, v) ((uint32_t)_mm_crc32_u64((c), (v)))
#define CRC8(c, v) _mm_crc32_u8((c), (v))
#elif defined(__aarch64__)
#include <arm_acle.h>
#define CRC_TARGET __attribute__((target("+crc")))
#define CRC64(c, v) __crc32cd((c), (v))
#define CRC8(c, v) __crc32cb((c), (v))
#endif

#ifdef CRC64
// The crc of p[0..n) in three interleaved chains of CRC_BLOCK bytes, combined by shift_block; with
// o non-null it also copies p to o in the same pass (each word loaded once, fed to its chain and
// stored), so the WAL's crc over a large value read from the socket costs no second pass over it
// (osprey_copy_crc32c). Always inlined into the two callers below, each with `o` fixed, so the
// compiler drops the copies from crc_hw and the test from both.
CRC_TARGET static inline __attribute__((always_inline)) uint32_t crc_chains(uint32_t c, const uint8_t *p, uint8_t *o, size_t n) {
  while (n >= 3 * CRC_BLOCK) {
    uint32_t c1 = 0, c2 = 0;
    const uint8_t *q = p + CRC_BLOCK, *r = p + 2 * CRC_BLOCK;
    for (size_t i = 0; i < CRC_BLOCK; i += 8) {
      uint64_t a, b, d;
      memcpy(&a, p + i, 8);
      memcpy(&b, q + i, 8);
      memcpy(&d, r + i, 8);
      c = CRC64(c, a);
      c1 = CRC64(c1, b);
      c2 = CRC64(c2, d);
      if (o) {
        memcpy(o + i, &a, 8);
        memcpy(o + CRC_BLOCK + i, &b, 8);
        memcpy(o + 2 * CRC_BLOCK + i, &d, 8);
      }
    }
    c = shift_block(shift_block(c) ^ c1) ^ c2;
    p += 3 * CRC_BLOCK;
    if (o) o += 3 * CRC_BLOCK;
    n -= 3 * CRC_BLOCK;
  }
  while (n >= 8) {
    uint64_t v;
    memcpy(&v, p, 8);
    c = CRC64(c, v);
    if (o) {
      memcpy(o, &v, 8);
      o += 8;
    }
    p += 8;
    n -= 8;
  }
  while (n--) {
    if (o) *o++ = *p;
    c = CRC8(c, *p++);
  }
  return c;
}

CRC_TARGET static uint32_t crc_hw(uint32_t c, const uint8_t *p, size_t n) { return crc_chains(c, p, NULL, n); }
CRC_TARGET static uint32_t copy_crc_hw(uint32_t c, const uint8_t *p, uint8_t *o, size_t n) { return crc_chains(c, p, o, n); }
#else
static uint32_t crc_hw(uint32_t c, const uint8_t *p, size_t n) { return crc_table(c, p, n); }
static uint32_t copy_crc_hw(uint32_t c, const uint8_t *p, uint8_t *o, size_t n) {
  memcpy(o, p, n);
  return crc_table(c, o, n);
}
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

/**
 * Copies src[s..s+n) to dst[at..at+n) and returns the CRC register `reg` advanced over those bytes:
 * the raw register, without crc32c's inversions, so a value copied in chunks chains from 0 and
 * osprey_crc32c_extend turns it into the CRC of the value after any seed.
 */
uint32_t osprey_copy_crc32c(const uint8_t *src, uint32_t s, uint32_t n, uint8_t *dst, uint32_t at, uint32_t reg) {
  if (!ready) init();
  if (hardware) return copy_crc_hw(reg, src + s, dst + at, n);
  memcpy(dst + at, src + s, n);
  return crc_table(reg, dst + at, n);
}

// a · b modulo the CRC polynomial, both as reflected polynomials (bit 31 is x^0), as zlib's
// crc32_combine does it; x2n[k] is x^(2^k).
static uint32_t multmodp(uint32_t a, uint32_t b) {
  uint32_t m = 1u << 31, p = 0;
  for (;;) {
    if (a & m) {
      p ^= b;
      if ((a & (m - 1)) == 0) break;
    }
    m >>= 1;
    b = b & 1 ? (b >> 1) ^ 0x82F63B78u : b >> 1;
  }
  return p;
}

/**
 * crc32c(value, seed), given `reg0`, the raw register over the value's `n` bytes from 0
 * (osprey_copy_crc32c's): the register is linear, so the seed's register advanced over n zero
 * bytes (x^(8n) · ~seed, in log n multiplications) and reg0 add up to the value's after the seed.
 */
uint32_t osprey_crc32c_extend(uint32_t seed, uint32_t n, uint32_t reg0) {
  uint32_t x2n = 1u << 30; // x^1, then x^2, x^4, ...
  uint32_t shift = 1u << 31; // x^0
  // x^(8n): bit k of n contributes x^(8·2^k) = x^(2^(k+3)).
  for (int k = 0; k < 3; k++) x2n = multmodp(x2n, x2n);
  for (uint64_t m = n; m != 0; m >>= 1) {
    if (m & 1) shift = multmodp(x2n, shift);
    x2n = multmodp(x2n, x2n);
  }
  return ~(multmodp(shift, ~seed) ^ reg0);
}

/** 1 when crc32c runs on CRC instructions, 0 when on tables. */
int osprey_crc32c_hardware(void) {
  if (!ready) init();
  return hardware;
}

static uint32_t get_u32(const uint8_t *p) {
  return (uint32_t)p[0] | ((uint32_t)p[1] << 8) | ((uint32_t)p[2] << 16) | ((uint32_t)p[3] << 24);
}

/** The store's key hash (engine/hashtable.ts hashKey): FNV-1a with a seed, murmur3's finisher. */
static int32_t key_hash(const uint8_t *p, uint32_t n, int32_t seed) {
  uint32_t h = (uint32_t)seed;
  for (uint32_t i = 0; i < n; i++) h = (h ^ p[i]) * 0x01000193u;
  h ^= h >> 16;
  h *= 0x85ebca6bu;
  h ^= h >> 13;
  h *= 0xc2b2ae35u;
  return (int32_t)(h ^ (h >> 16));
}

/**
 * Snapshot loading in bulk (persistence/walk.ts): decodes the whole, good entries of
 * b[start..end) (docs/FORMAT.md: key_len u32 · value_len u32 · expiry_ms i64 · version u64 · key ·
 * value · crc u32), at most `max` of them, checking each one's lengths and crc as format.ts's
 * parseEntry does, and stops at the first one that is cut off by `end` or does not check — the
 * caller reads that one the slow way, which names what is wrong. For entry i: ints[4i..4i+3] =
 * its offset, key length, value length and key hash (`seed`); nums[2i], nums[2i+1] = its expiry
 * and version as doubles (as getI64/getU64 read them). Returns how many were decoded.
 */
int32_t osprey_snap_entries(const uint8_t *b, uint32_t start, uint32_t end, uint32_t key_max, uint32_t value_max, int32_t seed,
                            int32_t *ints, double *nums, int32_t max) {
  if (!ready) init();
  int32_t n = 0;
  uint64_t at = start;
  while (n < max && end - at >= 24) {
    const uint8_t *e = b + at;
    uint32_t kl = get_u32(e), vl = get_u32(e + 4);
    if (kl == 0 || kl > key_max || vl > value_max) break;
    uint64_t bytes = 24ull + kl + vl + 4;
    if (end - at < bytes) break;
    uint32_t body = (uint32_t)(bytes - 4);
    if (osprey_crc32c(e, body, 0) != get_u32(e + body)) break;
    int64_t expiry;
    uint64_t version;
    memcpy(&expiry, e + 8, 8);
    memcpy(&version, e + 16, 8);
    ints[4 * n] = (int32_t)at;
    ints[4 * n + 1] = (int32_t)kl;
    ints[4 * n + 2] = (int32_t)vl;
    ints[4 * n + 3] = key_hash(e + 24, kl, seed);
    nums[2 * n] = (double)expiry;
    nums[2 * n + 1] = (double)version;
    n++;
    at += bytes;
  }
  return n;
}

/**
 * WAL replay in bulk (persistence/walk.ts): decodes the whole, good SET, DEL and EXPIRE records
 * of b[start..end) (docs/FORMAT.md: magic u32 · format u16 · type u8 · key_len u32 · value_len
 * u32 · expiry_ms i64 · version u64 · key · value · crc u32 from the type on), at most `max`,
 * checking each as format.ts's parseRecord does, and stops at the first one that is cut off by
 * `end`, does not check, or is of another type (a batch, a clear): the caller reads that one the
 * slow way. For record i: ints[5i..5i+4] = its offset, type, key length, value length and key
 * hash (`seed`); nums[2i], nums[2i+1] = its expiry and version. Returns how many were decoded.
 */
int32_t osprey_wal_records(const uint8_t *b, uint32_t start, uint32_t end, uint32_t key_max, double record_max, int32_t seed,
                           int32_t *ints, double *nums, int32_t max) {
  if (!ready) init();
  int32_t n = 0;
  uint64_t at = start;
  while (n < max && end - at >= 31) {
    const uint8_t *r = b + at;
    if (get_u32(r) != 0x4f535057u || (r[4] | (r[5] << 8)) != 1 || r[6] > 2) break;
    uint32_t kl = get_u32(r + 7), vl = get_u32(r + 11);
    uint64_t bytes = 35ull + kl + vl;
    if (kl == 0 || kl > key_max || (double)bytes > record_max || end - at < bytes) break;
    if (osprey_crc32c(r + 6, (uint32_t)(bytes - 10), 0) != get_u32(r + bytes - 4)) break;
    int64_t expiry;
    uint64_t version;
    memcpy(&expiry, r + 15, 8);
    memcpy(&version, r + 23, 8);
    ints[5 * n] = (int32_t)at;
    ints[5 * n + 1] = r[6];
    ints[5 * n + 2] = (int32_t)kl;
    ints[5 * n + 3] = (int32_t)vl;
    ints[5 * n + 4] = key_hash(r + 31, kl, seed);
    nums[2 * n] = (double)expiry;
    nums[2 * n + 1] = (double)version;
    n++;
    at += bytes;
  }
  return n;
}

/* The whole 4 KiB pages within [p, p + len): [*from, *to). Returns whether there is one. Advice
 * applies to whole pages, and a partial one at either end may hold memory that is not the caller's. */
#if defined(__linux__)
static int whole_pages(uintptr_t p, uintptr_t len, uintptr_t *from, uintptr_t *to) {
  *from = (p + 4095) & ~(uintptr_t)4095;
  *to = (p + len) & ~(uintptr_t)4095;
  return *to > *from;
}
#endif

/**
 * Asks the kernel to back the whole 4 KiB pages of p[0..len) with transparent huge pages
 * (madvise MADV_HUGEPAGE, Linux) — for the hash table's slots, where every probe of a large table
 * is a random access: with 2 MiB pages it misses the TLB far less. Only memory not yet touched is
 * affected. Returns 0, an errno, or -1 where the platform has no such advice.
 */
int32_t osprey_advise_huge(uint8_t *p, double len) {
#if defined(__linux__) && defined(MADV_HUGEPAGE)
  uintptr_t from, to;
  if (!whole_pages((uintptr_t)p, (uintptr_t)len, &from, &to)) return 0;
  return madvise((void *)from, to - from, MADV_HUGEPAGE) == 0 ? 0 : errno;
#else
  (void)p;
  (void)len;
  return -1;
#endif
}

int osprey_fdatasync(int fd) { return fdatasync(fd) == 0 ? 0 : errno; }

/*
 * Recovery writes about a gigabyte into memory it has just allocated, and every first write to a
 * page makes the kernel zero it on the writing thread: 41% of a 10M-key recovery's CPU samples
 * were clear_page. osprey_prefault hands a list of ranges to a detached thread that faults them
 * in, in order, while the caller goes on; the caller's writes that get there first simply fault
 * the page themselves.
 *
 * The thread touches each 4 KiB with an atomic add of zero: a write fault that changes no byte,
 * even beside the caller's own writes to the same memory. MADV_POPULATE_WRITE would do the same
 * but holds the process's mmap lock (shared) while it zeroes, and the caller's mmap, munmap and
 * madvise(MADV_HUGEPAGE) wait for it: a 30M-key recovery's loader sat blocked 3-6 s of its 9-11 s.
 * A fault takes only the lock of its own mapping (per-VMA locks, Linux 6.4). Touching memory that
 * is unmapped would crash, so the caller keeps the ranges mapped until the thread stores 1 in
 * *done (native/index.ts holds their views until then). `ranges` holds n (address, length)
 * pairs as doubles; they are copied. Returns 0 once the thread runs, an errno, or -1 where the
 * platform has no threads for it.
 */
#if defined(__linux__)
#ifndef MADV_COLLAPSE
#define MADV_COLLAPSE 25
#endif
/* An advice_job's `advice` that is no madvise: touch each page (osprey_prefault). */
#define ADVICE_TOUCH (-1)

struct advice_job {
  int advice;
  int32_t n;
  /* Set to 1 once the job is done (ADVICE_TOUCH), or NULL. */
  int32_t *done;
  uintptr_t range[];
};

/*
 * A collapse is best effort: the kernel answers EAGAIN when a page it would move is busy for a
 * moment (locked, or not yet on its LRU lists) and ENOMEM when no free 2 MiB block could be made
 * just then; both can pass, so a collapse tries each range up to COLLAPSE_TRIES times, waiting a
 * little longer each time. It stopped at the first answer once, in a test run busy with other
 * processes, and left all 16 MiB on small pages.
 */
#define COLLAPSE_TRIES 5

static void *advice_run(void *arg) {
  struct advice_job *job = arg;
  for (int32_t i = 0; i < job->n; i++) {
    uintptr_t from, to;
    if (!whole_pages(job->range[2 * i], job->range[2 * i + 1], &from, &to)) continue;
    if (job->advice == ADVICE_TOUCH) {
      for (uintptr_t at = from; at < to; at += 4096) __atomic_fetch_add((volatile char *)at, 0, __ATOMIC_RELAXED);
      continue;
    }
    int failed = madvise((void *)from, to - from, job->advice) != 0;
    for (int t = 1; failed && job->advice == MADV_COLLAPSE && (errno == EAGAIN || errno == ENOMEM) && t < COLLAPSE_TRIES; t++) {
      usleep(50000u * (unsigned)t);
      failed = madvise((void *)from, to - from, job->advice) != 0;
    }
    /* EINVAL: a kernel without the advice; nothing else here would work either. */
    if (failed && errno == EINVAL) break;
  }
  if (job->done != NULL) __atomic_store_n(job->done, 1, __ATOMIC_RELEASE);
  free(job);
  return NULL;
}

/* Runs `run(job)` on a detached thread: 0, or pthread_create's error (the job is then the caller's to free). */
static int start_detached(void *(*run)(void *), void *job) {
  pthread_attr_t attr;
  pthread_t thread;
  pthread_attr_init(&attr);
  pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
  int rc = pthread_create(&thread, &attr, run, job);
  pthread_attr_destroy(&attr);
  return rc;
}

/* Hands `advice` over n (address, length) pairs of doubles (copied) to a detached thread, which stores 1 in *done (if not NULL) at the end. */
static int32_t advise_in_thread(const double *ranges, int32_t n, int advice, int32_t *done) {
  if (n <= 0) return 0;
  struct advice_job *job = malloc(sizeof *job + 2 * (size_t)n * sizeof(uintptr_t));
  if (job == NULL) return ENOMEM;
  job->advice = advice;
  job->n = n;
  job->done = done;
  for (int32_t i = 0; i < 2 * n; i++) job->range[i] = (uintptr_t)ranges[i];
  int rc = start_detached(advice_run, job);
  if (rc != 0) free(job);
  return rc;
}
#endif

int32_t osprey_prefault(const double *ranges, int32_t n, int32_t *done) {
#if defined(__linux__)
  return advise_in_thread(ranges, n, ADVICE_TOUCH, done);
#else
  (void)ranges;
  (void)n;
  (void)done;
  return -1;
#endif
}

/*
 * A snapshot child shares the parent's memory copy-on-write, and the first write the parent makes
 * to a shared transparent huge page splits it into 4 KiB pages for good (the kernel copies the 4
 * KiB written, not 2 MiB). SETs while a snapshot runs touch entry records all over, so after one
 * snapshot under writes the records, asked for huge pages at 1M ids, held none (smaps
 * AnonHugePages 208 MiB → 0 at 10M keys): every lookup missed the TLB again, and the next fork
 * had more page tables to copy. osprey_collapse asks the kernel, from a detached thread, to put
 * the ranges back on huge pages (madvise MADV_COLLAPSE, Linux 6.1). Same contract as
 * osprey_prefault: the advice never changes what memory holds; returns 0 once the thread runs,
 * an errno, or -1 where the platform has no such advice.
 */
int32_t osprey_collapse(const double *ranges, int32_t n) {
#if defined(__linux__)
  return advise_in_thread(ranges, n, MADV_COLLAPSE, NULL);
#else
  (void)ranges;
  (void)n;
  return -1;
#endif
}

/*
 * Recovery reads the snapshot front to back on the main thread, and the snapshot child drops its
 * file from the page cache as it writes it (pace_writeback), so after a crash the first reader
 * finds none of it cached: each read then costs the reader the kernel's work of reading it in,
 * page cache allocation included (a cold 1.4 GB read took 2.1 s here, 1.8 s of it system time,
 * against 0.2 s cached). osprey_read_ahead hands [from, from + len) of the file to a detached
 * thread that reads it into the page cache ahead of the reader, READ_AHEAD_STEP at a time
 * (readahead(2), on a descriptor of its own, closed when done), so that work happens on another
 * core while the main thread decodes. Like prefault, a hint: the reader's own reads are
 * unchanged, and a range the reader got to first is simply read twice by the cache. Returns 0
 * once the thread runs, an errno, or -1 where the platform has no readahead.
 */
#define READ_AHEAD_STEP (8 << 20)

#if defined(__linux__)
struct read_ahead_job {
  int fd;
  off_t from, to;
};

static void *read_ahead_run(void *arg) {
  struct read_ahead_job *job = arg;
  for (off_t at = job->from; at < job->to; at += READ_AHEAD_STEP) {
    size_t n = (size_t)(job->to - at < READ_AHEAD_STEP ? job->to - at : READ_AHEAD_STEP);
    if (readahead(job->fd, at, n) != 0) break;
  }
  close(job->fd);
  free(job);
  return NULL;
}
#endif

int32_t osprey_read_ahead(int32_t fd, double from, double len) {
#if defined(__linux__)
  if (len <= 0) return 0;
  struct read_ahead_job *job = malloc(sizeof *job);
  if (job == NULL) return ENOMEM;
  job->fd = fcntl(fd, F_DUPFD_CLOEXEC, 0);
  if (job->fd < 0) {
    int e = errno;
    free(job);
    return e;
  }
  job->from = (off_t)from;
  job->to = (off_t)from + (off_t)len;
  int rc = start_detached(read_ahead_run, job);
  if (rc != 0) {
    close(job->fd);
    free(job);
  }
  return rc;
#else
  (void)fd;
  (void)from;
  (void)len;
  return -1;
#endif
}

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

/* ---- Snapshots written by a forked child ----------------------------------------------------
 * The parent hands over where the keyspace lives (its metadata arrays, slab pages and large
 * buffers) and forks; the child sees that memory frozen at the fork (copy-on-write, as Redis's
 * BGSAVE does), walks it in C and writes the snapshot file, while the parent's event loop goes on.
 * The child runs only this code: no JavaScript, no allocation (the chunk is the parent's), only
 * system calls that are safe after fork in a threaded process. Its exit status is the result.
 * The layout written is docs/FORMAT.md's snapshot, byte for byte what persistence/snapshot.ts
 * writes from the same data (a test compares them).
 */
#include <sys/wait.h>
#ifdef __linux__
#include <sys/prctl.h>
#include <sys/syscall.h>

/* Closes every descriptor from `from` up to `to` (inclusive): close_range when the kernel has it
 * (5.9+), else one close() each up to the descriptor limit. */
static void close_range_fds(unsigned from, unsigned to) {
  if (from > to) return;
#ifdef SYS_close_range
  if (syscall(SYS_close_range, from, to, 0) == 0) return;
#endif
  struct rlimit rl;
  unsigned max = getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur != RLIM_INFINITY ? (unsigned)rl.rlim_cur : 65536;
  if (to > max) to = max;
  for (unsigned fd = from; fd <= to; fd++) close((int)fd);
}

/* Closes every descriptor from 3 on except `a` and `b` (either may be -1). */
static void close_fds_but(int a, int b) {
  if (a > b) { int t = a; a = b; b = t; }
  unsigned from = 3;
  int keep[2] = {a, b};
  for (int i = 0; i < 2; i++) {
    if (keep[i] < (int)from) continue;
    close_range_fds(from, (unsigned)keep[i] - 1);
    from = (unsigned)keep[i] + 1;
  }
  close_range_fds(from, ~0U);
}

/* Slots of the descriptor array the parent fills (doubles: integers and addresses below 2^53). */
enum {
  SD_FD, SD_RECORDS, SD_RECORD_WORDS, SD_EXPIRY, SD_ID_LIMIT,
  SD_PAGES, SD_PAGE_COUNT, SD_LARGE_IDS, SD_LARGE_PTRS, SD_LARGE_COUNT,
  SD_CHUNK, SD_CHUNK_BYTES, SD_CHUNK_START, SD_PARENT, SD_PACE_BYTES_PER_S, SD_VERSIONS_APART, SD_SLOTS
};

/* Exit statuses of the child (anything else, or a signal, is a failure too). */
enum { SNAP_OK = 0, SNAP_WRITE = 10, SNAP_SYNC = 11, SNAP_LAYOUT = 12, SNAP_PARENT = 13, SNAP_PUBLISH = 14 };

/* Slots of the publishing descriptor (osprey_snapshot_fork's `p`): the data_dir's descriptor, and
 * addresses of NUL-terminated names in it and of the manifest's bytes (doubles, as `d`'s). */
enum { PD_DIR_FD, PD_TMP, PD_NAME, PD_MANIFEST_TMP, PD_MANIFEST, PD_MANIFEST_BYTES, PD_MANIFEST_LEN, PD_SLOTS };

#define SNAP_ENTRY_HEADER 24
#define SNAP_COUNT_OFFSET 6

static void put_u32(uint8_t *b, uint32_t v) {
  b[0] = (uint8_t)v; b[1] = (uint8_t)(v >> 8); b[2] = (uint8_t)(v >> 16); b[3] = (uint8_t)(v >> 24);
}

/* As bytes.ts putI64: two's complement of an integral double (clamped where int64 ends). */
static void put_i64(uint8_t *b, double v) {
  int64_t x = v >= 9223372036854775807.0 ? INT64_MAX : v <= -9223372036854775808.0 ? INT64_MIN : (int64_t)v;
  uint64_t u = (uint64_t)x;
  put_u32(b, (uint32_t)u);
  put_u32(b + 4, (uint32_t)(u >> 32));
}

static int write_all(int fd, const uint8_t *p, size_t n, off_t *pos) {
  while (n > 0) {
    ssize_t w = pwrite(fd, p, n, *pos);
    if (w < 0) {
      if (errno == EINTR) continue;
      return -1;
    }
    p += w; n -= (size_t)w; *pos += w;
  }
  return 0;
}

/*
 * The child's dirty page cache, bounded: every SNAP_WRITEBACK_STEP bytes written it starts their
 * writeback itself (sync_file_range WRITE), and once SNAP_WRITEBACK_AHEAD bytes are under way it
 * waits for the oldest and drops them from the cache (they are on disk; nothing reads them back).
 * Left to the kernel, the whole file (1.4 GB at 10M keys) would sit dirty until the flusher
 * threads write it at their normal priority, on the cores that serve clients, and stay cached
 * until reclaim; any fsync of the server's (the WAL's rotation, the data_dir) would also queue
 * behind it. Here the work is the child's, at the child's priority. A failure is not reported:
 * the final fdatasync says whether the data is on disk.
 *
 * The steps are small because each is a system call the kernel does not preempt (PREEMPT_NONE,
 * as here, is the common server setting): however idle the child's scheduling, a client that
 * wakes on its core waits for the call to return, and the server then waits for that client. A
 * wait for 16 MiB of writeback and a DONTNEED of 16 MiB were such calls; with 1 MiB steps and
 * 2 MiB dropped at a time, SET during 10M-key snapshots had p99 1.25-1.5x idle against 1.5-2.1x
 * (bench/RESULTS.md, session 13).
 */
#define SNAP_WRITEBACK_STEP (1 << 20)
#define SNAP_WRITEBACK_AHEAD (4 << 20)

struct writeback {
  off_t started; /* writeback was started for [0, started) */
  off_t dropped; /* [0, dropped) is on disk and out of the cache */
};

static void pace_writeback(int fd, off_t written, struct writeback *w) {
  if (written - w->started < SNAP_WRITEBACK_STEP) return;
  sync_file_range(fd, w->started, written - w->started, SYNC_FILE_RANGE_WRITE);
  w->started = written;
  if (w->started - w->dropped < SNAP_WRITEBACK_AHEAD) return;
  off_t to = w->started - SNAP_WRITEBACK_AHEAD / 2;
  sync_file_range(fd, w->dropped, to - w->dropped, SYNC_FILE_RANGE_WAIT_BEFORE | SYNC_FILE_RANGE_WRITE | SYNC_FILE_RANGE_WAIT_AFTER);
  posix_fadvise(fd, w->dropped, to - w->dropped, POSIX_FADV_DONTNEED);
  w->dropped = to;
}

/*
 * A busy server's snapshot is paced. The child costs the server more than the CPU it uses, which
 * SCHED_IDLE already gives back: it streams the whole keyspace through the caches and the memory
 * bus the server's lookups need, and every page the server writes after a fork traps once, so
 * snapshots that follow each other quickly make the server pay those traps again and again. At
 * 10M keys with snapshots back to back, writing at most 256 MiB/s (a 1.4 GB snapshot in ~5.8 s
 * against ~1.4 s) took GET during snapshots from 0.94–0.98 of idle to 0.97–1.05 and SET from
 * 0.83–0.89 to 0.89–0.95 (bench/RESULTS.md, session 10). A snapshot of an idle server is not paced: every
 * PACE_CHECK_NS the child reads the CPU time of the server's event loop (/proc/PID/schedstat) and
 * paces only while the loop ran at least PACE_BUSY_SHARE of the time since the last look.
 */
#define PACE_CHECK_NS 10000000LL
#define PACE_BUSY_SHARE 0.25

/*
 * Pacing has a price the parent sees and the child does not: while a child runs, the server's
 * overwrites of entries below 4 KiB go to fresh slab blocks (Store.shareWithChild), so the longer a
 * snapshot takes, the more memory a write-heavy load ties up until it ends. SET 16 KiB over 512 MiB
 * of keys (snapshots back to back there) ran at 0.63× of the unpaced speed, when 16 KiB entries
 * still moved too. So the parent can lift the pace of the
 * running child (osprey_snapshot_unpace, once the WAL grew by an eighth of the keyspace during it:
 * persistence/snapshot.ts): one int in a page both processes share (MAP_SHARED survives fork).
 */
static volatile int32_t *pace_lifted;

struct pace {
  double bytes_per_ns; /* while the server is busy; 0: never paced */
  pid_t parent;
  int64_t checked_ns;  /* when the event loop's CPU time was last read ... */
  int64_t parent_ns;   /* ... and what it was (-1: unreadable, never busy) */
  int busy;
  int64_t from_ns;     /* while busy, the file may reach from_pos + (now - from_ns) × rate */
  off_t from_pos;
};

static int64_t now_ns(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return (int64_t)t.tv_sec * 1000000000LL + t.tv_nsec;
}

/* The CPU time of process `pid`'s main thread (the server's event loop) in ns, from
 * /proc/PID/schedstat, or -1. Plain system calls and no stdio: this runs in the forked child of a
 * threaded process. */
static int64_t loop_cpu_ns(pid_t pid) {
  char path[40] = "/proc/";
  char digits[12];
  int n = 0, at = 6;
  for (unsigned v = (unsigned)pid; n == 0 || v > 0; v /= 10) digits[n++] = (char)('0' + v % 10);
  while (n > 0) path[at++] = digits[--n];
  memcpy(path + at, "/schedstat", 11);
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) return -1;
  char buf[96];
  ssize_t len = read(fd, buf, sizeof buf - 1);
  close(fd);
  if (len <= 0 || buf[0] < '0' || buf[0] > '9') return -1;
  int64_t v = 0;
  for (ssize_t k = 0; k < len && buf[k] >= '0' && buf[k] <= '9'; k++) v = v * 10 + (buf[k] - '0');
  return v;
}

static void pace_start(struct pace *p, double bytes_per_s, pid_t parent) {
  p->bytes_per_ns = bytes_per_s > 0 ? bytes_per_s / 1e9 : 0;
  p->parent = parent;
  p->checked_ns = now_ns();
  p->parent_ns = p->bytes_per_ns > 0 ? loop_cpu_ns(parent) : -1;
  p->busy = 0;
  p->from_ns = 0;
  p->from_pos = 0;
}

/* Called as the file reaches `pos`: sleeps as long as a busy server's pace asks. */
static void pace_wait(struct pace *p, off_t pos) {
  if (p->bytes_per_ns <= 0 || (pace_lifted != NULL && *pace_lifted)) return;
  int64_t t = now_ns();
  if (t - p->checked_ns >= PACE_CHECK_NS) {
    int64_t cpu = loop_cpu_ns(p->parent);
    int busy = cpu >= 0 && p->parent_ns >= 0 && (double)(cpu - p->parent_ns) >= PACE_BUSY_SHARE * (double)(t - p->checked_ns);
    if (busy && !p->busy) {
      p->from_ns = t;
      p->from_pos = pos;
    }
    p->busy = busy;
    p->checked_ns = t;
    p->parent_ns = cpu;
  }
  if (!p->busy) return;
  int64_t due = p->from_ns + (int64_t)((double)(pos - p->from_pos) / p->bytes_per_ns);
  if (due <= t) return;
  struct timespec wait = {(time_t)((due - t) / 1000000000LL), (long)((due - t) % 1000000000LL)};
  nanosleep(&wait, NULL);
}

/* Sets process `pid`'s scheduling policy (SCHED_IDLE or SCHED_OTHER, which take priority 0): 0 or -1. */
static int set_policy(pid_t pid, int policy) {
  struct sched_param none;
  memset(&none, 0, sizeof none);
  return sched_setscheduler(pid, policy, &none);
}

/* The store's entry record (engine/records.ts): REC_WORDS 32-bit words per entry id, the fields
 * at these word offsets. The version word holds the version itself, or REC_VERSION_APART for one
 * of 2^32 - 1 or more, which is in a double array by id (SD_VERSIONS_APART). The position is a slab block's
 * page and its index in the page (page << REC_PAGE_SHIFT | index), the block being
 * block_bytes(key length + value length) long, or REC_OWN for an entry with a buffer of its own
 * (its key at offset 0). The parent passes its word count, so a record changed on one side only
 * fails the snapshot (SNAP_LAYOUT) instead of writing garbage. */
#define REC_WORDS 5
#define REC_KEY_LEN 1
#define REC_VALUE_LEN 2
#define REC_POS 3
#define REC_VERSION 4
#define REC_VERSION_APART 0xffffffffu
#define REC_PAGE_SHIFT 19
#define REC_INDEX_MASK ((1u << REC_PAGE_SHIFT) - 1)
#define REC_OWN (8191u << REC_PAGE_SHIFT)

/* The slab block an entry of `size` bytes takes (engine/slab.ts blockBytes): 8, then 4-byte steps
 * to 128, then four steps per power of two. */
static size_t block_bytes(uint32_t size) {
  if (size <= 128) return size <= 8 ? 8 : (size + 3) & ~3u;
  uint32_t p = 31 - (uint32_t)__builtin_clz(size - 1); /* size is in (2^p, 2^(p+1)] */
  uint32_t shift = p - 2;
  uint32_t steps = (size - (1u << p) + (1u << shift) - 1) >> shift;
  return ((size_t)1 << p) + (size_t)steps * ((size_t)1 << shift);
}

/*
 * The parent writes an entry's record on every SET while the child runs (its slab position and
 * version). With the records shared copy-on-write, each first write into a 4 KiB page of them made
 * the kernel copy that page in the parent: ~5 µs a fault here, and at 10M keys nearly all 58,800
 * pages of records within one snapshot of SETs — a fifth of SET throughput. So the child first
 * copies the records into memory of its own and drops its mapping of the shared ones; the
 * parent's writes then find pages only it maps, which the kernel lets it write without a copy.
 * Returns the copy, or `records` itself when no memory could be had (the snapshot is the same).
 */
static const int32_t *own_records(const int32_t *records, size_t bytes) {
#if defined(__linux__)
  if (bytes < 2 * 4096) return records;
  int32_t *own = mmap(NULL, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_POPULATE, -1, 0);
  if (own == MAP_FAILED) return records;
  memcpy(own, records, bytes);
  uintptr_t from, to;
  if (whole_pages((uintptr_t)records, bytes, &from, &to)) madvise((void *)from, to - from, MADV_DONTNEED);
  return own;
#else
  (void)bytes;
  return records;
#endif
}

static void snapshot_child(const double *d, double now_ms) {
  int fd = (int)d[SD_FD];
  if (d[SD_RECORD_WORDS] != REC_WORDS) _exit(SNAP_LAYOUT);
  const int32_t *records = (const int32_t *)(uintptr_t)d[SD_RECORDS];
  const double *expiry = (const double *)(uintptr_t)d[SD_EXPIRY];
  const double *versions_apart = (const double *)(uintptr_t)d[SD_VERSIONS_APART];
  int32_t id_limit = (int32_t)d[SD_ID_LIMIT];
  const double *pages = (const double *)(uintptr_t)d[SD_PAGES];
  int32_t page_count = (int32_t)d[SD_PAGE_COUNT];
  const int32_t *large_ids = (const int32_t *)(uintptr_t)d[SD_LARGE_IDS];
  const double *large_ptrs = (const double *)(uintptr_t)d[SD_LARGE_PTRS];
  int32_t large_count = (int32_t)d[SD_LARGE_COUNT];
  uint8_t *chunk = (uint8_t *)(uintptr_t)d[SD_CHUNK];
  size_t cap = (size_t)d[SD_CHUNK_BYTES];
  size_t len = (size_t)d[SD_CHUNK_START];
  off_t pos = 0;
  struct writeback wb = {0, 0};
  struct pace pace;
  pace_start(&pace, d[SD_PACE_BYTES_PER_S], (pid_t)d[SD_PARENT]);
  int64_t count = 0;
  int32_t next_large = 0;
  records = own_records(records, (size_t)id_limit * REC_WORDS * sizeof(int32_t));
  for (int32_t id = 0; id < id_limit; id++) {
    const int32_t *rec = records + (size_t)id * REC_WORDS;
    uint32_t kl = (uint32_t)rec[REC_KEY_LEN];
    if (kl == 0) continue;
    /* The store holds "no expiry" as 0 (untouched memory) and an expiry of 0 ms as the smallest
     * double, which is past: engine/store.ts heldExpiry. */
    double ex = expiry[id];
    if (ex == 0) ex = -1;
    else if (ex <= now_ms) continue;
    uint32_t vl = (uint32_t)rec[REC_VALUE_LEN];
    uint32_t where = (uint32_t)rec[REC_POS];
    const uint8_t *src;
    if (where != REC_OWN) {
      int32_t page = (int32_t)(where >> REC_PAGE_SHIFT);
      if (page >= page_count) _exit(SNAP_LAYOUT);
      src = (const uint8_t *)(uintptr_t)pages[page];
    } else {
      while (next_large < large_count && large_ids[next_large] < id) next_large++;
      if (next_large == large_count || large_ids[next_large] != id) _exit(SNAP_LAYOUT);
      src = (const uint8_t *)(uintptr_t)large_ptrs[next_large];
    }
    if (src == NULL) _exit(SNAP_LAYOUT);
    if (where != REC_OWN) src += (size_t)(where & REC_INDEX_MASK) * block_bytes(kl + vl);
    size_t size = SNAP_ENTRY_HEADER + (size_t)kl + vl + 4;
    if (len + size > cap && len > 0) {
      if (write_all(fd, chunk, len, &pos) != 0) _exit(SNAP_WRITE);
      len = 0;
      pace_writeback(fd, pos, &wb);
      pace_wait(&pace, pos);
    }
    uint8_t head[SNAP_ENTRY_HEADER];
    put_u32(head, kl);
    put_u32(head + 4, vl);
    put_i64(head + 8, ex);
    uint32_t held = (uint32_t)rec[REC_VERSION];
    if (held == REC_VERSION_APART && versions_apart == NULL) _exit(SNAP_LAYOUT);
    put_i64(head + 16, held != REC_VERSION_APART ? (double)held : versions_apart[id]);
    if (size <= cap) {
      uint8_t *e = chunk + len;
      memcpy(e, head, SNAP_ENTRY_HEADER);
      memcpy(e + SNAP_ENTRY_HEADER, src, (size_t)kl + vl);
      put_u32(e + size - 4, osprey_crc32c(e, (uint32_t)(size - 4), 0));
      len += size;
    } else {
      /* One entry larger than the chunk: written from where it lives, in the same layout. */
      uint8_t crc[4];
      put_u32(crc, osprey_crc32c(src, kl + vl, osprey_crc32c(head, SNAP_ENTRY_HEADER, 0)));
      if (write_all(fd, head, SNAP_ENTRY_HEADER, &pos) != 0 || write_all(fd, src, (size_t)kl + vl, &pos) != 0 || write_all(fd, crc, 4, &pos) != 0) _exit(SNAP_WRITE);
      pace_writeback(fd, pos, &wb);
      pace_wait(&pace, pos);
    }
    count++;
  }
  if (len > 0 && write_all(fd, chunk, len, &pos) != 0) _exit(SNAP_WRITE);
  uint8_t n[8];
  put_i64(n, (double)count);
  off_t at = SNAP_COUNT_OFFSET;
  if (write_all(fd, n, 8, &at) != 0) _exit(SNAP_WRITE);
  if (fdatasync(fd) != 0) _exit(SNAP_SYNC);
}

static int sync_dir(int dir) {
  while (fsync(dir) != 0)
    if (errno != EINTR) return -1;
  return 0;
}

/*
 * The finished file takes its name and the manifest names it, in the durability order every
 * snapshot follows (persistence/snapshot.ts): rename → fsync dir → MANIFEST.json.tmp → fdatasync →
 * rename → fsync dir. Here rather than in the parent because each step waits for the file system's
 * journal, which on a busy disk takes tens to hundreds of milliseconds: in the parent that is the
 * event loop stopped. Each step is atomic, so a child killed between two leaves either the old
 * manifest or the new one, each naming a whole, synced snapshot. Deleting what the new manifest no
 * longer needs stays with the parent, which does it off its loop (an online backup may be opening
 * those files in the same turn that reads the old manifest).
 */
static void publish(const double *p, pid_t parent) {
  int dir = (int)p[PD_DIR_FD];
  const char *tmp = (const char *)(uintptr_t)p[PD_TMP];
  const char *name = (const char *)(uintptr_t)p[PD_NAME];
  const char *manifest_tmp = (const char *)(uintptr_t)p[PD_MANIFEST_TMP];
  const char *manifest = (const char *)(uintptr_t)p[PD_MANIFEST];
  const uint8_t *bytes = (const uint8_t *)(uintptr_t)p[PD_MANIFEST_BYTES];
  size_t len = (size_t)p[PD_MANIFEST_LEN];
  /* A server killed meanwhile leaves its last manifest in place (PDEATHSIG kills this child too,
   * but only once the kernel gets to it). */
  if (getppid() != parent) _exit(SNAP_PARENT);
  if (renameat(dir, tmp, dir, name) != 0 || sync_dir(dir) != 0) _exit(SNAP_PUBLISH);
  int m = openat(dir, manifest_tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0666);
  if (m < 0) _exit(SNAP_PUBLISH);
  off_t at = 0;
  if (write_all(m, bytes, len, &at) != 0 || fdatasync(m) != 0) _exit(SNAP_PUBLISH);
  close(m);
  if (renameat(dir, manifest_tmp, dir, manifest) != 0 || sync_dir(dir) != 0) _exit(SNAP_PUBLISH);
}

/**
 * Forks a child that writes the snapshot described by `d` (SD_SLOTS doubles) to its open file and
 * syncs it; then, when `p` (PD_SLOTS doubles) is not null, renames it and writes the manifest
 * (publish). Returns the child's pid, or -errno when fork fails. The parent learns the result from
 * the child's exit status (osprey_child_status).
 */
int32_t osprey_snapshot_fork(const double *d, double now_ms, const double *p, int32_t idle) {
  if (!ready) init();
  if (pace_lifted == NULL) {
    void *page = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    if (page != MAP_FAILED) pace_lifted = page; /* else children are paced as configured */
  }
  if (pace_lifted != NULL) *pace_lifted = 0;
  pid_t pid = fork();
  if (pid < 0) return -errno;
  if (pid > 0) return pid;
  /* The child: it must not outlive the server, and the server's signal handlers belong to the
   * parent's event loop. */
  prctl(PR_SET_PDEATHSIG, SIGKILL);
  if (getppid() != (pid_t)d[SD_PARENT]) _exit(SNAP_PARENT);
  struct sigaction dfl;
  memset(&dfl, 0, sizeof dfl);
  dfl.sa_handler = SIG_DFL;
  int sigs[] = {SIGTERM, SIGINT, SIGHUP, SIGUSR1, SIGUSR2, SIGQUIT};
  for (size_t i = 0; i < sizeof sigs / sizeof sigs[0]; i++) sigaction(sigs[i], &dfl, NULL);
  sigset_t none;
  sigemptyset(&none);
  sigprocmask(SIG_SETMASK, &none, NULL);
  /* Only the snapshot file and the data_dir stay open: a client socket the server closes must
   * really close (the child's copy would keep the connection up until it exits), the listeners
   * must not linger, and the data_dir lock stays with the server's own descriptor alone. */
  /* Clients come first: the child yields the CPU and the disk to the server (and, on a small
   * machine, to whatever else serves the clients). A snapshot takes longer when they compete.
   * With `idle`, it runs under SCHED_IDLE: only on a core nothing else wants, and preempted at
   * once when the server wakes up — at nice 19 alone the scheduler still lets it finish its slice
   * first (on the 2-core bench box the server then waited ~0.5 s per 4 s in the run queue, against
   * ~0.2 s under SCHED_IDLE). SCHED_IDLE can starve on a saturated machine, so the parent raises
   * it back to SCHED_OTHER at nice 19 after a while (osprey_snapshot_unidle), which the scheduler
   * never starves. */
  if (nice(19) == -1) { /* errno set, priority unchanged: not fatal */ }
  if (idle) set_policy(0, SCHED_IDLE);
  syscall(SYS_ioprio_set, 1 /* IOPRIO_WHO_PROCESS */, 0, (2 << 13) | 7 /* best effort, lowest */);
  int fd = (int)d[SD_FD];
  close_fds_but(fd, p == NULL ? -1 : (int)p[PD_DIR_FD]);
  snapshot_child(d, now_ms);
  if (p != NULL) publish(p, (pid_t)d[SD_PARENT]);
  _exit(SNAP_OK);
}

/**
 * Whether this process may raise a SCHED_IDLE child back to SCHED_OTHER at nice 19: root, or an
 * RLIMIT_NICE of at least 1 (the kernel's test for leaving SCHED_IDLE; CAP_SYS_NICE alone is not
 * seen here, and then the child simply runs at nice 19 from the start). 1 or 0.
 */
int32_t osprey_can_unidle(void) {
  struct rlimit lim;
  if (geteuid() == 0) return 1;
  return getrlimit(RLIMIT_NICE, &lim) == 0 && (lim.rlim_cur == RLIM_INFINITY || lim.rlim_cur >= 1) ? 1 : 0;
}

/** Lets the running snapshot child write at full speed from now on (see pace_lifted). */
void osprey_snapshot_unpace(void) {
  if (pace_lifted != NULL) *pace_lifted = 1;
}

/** Raises child `pid` from SCHED_IDLE to SCHED_OTHER, keeping its nice 19. Returns 0 or an errno. */
int32_t osprey_snapshot_unidle(int32_t pid) {
  return set_policy((pid_t)pid, SCHED_OTHER) == 0 ? 0 : errno;
}

#else
/* Elsewhere snapshots run on the event loop (native/index.ts canForkSnapshots is Linux only); the
 * symbols exist so that the library loads the same everywhere. */
int32_t osprey_snapshot_fork(const double *d, double now_ms, const double *p, int32_t idle) {
  (void)d;
  (void)now_ms;
  (void)p;
  (void)idle;
  return -ENOSYS;
}
int32_t osprey_can_unidle(void) { return 0; }
int32_t osprey_snapshot_unidle(int32_t pid) {
  (void)pid;
  return ENOSYS;
}
void osprey_snapshot_unpace(void) {}
#endif

/**
 * The state of child `pid`, without waiting: -1 while it runs, its exit status (0–255) once it
 * exited, 256 + the signal that killed it, or -2 when there is no such child (already reaped).
 */
int32_t osprey_child_status(int32_t pid) {
  int status = 0;
  pid_t r = waitpid((pid_t)pid, &status, WNOHANG);
  if (r == 0) return -1;
  if (r < 0) return errno == EINTR ? -1 : -2;
  if (WIFEXITED(status)) return WEXITSTATUS(status);
  if (WIFSIGNALED(status)) return 256 + WTERMSIG(status);
  return -1;
}
