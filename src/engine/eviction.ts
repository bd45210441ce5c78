// Eviction under max_memory_bytes: the policies (Redis's names and meanings plus Osprey's own),
// the frequency sketch behind Osprey's policy, and the pool of candidates the sampled policies keep.
// The store owns the per-entry metadata (an access stamp and an LFU counter) and calls in here.

import { assert } from "../assert.ts";

/** eviction_policy values: Redis's eight, and Osprey's two (TinyLFU admission in front of sampled LFU). */
export const evictionPolicies = [
  "noeviction",
  "allkeys-lru",
  "volatile-lru",
  "allkeys-lfu",
  "volatile-lfu",
  "allkeys-random",
  "volatile-random",
  "volatile-ttl",
  "allkeys-osprey",
  "volatile-osprey",
] as const;
export type EvictionPolicy = (typeof evictionPolicies)[number];

/** How a policy ranks candidates. */
export const enum Rank {
  None,
  Lru,
  Lfu,
  Random,
  Ttl,
  Osprey,
}

/** What a policy means, decoded once when it is set: whether it evicts at all, from which keys, by what rank. */
export interface PolicyShape {
  readonly rank: Rank;
  /** Only keys with an expiry are candidates (volatile-*). */
  readonly volatile: boolean;
}

export function policyShape(p: EvictionPolicy): PolicyShape {
  const volatile = p.startsWith("volatile-");
  const tail = p.slice(p.indexOf("-") + 1);
  const rank = p === "noeviction" ? Rank.None : tail === "lru" ? Rank.Lru : tail === "lfu" ? Rank.Lfu : tail === "random" ? Rank.Random : tail === "ttl" ? Rank.Ttl : Rank.Osprey;
  return { rank, volatile };
}

/** Redis's LFU: a new key starts at 5 so it is not evicted before it had a chance to be read again. */
export const lfuInitial = 5;
/** Redis's lfu-log-factor default: ~1M hits take the counter to 255. */
const lfuLogFactor = 10;
/**
 * The counter loses one per this many accesses of the keyspace since the key's own last access
 * (Redis decays by wall-clock minutes; a logical clock makes a replay deterministic).
 */
export const lfuDecayShift = 20;

/** Redis's logarithmic increment: the higher the counter, the less likely one hit raises it. */
export function lfuIncrement(counter: number, r: number): number {
  if (counter >= 255) return 255;
  const base = counter - lfuInitial;
  const p = 1 / ((base < 0 ? 0 : base) * lfuLogFactor + 1);
  return r < p ? counter + 1 : counter;
}

/** The counter after `idle` accesses of others since the key's last access. */
export function lfuDecayed(counter: number, idle: number): number {
  const periods = idle >>> lfuDecayShift;
  return periods >= counter ? 0 : counter - periods;
}

/** Counters the sketch keeps per key it expects (it sizes its table to the keyspace). */
const sketchCounterMax = 15;
/** Positions each key updates; the estimate is their minimum (count-min). */
const sketchDepth = 4;
/** Once this many increments per key held happened, every counter halves: old popularity fades. */
const sketchSampleFactor = 10;
const sketchWidthMin = 1 << 12;
/** Counter slots per key the keyspace holds: the misses of keys not held are counted too, so room beyond the held keys keeps collisions rare. */
const sketchSlotsPerKey = 4;

/**
 * A count-min sketch of how often each key was asked for (hits and misses alike), with 4-bit
 * saturating counters two to a byte and periodic halving: TinyLFU's frequency filter. It is
 * sized to the keyspace (4 counters, 2 bytes, per key held, rounded up to a power of two) and rebuilt, empty, when the keyspace outgrows it.
 */
export class FrequencySketch {
  #table: Uint8Array;
  #shift: number;
  #additions = 0;
  #sampleSize: number;

  constructor(expectedKeys: number) {
    const width = widthFor(expectedKeys);
    this.#table = new Uint8Array(width / 2);
    this.#shift = 32 - Math.log2(width);
    this.#sampleSize = Math.max(sketchWidthMin / sketchSlotsPerKey, expectedKeys) * sketchSampleFactor;
  }

  /** Counter slots (two 4-bit counters a byte). */
  get width(): number {
    return this.#table.length * 2;
  }

