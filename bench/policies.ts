// Exact reference policies on bench/hitratio.ts's traces, simulated (no server, no sampling of
// victims): what the best-known online policies reach on each trace, so that a figure of Osprey's
// sampled policies can be read against a ceiling rather than against Redis alone.
//
//   bun bench/policies.ts [--keys 50000] [--capacity 5000] [--requests 150000] [--seeds 24301,7,11]
//     [--held 4850,4950]
//
// --keys, --capacity, --requests and a seed give the same trace as hitratio.ts's options (the
// capacity sets the scans' length). --held lists the cache sizes simulated, in keys: compare each
// with a server that really held that many (hitratio.ts prints the keys held).
//
// - lru: exact least recently used.
// - slru: segmented LRU, 80% protected (a second hit promotes; demoted keys go back to probation).
// - arc: Megiddo and Modha's adaptive replacement cache, ghost lists included.
// - w-tinylfu: a 1% window LRU in front of an SLRU main, a window victim admitted to the main only
//   when a count-min sketch (4-bit counters, halved every 10 × capacity requests) saw it more often
//   than the main's victim (Caffeine's design without its hill climbing).
// - phase-lfu (shifting only, an oracle): LFU that knows when each phase of the trace begins and
//   counts from there, ties by recency; 32 random candidates per eviction. No online policy knows
//   the phases, so it bounds what frequency can add to recency on that trace.

import { parseArgs } from "node:util";
import { shiftingPhases, traces } from "./lib/traces.ts";

const { values: opt } = parseArgs({
  options: {
    keys: { type: "string", default: "50000" },
    capacity: { type: "string", default: "5000" },
    held: { type: "string", default: "4850,4950" },
    requests: { type: "string", default: "150000" },
    seeds: { type: "string", default: "24301,7,11" },
  },
});
const keysTotal = Number(opt.keys);
const capacity = Number(opt.capacity);
const requests = Number(opt.requests);
/** The scans' keys are ids from keysTotal up: room for every id a trace can hold. */
const idsMax = keysTotal + requests;

/** A recency list on Map's insertion order: the first key is the least recently used. */
type List = Map<number, true>;
const oldest = (l: List): number => l.keys().next().value!;
const touch = (l: List, k: number): void => {
  l.delete(k);
  l.set(k, true);
};

function lru(ids: Int32Array, cap: number): number {
  const l: List = new Map();
  let hits = 0;
  for (const k of ids) {
    if (l.has(k)) {
      hits++;
      touch(l, k);
      continue;
    }
    l.set(k, true);
    if (l.size > cap) l.delete(oldest(l));
  }
  return hits;
}

/** Segmented LRU's two lists: a hit in probation promotes the key to protected, whose overflow goes back to probation. */
class Segments {
  readonly probation: List = new Map();
  readonly prot: List = new Map();
  readonly #protCap: number;

  constructor(cap: number, protectedShare = 0.8) {
    this.#protCap = Math.floor(cap * protectedShare);
  }

  get size(): number {
    return this.probation.size + this.prot.size;
  }

  /** A request for `k`: true on a hit (in either list), false when it is in neither. */
  hit(k: number): boolean {
    if (this.prot.has(k)) {
      touch(this.prot, k);
      return true;
    }
    if (!this.probation.has(k)) return false;
    this.probation.delete(k);
    this.prot.set(k, true);
    while (this.prot.size > this.#protCap) {
      const d = oldest(this.prot);
      this.prot.delete(d);
      this.probation.set(d, true);
    }
    return true;
  }
}

/** Segmented LRU, 80% protected: a miss enters probation, whose least recent key is evicted. */
function slru(ids: Int32Array, cap: number): number {
  const seg = new Segments(cap);
  let hits = 0;
  for (const k of ids) {
    if (seg.hit(k)) hits++;
    else {
      seg.probation.set(k, true);
      if (seg.size > cap) seg.probation.delete(oldest(seg.probation));
    }
  }
  return hits;
}

/** ARC (FAST 2003): T1 recent, T2 frequent, B1/B2 their ghosts; p, T1's target size, follows the ghosts' hits. */
function arc(ids: Int32Array, c: number): number {
  const t1: List = new Map();
  const t2: List = new Map();
  const b1: List = new Map();
  const b2: List = new Map();
  let p = 0;
  let hits = 0;
  const replace = (inB2: boolean): void => {
    if (t1.size > 0 && (t1.size > p || (inB2 && t1.size === p))) {
      const x = oldest(t1);
      t1.delete(x);
      b1.set(x, true);
    } else {
      const x = oldest(t2);
      t2.delete(x);
      b2.set(x, true);
    }
  };
  for (const x of ids) {
    if (t1.has(x)) {
      hits++;
      t1.delete(x);
      t2.set(x, true);
    } else if (t2.has(x)) {
      hits++;
      touch(t2, x);
    } else if (b1.has(x)) {
      p = Math.min(c, p + Math.max(b2.size / b1.size, 1));
      replace(false);
      b1.delete(x);
      t2.set(x, true);
    } else if (b2.has(x)) {
      p = Math.max(0, p - Math.max(b1.size / b2.size, 1));
      replace(true);
      b2.delete(x);
      t2.set(x, true);
    } else {
      const l1 = t1.size + b1.size;
      if (l1 === c) {
        if (t1.size < c) {
          b1.delete(oldest(b1));
          replace(false);
        } else t1.delete(oldest(t1));
      } else if (l1 + t2.size + b2.size >= c) {
        if (l1 + t2.size + b2.size === 2 * c) b2.delete(oldest(b2));
        replace(false);
      }
      t1.set(x, true);
    }
  }
  return hits;
}

