// The latency histogram's accuracy and the loopback-only host check.

import { describe, expect, test } from "bun:test";
import { Histogram } from "../lib/histogram.ts";
import { isLoopbackHost } from "../lib/loopback.ts";

describe("histogram", () => {
  test("percentiles of 1..100000 µs are within 1% of the exact values", () => {
    const h = new Histogram();
    for (let v = 1; v <= 100_000; v++) h.record(v);
    for (const p of [50, 90, 99, 99.9]) {
      const exact = (p / 100) * 100_000;
      expect(Math.abs(h.percentileUs(p) - exact) / exact).toBeLessThan(0.01);
    }
    expect(h.maxUs).toBe(100_000);
    expect(h.minUs).toBe(1);
    expect(h.count).toBe(100_000);
  });

  test("small values are exact and large ones are clamped, not lost", () => {
    const h = new Histogram();
    h.record(0.7);
    h.record(17);
    h.record(1e12);
    expect(h.percentileUs(1)).toBe(0);
    expect(h.percentileUs(50)).toBe(17);
    expect(h.maxUs).toBe(0xffffffff);
    expect(h.count).toBe(3);
  });

  test("adding histograms equals recording into one", () => {
    const a = new Histogram();
    const b = new Histogram();
    const both = new Histogram();
    for (let i = 0; i < 5000; i++) {
      const v = (i * 7919) % 300_000;
      (i % 2 ? a : b).record(v);
      both.record(v);
    }
    a.add(b);
    for (const p of [1, 50, 99, 99.99]) expect(a.percentileUs(p)).toBe(both.percentileUs(p));
    expect(a.count).toBe(both.count);
  });

  test("an empty histogram reports zero", () => {
    expect(new Histogram().percentileUs(99)).toBe(0);
  });
});

describe("loopback check", () => {
  test("accepts localhost, 127.0.0.0/8 and ::1", () => {
    for (const h of ["localhost", "127.0.0.1", "127.255.3.4", "::1", "[::1]", "0:0:0:0:0:0:0:1"]) {
      expect(isLoopbackHost(h)).toBe(true);
    }
  });

  test("refuses everything else", () => {
    for (const h of ["10.0.0.1", "0.0.0.0", "128.0.0.1", "127.0.0.256", "example.com", "::", "::2", "1.127.0.0.1", ""]) {
      expect(isLoopbackHost(h)).toBe(false);
    }
  });
});
