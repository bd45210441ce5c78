// The system clock's wall time at a monotonic reading: what a batch of requests uses as "now"
// without reading the wall clock itself.

import { describe, expect, test } from "bun:test";
import { systemClock } from "../../src/commands/context.ts";

describe("systemClock.wallAt", () => {
  test("agrees with Date.now() to the millisecond, in whole milliseconds", () => {
    for (let i = 0; i < 50; i++) {
      const before = Date.now();
      const wall = systemClock.wallAt(performance.now());
      const after = Date.now();
      expect(Number.isInteger(wall)).toBe(true);
      expect(wall).toBeGreaterThanOrEqual(before - 1);
      expect(wall).toBeLessThanOrEqual(after + 1);
    }
  });

  test("moves with the monotonic reading it is given, and resynchronises after a while", async () => {
    const t = performance.now();
    expect(systemClock.wallAt(t + 20) - systemClock.wallAt(t)).toBeGreaterThanOrEqual(19);
    await Bun.sleep(150); // past the resync interval: the offset is taken again from Date.now()
    const before = Date.now();
    const wall = systemClock.wallAt(performance.now());
    expect(Math.abs(wall - before)).toBeLessThanOrEqual(2);
  });
});