  get bytes(): number {
    return this.#table.byteLength;
  }

  /** Starts over at the width `expectedKeys` needs, when that is larger than now. */
  fit(expectedKeys: number): void {
    const width = widthFor(expectedKeys);
    if (width <= this.width) return;
    this.#table = new Uint8Array(width / 2);
    this.#shift = 32 - Math.log2(width);
    this.#sampleSize = Math.max(sketchWidthMin / sketchSlotsPerKey, expectedKeys) * sketchSampleFactor;
    this.#additions = 0;
  }

  /** Counts one request for the key of hash `h`. */
  add(h: number): void {
    const t = this.#table;
    let grew = false;
    for (let i = 0; i < sketchDepth; i++) {
      const at = this.#index(h, i);
      const byte = t[at >>> 1]!;
      const shift = (at & 1) << 2;
      if (((byte >>> shift) & 15) < sketchCounterMax) {
        t[at >>> 1] = byte + (1 << shift);
        grew = true;
      }
    }
    if (grew && ++this.#additions >= this.#sampleSize) this.#halve();
  }

  /** The estimated count of the key of hash `h` (never below its true count since the last halving). */
  estimate(h: number): number {
    const t = this.#table;
    let min = sketchCounterMax;
    for (let i = 0; i < sketchDepth; i++) {
      const at = this.#index(h, i);
      const c = (t[at >>> 1]! >>> ((at & 1) << 2)) & 15;
      if (c < min) min = c;
    }
    return min;
  }

  #index(h: number, i: number): number {
    // Independent-enough positions from one 32-bit hash: a different odd multiplier per row.
    const x = Math.imul(h ^ rowSeeds[i]!, 0x9e3779b1);
    return (x ^ (x >>> 15)) >>> this.#shift;
  }

  #halve(): void {
    const t = this.#table;
    // Both nibbles at once: shift right, then clear the bit that crossed from the high nibble.
    for (let i = 0; i < t.length; i++) t[i] = (t[i]! >>> 1) & 0x77;
    this.#additions >>>= 1;
  }
}

const rowSeeds = [0x2545f491, 0x6c8e9cf5, 0x1b873593, 0x7ed55d16];

function widthFor(keys: number): number {
  const want = Math.max(sketchWidthMin, keys * sketchSlotsPerKey);
  return 2 ** Math.ceil(Math.log2(want));
}

/** Candidates Redis keeps between evictions (EVPOOL_SIZE): sampling then converges on the best victims. */
export const poolSize = 16;
/** Keys sampled per eviction (Redis's maxmemory-samples default). */
export const samplesPerEviction = 5;

/**
 * The eviction pool: the best victims seen so far, by score (higher evicts first), each with the
 * access stamp it had when scored so a key touched or replaced since is recognised as stale.
 */
export class EvictionPool {
  readonly ids = new Int32Array(poolSize);
  readonly scores = new Float64Array(poolSize);
  readonly stamps = new Uint32Array(poolSize);
  size = 0;

  /** Offers a candidate; keeps the pool sorted by descending score and at most poolSize long. */
  offer(id: number, score: number, stamp: number): void {
    const n = this.size;
    for (let i = 0; i < n; i++) if (this.ids[i] === id) return; // already pooled
    if (n === poolSize && score <= this.scores[n - 1]!) return;
    let i = n === poolSize ? n - 1 : n;
    while (i > 0 && this.scores[i - 1]! < score) {
      this.ids[i] = this.ids[i - 1]!;
      this.scores[i] = this.scores[i - 1]!;
      this.stamps[i] = this.stamps[i - 1]!;
      i--;
    }
    this.ids[i] = id;
    this.scores[i] = score;
    this.stamps[i] = stamp;
    if (n < poolSize) this.size++;
  }

  /** Removes the candidate at `i`. */
  take(i: number): void {
    assert(i < this.size, "eviction pool: taking past its end");
    for (let j = i + 1; j < this.size; j++) {
      this.ids[j - 1] = this.ids[j]!;
      this.scores[j - 1] = this.scores[j]!;
      this.stamps[j - 1] = this.stamps[j]!;
    }
    this.size--;
  }

  clear(): void {
    this.size = 0;
  }
}
