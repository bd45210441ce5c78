// The hit-ratio traces (bench/lib/traces.ts) have the shapes hitratio.ts and policies.ts describe.

import { describe, expect, test } from "bun:test";
import { shiftingPhases, traces } from "../lib/traces.ts";

const keys = 2000;
const capacity = 200;
const requests = 20_000;

describe("hit-ratio traces", () => {
  test("a seed gives the same traces every time, another seed other ones", () => {
    const a = traces(keys, capacity, requests, 1);
    const b = traces(keys, capacity, requests, 1);
    const c = traces(keys, capacity, requests, 2);
    for (let i = 0; i < a.length; i++) {
      expect(a[i]!.ids).toEqual(b[i]!.ids);
      expect(a[i]!.ids).not.toEqual(c[i]!.ids);
      expect(a[i]!.ids.length).toBe(requests);
    }
  });

  test("the scan trace asks for 2 × capacity one-off keys every quarter, each once", () => {
    const scan = traces(keys, capacity, requests, 1).find((t) => t.name === "zipf+scan")!;
    const seen = new Set<number>();
    for (const id of scan.ids)
      if (id >= keys) {
        expect(seen.has(id)).toBe(false);
        seen.add(id);
      }
    // The fourth scan would begin at the very end: it is cut at `requests`.
    expect(seen.size).toBeGreaterThanOrEqual(3 * 2 * capacity);
    expect(seen.size).toBeLessThan(4 * 2 * capacity);
  });

  test("each phase of the shifting trace has its own hot set", () => {
    const shifting = traces(keys, capacity, requests, 1).find((t) => t.name === "shifting")!;
    const phaseLength = requests / shiftingPhases;
    const hottest: number[] = [];
    for (let p = 0; p < shiftingPhases; p++) {
      const counts = new Map<number, number>();
      for (const id of shifting.ids.subarray(p * phaseLength, (p + 1) * phaseLength)) counts.set(id, (counts.get(id) ?? 0) + 1);
      const top = [...counts.entries()].sort((x, y) => y[1] - x[1]).slice(0, 20).map(([id]) => id);
      hottest.push(...top);
    }
    // The 20 hottest keys of one phase are no other phase's 20 hottest.
    expect(new Set(hottest).size).toBe(hottest.length);
  });
});
