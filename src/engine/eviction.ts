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
/**
 * Counter slots per key the keyspace holds: the misses of keys not held are counted too, so room beyond the
 * held keys keeps collisions rare. Two, not four: 4 gave no better hit ratio in bench/hitratio.ts (six seeds)
 * while its extra table cost ~1.5% of the keys a small cache holds.
 */
const sketchSlotsPerKey = 2;

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

/** The counter after `idle` accesses when it loses one per `period` accesses (Infinity: lfuDecayed's slow clock). */
export function lfuDecayedPer(counter: number, idle: number, period: number): number {
  if (!(period < Infinity)) return lfuDecayed(counter, idle);
  const periods = Math.floor(idle / period);
  return periods >= counter ? 0 : counter - periods;
}

/**
 * The decay settings the osprey policies choose from: the LFU counter loses one per this many
 * times the keyspace's size of accesses, or (Infinity) only on lfuDecayed's slow clock. Short
 * periods follow a hot set that moves; no decay keeps a stable one (bench/hitratio.ts: 2 gives
 * the shifting trace ~3.5 points and costs Zipf ~2.5; Infinity the reverse).
 */
export const decayFactors: readonly number[] = [2, Infinity];
/** Most keys one shadow cache holds: its keys are sampled at 1/2^k of the keyspace, k the smallest that keeps it under this. */
export const shadowKeysMax = 256;
/** The largest sampling rate, 1/2^this: below 16 × shadowKeysMax keys the shadows hold a 16th of the keyspace. */
const shadowShiftMin = 4;
/**
 * Shadows fewer keys than this are not worth simulating (a keyspace under 16 × this): the tuner
 * keeps its setting. At 16 (31-key shadows over a 500-key cache) the two shadows' difference was
 * noise, and 1 run in 10 adopted the fast decay for a stable hot set, which a scan then flushed whole.
 */
const shadowKeysMin = 64;
/**
 * A setting is adopted once its shadow leads the adopted one's by this many standard deviations of
 * the lead two equal settings would show by chance (over the accesses where the two disagree): the
 * sampled keys are few, and a wrong switch costs (2 on a stable Zipf trace costs ~2.5 points). At 2
 * the shifting trace adopted the fast decay late (65.5-67.0%, four seeds in bench/hitratio.ts); at 1
 * it does so a round or two sooner (67.0-67.2%), and no seed's Zipf or scan trace switched wrongly.
 */
const switchZ = 1;
/** What each adoption round keeps of the leads so far: older rounds fade, so a change in the workload shows within a few rounds. */
const scoreKeep = 0.75;
/** Keys a shadow's eviction samples (no pool: the shadows need a ranking of settings, not the main's exact victims). */
const shadowSamples = 5;

/**
 * Miniature simulations that pick the osprey policies' decay online (docs/ARCHITECTURE.md,
 * "Memory"). Reads of keys whose hash falls in a sampled 1/2^k of the hash space feed one small
 * cache per setting in decayFactors, each holding (keys held) / 2^k keys and running the same
 * policy (LFU counters decayed at its setting, TinyLFU admission against the store's own sketch,
 * a miss inserted as a cache-aside client would). Each round (as many sampled reads as a shadow
 * holds keys) a setting whose shadow leads the adopted one's by more than chance would give
 * becomes the store's. Work: a multiply and a compare per read; for the sampled ones a probe per
 * shadow and, on a miss, a 5-key sampled eviction: O(1). Memory: `bytes` (about 2 KiB a shadow
 * at most), counted in used_memory; no allocation but when a shadow's capacity grows.
 */
export class DecayTuner {
  readonly #shadows: ShadowCache[] = decayFactors.map((f) => new ShadowCache(f));
  readonly #hits = new Uint8Array(decayFactors.length);
  /** Per setting: its shadow's hits minus the adopted one's, over the accesses where they differ, and how many those were. */
  readonly #lead = new Float64Array(decayFactors.length);
  readonly #disagreements = new Float64Array(decayFactors.length);
  #shift = shadowShiftMin;
  #best = decayFactors.length - 1;
  #round = 0;
  #rounds = 0;

  /** Rounds of adoption run so far (tests watch the tuner work through them). */
  get rounds(): number {
    return this.#rounds;
  }