/** A count-min sketch of 4-bit counters (one a byte here: a simulation), 4 rows, halved every `sample` additions. */
class Sketch {
  readonly #t: Uint8Array;
  readonly #shift: number;
  readonly #sample: number;
  #adds = 0;

  constructor(keys: number) {
    const width = 2 ** Math.ceil(Math.log2(Math.max(4096, keys * 2)));
    this.#t = new Uint8Array(width);
    this.#shift = 32 - Math.log2(width);
    this.#sample = keys * 10;
  }

  #at(k: number, row: number): number {
    const x = Math.imul((k * 0x9e3779b1) ^ rowSeeds[row]!, 0x85ebca6b);
    return (x ^ (x >>> 15)) >>> this.#shift;
  }

  add(k: number): void {
    for (let r = 0; r < 4; r++) {
      const at = this.#at(k, r);
      if (this.#t[at]! < 15) this.#t[at]!++;
    }
    if (++this.#adds >= this.#sample) {
      for (let i = 0; i < this.#t.length; i++) this.#t[i]! >>>= 1;
      this.#adds >>>= 1;
    }
  }

  estimate(k: number): number {
    let m = 15;
    for (let r = 0; r < 4; r++) m = Math.min(m, this.#t[this.#at(k, r)]!);
    return m;
  }
}
const rowSeeds = [0x2545f491, 0x6c8e9cf5, 0x1b873593, 0x7ed55d16];

function wTinyLfu(ids: Int32Array, cap: number): number {
  const sketch = new Sketch(cap);
  const windowCap = Math.max(1, Math.round(cap * 0.01));
  const mainCap = cap - windowCap;
  const main = new Segments(mainCap);
  const window: List = new Map();
  let hits = 0;
  for (const k of ids) {
    sketch.add(k);
    if (window.has(k)) {
      hits++;
      touch(window, k);
    } else if (main.hit(k)) hits++;
    else {
      window.set(k, true);
      if (window.size <= windowCap) continue;
      const cand = oldest(window);
      window.delete(cand);
      if (main.size < mainCap) {
        main.probation.set(cand, true);
        continue;
      }
      const from = main.probation.size > 0 ? main.probation : main.prot;
      const victim = oldest(from);
      if (sketch.estimate(cand) > sketch.estimate(victim)) {
        from.delete(victim);
        main.probation.set(cand, true);
      }
    }
  }
  return hits;
}

/** The oracle: LFU counting from the start of the current phase (`phaseLength` requests), ties by recency. */
function phaseLfu(ids: Int32Array, cap: number, phaseLength: number): number {
  const count = new Float64Array(idsMax);
  const last = new Float64Array(idsMax);
  const phaseOf = new Int32Array(idsMax).fill(-1);
  const slotOf = new Int32Array(idsMax).fill(-1);
  const held: number[] = [];
  let random = 0x2545f491;
  let hits = 0;
  for (let t = 0; t < ids.length; t++) {
    const k = ids[t]!;
    const phase = Math.floor(t / phaseLength);
    if (phaseOf[k] !== phase) {
      phaseOf[k] = phase;
      count[k] = 0;
    }
    count[k]!++;
    last[k] = t;
    if (slotOf[k]! >= 0) {
      hits++;
      continue;
    }
    if (held.length >= cap) {
      let worst = -1;
      let worstScore = -Infinity;
      for (let n = 0; n < 32; n++) {
        random ^= random << 13;
        random ^= random >>> 17;
        random ^= random << 5;
        const at = (random >>> 0) % held.length;
        const v = held[at]!;
        const score = -(phaseOf[v] === phase ? count[v]! : 0) * 2 ** 32 + (t - last[v]!);
        if (score > worstScore) {
          worstScore = score;
          worst = at;
        }
      }
      const victim = held[worst]!;
      slotOf[victim] = -1;
      const moved = held.pop()!;
      if (worst < held.length) {
        held[worst] = moved;
        slotOf[moved] = worst;
      }
    }
    slotOf[k] = held.length;
    held.push(k);
  }
  return hits;
}

const pct = (hits: number): string => `${((hits / requests) * 100).toFixed(2)}%`;
console.log(`keys=${keysTotal} capacity=${capacity} requests=${requests}`);
console.log("\n| seed | trace | keys held | lru | slru | arc | w-tinylfu | phase-lfu (oracle) |\n|---|---|---|---|---|---|---|---|");
for (const seed of opt.seeds!.split(",").map(Number)) {
  for (const t of traces(keysTotal, capacity, requests, seed)) {
    for (const held of opt.held!.split(",").map(Number)) {
      const oracle = t.name === "shifting" ? pct(phaseLfu(t.ids, held, Math.ceil(requests / shiftingPhases))) : "";
      console.log(`| ${seed} | ${t.name} | ${held} | ${pct(lru(t.ids, held))} | ${pct(slru(t.ids, held))} | ${pct(arc(t.ids, held))} | ${pct(wTinyLfu(t.ids, held))} | ${oracle} |`);
    }
  }
}
