// The pieces INFO's latencystats, errorstats and instantaneous_ops_per_sec are computed with:
// CommandLatency's percentiles, the error kind of a reply, and OpsMeter's rate.

import { describe, expect, test } from "bun:test";
import { CommandLatency } from "../src/histogram.ts";
import { errorKind } from "../src/commands/context.ts";
import { OpsMeter } from "../src/metrics.ts";

describe("CommandLatency", () => {
  test("a percentile is within one bucket (9%) above the true value, and never above the largest sample", () => {
    const l = new CommandLatency();
    // 1 µs … 1000 µs, one sample each.
    for (let us = 1; us <= 1000; us++) l.observe(us / 1000);
    expect(l.samples).toBe(1000);
    for (const [p, exact] of [
      [50, 500],
      [99, 990],
      [99.9, 999],
    ] as const) {
      const got = l.percentileUs(p);
      expect(got).toBeGreaterThanOrEqual(exact);
      expect(got).toBeLessThanOrEqual(exact * 1.091);
    }
    expect(l.percentileUs(100)).toBeCloseTo(1000, 6);
    expect(l.percentileUs(0)).toBeLessThanOrEqual(1.091);
    expect(l.sumUs).toBeCloseTo(500500, 3);
  });

  test("without samples every percentile is 0; one sample is every percentile", () => {
    const l = new CommandLatency();
    expect(l.percentileUs(50)).toBe(0);
    l.observe(0.25);
    expect(l.percentileUs(1)).toBeCloseTo(250, 6);
    expect(l.percentileUs(99.9)).toBeCloseTo(250, 6);
    expect(l.histogram.count).toBe(1);
  });
});

describe("errorKind", () => {
  const kind = (text: string) => errorKind(Buffer.from(text, "latin1"));

  test("RESP: the word after the dash, as Redis's errorstats; ERR without a space in 32 bytes", () => {
    expect(kind("-ERR wrong number of arguments for 'get' command\r\n")).toBe("ERR");
    expect(kind("-WRONGTYPE Operation against a key holding the wrong kind of value\r\n")).toBe("WRONGTYPE");
    expect(kind("-NOPERM this user has no permissions\r\n")).toBe("NOPERM");
    expect(kind(`-${"X".repeat(40)} text\r\n`)).toBe("ERR");
    expect(kind("-OOM\r\n")).toBe("ERR");
  });

  test("text protocol: the code after ERR", () => {
    expect(kind("ERR BADREQ unknown command\r\n")).toBe("BADREQ");
    expect(kind("ERR EXISTS key exists\r\n")).toBe("EXISTS");
    expect(kind("ERR\r\n")).toBe("ERR");
  });

  test("a kind that could not name an INFO field or a label is ERR", () => {
    expect(kind("-a:b c\r\n")).toBe("ERR");
    expect(kind('-a"b c\r\n')).toBe("ERR");
  });
});

describe("OpsMeter", () => {
  test("is requests per second between its oldest and newest sample, 0 before two", () => {
    const m = new OpsMeter();
    expect(m.perSecond).toBe(0);
    m.tick(1000, 0);
    expect(m.perSecond).toBe(0);
    m.tick(1500, 500);
    expect(m.perSecond).toBe(1000);
    // Past its 16 samples the oldest ones go: 100 ms apart, 300 requests each.
    for (let i = 1; i <= 20; i++) m.tick(1500 + 100 * i, 500 + 300 * i);
    expect(m.perSecond).toBe(3000);
  });

  test("a counter reset between samples gives 0, not a negative rate", () => {
    const m = new OpsMeter();
    m.tick(0, 1000);
    m.tick(100, 0);
    expect(m.perSecond).toBe(0);
  });
});