  /** The adopted setting: decay one step per this many × the keyspace's size of accesses (Infinity: none to speak of). */
  get factor(): number {
    return decayFactors[this.#best]!;
  }

  /** Bytes the shadows hold, as allocated. */
  get bytes(): number {
    let n = 0;
    for (const s of this.#shadows) n += s.bytes;
    return n;
  }

  /** The shadows' total keys held (reported next to the store's own in the bench). */
  get keysHeld(): number {
    let n = 0;
    for (const s of this.#shadows) n += s.size;
    return n;
  }

  /** An access of the key of hash `h` while the store holds `keys` keys. */
  access(h: number, keys: number, sketch: FrequencySketch): void {
    // Sampled: the top `shift` bits of a remix of the hash are zero (independent of the bits the
    // hash table and the sketch use, so the sample is no particular region of either).
    if (Math.imul(h ^ 0x27d4eb2f, 0x165667b1) >>> (32 - this.#shift) !== 0) return;
    this.#sampled(h, keys, sketch);
  }

  #sampled(h: number, keys: number, sketch: FrequencySketch): void {
    let shift = this.#shift;
    // The sampling rate follows the keyspace by powers of two; a subset of a sampled set is sampled
    // again at the next rate, but the shadows start over so no setting keeps an unfair head start.
    if (keys >>> shift > shadowKeysMax || (shift > shadowShiftMin && keys >>> (shift - 1) <= shadowKeysMax / 2)) {
      while (keys >>> shift > shadowKeysMax) shift++;
      while (shift > shadowShiftMin && keys >>> (shift - 1) <= shadowKeysMax / 2) shift--;
      this.#shift = shift;
      for (const s of this.#shadows) s.clear();
      this.#lead.fill(0);
      this.#disagreements.fill(0);
      this.#round = 0;
      return;
    }
    const capacity = keys >>> shift;
    if (capacity < shadowKeysMin) return;
    // The shadows know keys by the store's 32-bit hash: two sampled keys rarely share one, and a
    // simulation can afford the rare one.
    const shadows = this.#shadows;
    const hits = this.#hits;
    for (let i = 0; i < shadows.length; i++) hits[i] = shadows[i]!.access(h, capacity, sketch) ? 1 : 0;
    // Only the accesses where a shadow and the adopted setting's shadow disagree tell them apart.
    const cur = this.#best;
    for (let i = 0; i < shadows.length; i++) {
      if (hits[i] === hits[cur]) continue;
      this.#lead[i]! += hits[i]! - hits[cur]!;
      this.#disagreements[i]!++;
    }
    if (++this.#round < capacity) return;
    this.#round = 0;
    this.#rounds++;
    const lead = this.#lead;
    const n = this.#disagreements;
    let best = cur;
    let margin = 0;
    for (let i = 0; i < lead.length; i++) {
      // A lead counts once it is past what chance gives two equal settings (z sd of a ±1 walk).
      const over = lead[i]! - switchZ * Math.sqrt(n[i]!);
      if (over > margin) {
        best = i;
        margin = over;
      }
    }
    if (best !== cur) {
      this.#best = best;
      lead.fill(0);
      n.fill(0);
    } else
      for (let i = 0; i < lead.length; i++) {
        lead[i] = lead[i]! * scoreKeep;
        n[i] = n[i]! * scoreKeep;
      }
  }
}

/** One miniature cache of the tuner: keys by hash, an LFU counter and a stamp each, no values. */
class ShadowCache {
  readonly #factor: number;
  #hashes = new Int32Array(0);
  #counters = new Uint8Array(0);
  #stamps = new Uint32Array(0);
  /** Open addressing (linear probing) of hash → entry index + 1; 0 is an empty slot. */
  #index = new Uint16Array(0);
  size = 0;
  #clock = 0;
  #random = 0x9e3779b9;

  constructor(factor: number) {
    this.#factor = factor;
  }

  get bytes(): number {
    return this.#hashes.byteLength + this.#counters.byteLength + this.#stamps.byteLength + this.#index.byteLength;
  }

  /** Starts empty, its arrays given back: the next accesses size them to the capacity then. */
  clear(): void {
    this.#hashes = new Int32Array(0);
    this.#counters = new Uint8Array(0);
    this.#stamps = new Uint32Array(0);
    this.#index = new Uint16Array(0);
    this.size = 0;
  }

  /** One access of the key of hash `h` with room for `capacity` keys; true on a hit. */
  access(h: number, capacity: number, sketch: FrequencySketch): boolean {
    const clock = (this.#clock = (this.#clock + 1) >>> 0);
    if (capacity > this.#hashes.length) this.#grow(capacity);
    const period = this.#factor * capacity;
    const at = this.#find(h);
    if (at >= 0) {
      const c = lfuDecayedPer(this.#counters[at]!, (clock - this.#stamps[at]!) >>> 0, period);
      this.#counters[at] = lfuIncrement(c, this.#next());
      this.#stamps[at] = clock;
      return true;
    }
    // Shrunk below what it holds (the keyspace shrank): let go of the worst, a couple per access.
    for (let n = 0; n < 2 && this.size > capacity; n++) this.#remove(this.#victim(period));
    if (this.size < capacity) this.#insert(h);
    else {
      const victim = this.#victim(period);
      // TinyLFU admission, as the store's #admission: the newcomer stays on a tie.
      const idle = (clock - this.#stamps[victim]!) >>> 0;
      if (sketch.estimate(h) >= sketch.estimate(this.#hashes[victim]!) >>> Math.min(31, Math.floor(idle / capacity))) {
        this.#remove(victim);
        this.#insert(h);
      }
    }
    return false;
  }

  #next(): number {
    let r = this.#random;
    r ^= r << 13;
    r ^= r >>> 17;
    r ^= r << 5;
    this.#random = r;
    return (r >>> 0) / 4294967296;
  }

  /** The lowest-ranked of a few random entries (lowest decayed counter, then longest idle). */
  #victim(period: number): number {
    let best = -1;
    let bestScore = -1;
    for (let n = 0; n < shadowSamples; n++) {
      const i = Math.floor(this.#next() * this.size);
      const idle = (this.#clock - this.#stamps[i]!) >>> 0;
      const score = (255 - lfuDecayedPer(this.#counters[i]!, idle, period)) * 2 ** 32 + idle;
      if (score > bestScore) {
        best = i;
        bestScore = score;
      }
    }
    return best;
  }

  #slotOf(h: number): number {
    return Math.imul(h, 0x9e3779b1) >>> 0;
  }

  #find(h: number): number {
    const index = this.#index;
    const mask = index.length - 1;
    if (mask < 0) return -1;
    for (let s = this.#slotOf(h) & mask; ; s = (s + 1) & mask) {
      const e = index[s]!;
      if (e === 0) return -1;
      if (this.#hashes[e - 1] === h) return e - 1;
    }
  }

  #insert(h: number): void {
    const i = this.size++;
    this.#hashes[i] = h;
    this.#counters[i] = lfuInitial;
    this.#stamps[i] = this.#clock;
    this.#place(h, i + 1);
  }

  #place(h: number, e: number): void {
    const index = this.#index;
    const mask = index.length - 1;
    let s = this.#slotOf(h) & mask;
    while (index[s] !== 0) s = (s + 1) & mask;
    index[s] = e;
  }

  /** Removes entry `i`: the last entry takes its place, so entries stay dense for sampling. */
  #remove(i: number): void {
    this.#unindex(i);
    const last = --this.size;
    if (i !== last) {
      this.#unindex(last);
      this.#hashes[i] = this.#hashes[last]!;
      this.#counters[i] = this.#counters[last]!;
      this.#stamps[i] = this.#stamps[last]!;
      this.#place(this.#hashes[i]!, i + 1);
    }
  }

  /** Takes entry `i` out of the index, shifting back the probe run after it (no tombstones). */
  #unindex(i: number): void {
    const index = this.#index;
    const mask = index.length - 1;
    let s = this.#slotOf(this.#hashes[i]!) & mask;
    while (index[s] !== i + 1) s = (s + 1) & mask;
    for (let next = (s + 1) & mask; index[next] !== 0; next = (next + 1) & mask) {
      const home = this.#slotOf(this.#hashes[index[next]! - 1]!) & mask;
      // The entry at `next` may move into the hole at `s` unless its home lies cyclically in (s, next].
      if (((next - home) & mask) >= ((next - s) & mask)) {
        index[s] = index[next]!;
        s = next;
      }
    }
    index[s] = 0;
  }

  /** Room for at least `capacity` keys (a quarter more, in steps of 8), the index a power of two at least 4/3 of that. */
  #grow(capacity: number): void {
    const n = (Math.max(capacity, Math.ceil((this.#hashes.length * 5) / 4)) + 7) & ~7;
    const hashes = new Int32Array(n);
    hashes.set(this.#hashes.subarray(0, this.size));
    const counters = new Uint8Array(n);
    counters.set(this.#counters.subarray(0, this.size));
    const stamps = new Uint32Array(n);
    stamps.set(this.#stamps.subarray(0, this.size));
    this.#hashes = hashes;
    this.#counters = counters;
    this.#stamps = stamps;
    this.#index = new Uint16Array(2 ** Math.ceil(Math.log2((n * 4) / 3)));
    for (let i = 0; i < this.size; i++) this.#place(hashes[i]!, i + 1);
  }
}
