// The seeded request traces of bench/hitratio.ts (served by Osprey and redis-server) and
// bench/policies.ts (exact reference policies, simulated): the same seed gives the same trace in both.

import { zipf } from "./zipf.ts";

/** mulberry32: a small seeded generator, so every server and every simulation sees the same trace. */
export function rng(s: number): () => number {
  return () => {
    s = (s + 0x6d2b79f5) | 0;
    let t = Math.imul(s ^ (s >>> 15), 1 | s);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/**
 * A trace of key ids: 0 … keysTotal-1 are the Zipf keyspace's, keysTotal and up the one-off keys
 * of a scan (each asked for once).
 */
export interface Trace {
  readonly name: string;
  readonly ids: Int32Array;
}

/** How many hot sets the shifting trace moves through, each for an equal share of its requests. */
export const shiftingPhases = 5;

/** The traces: Zipf 0.99; the same with a one-off scan of 2 × capacity keys every quarter; a hot set that moves. */
export function traces(keysTotal: number, capacity: number, requests: number, seed: number): Trace[] {
  const out: Trace[] = [];
  {
    const rank = zipf(keysTotal, 0.99, rng(seed));
    const perm = permutation(keysTotal, rng(seed + 1));
    out.push({ name: "zipf-0.99", ids: Int32Array.from({ length: requests }, () => perm[rank()]!) });
  }
  {
    const rank = zipf(keysTotal, 0.99, rng(seed + 2));
    const perm = permutation(keysTotal, rng(seed + 3));
    const ids = new Int32Array(requests);
    let n = 0;
    let scanned = 0;
    const every = Math.floor(requests / 4);
    while (n < requests) {
      ids[n++] = perm[rank()]!;
      if (n % every === 0) for (let i = 0; i < 2 * capacity && n < requests; i++) ids[n++] = keysTotal + scanned++;
    }
    out.push({ name: "zipf+scan", ids });
  }
  {
    const rank = zipf(keysTotal, 0.99, rng(seed + 4));
    const perm = permutation(keysTotal, rng(seed + 5));
    const ids = new Int32Array(requests);
    for (let i = 0; i < requests; i++) {
      // Each phase the popularity order rotates by a fifth of the keys: a new hot set.
      const phase = Math.floor((i * shiftingPhases) / requests);
      ids[i] = perm[(rank() + phase * Math.floor(keysTotal / shiftingPhases)) % keysTotal]!;
    }
    out.push({ name: "shifting", ids });
  }
  return out;
}

function permutation(n: number, random: () => number): Int32Array {
  const p = Int32Array.from({ length: n }, (_, i) => i);
  for (let i = n - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    [p[i], p[j]] = [p[j]!, p[i]!];
  }
  return p;
}
