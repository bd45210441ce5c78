// bench/plot.ts: the matrix's summary becomes one panel pair (ops/s, p99) per sync policy ×
// operation × pipeline, each with Osprey's and Redis's points in value-size order.

import { describe, expect, test } from "bun:test";
import { keyspacePanels, renderSvg, valueSizePanels } from "../plot.ts";

const row = (sync: string, op: string, valueBytes: number, pipeline: number, keyspace: number, o: number, r: number) => ({
  shape: { sync, op, valueBytes, clients: 50, pipeline, keyspace },
  osprey: { opsPerSec: o, latencyMs: { p99: 1000 / o } },
  redis: { opsPerSec: r, latencyMs: { p99: 1000 / r } },
});

describe("plot", () => {
  const summary = [row("os", "set", 1048576, 1, 512, 200, 100), row("os", "set", 16384, 1, 1000, 9000, 12000), row("os", "get", 16384, 16, 1000, 50000, 40000)];

  test("one ops/s and one p99 panel per sync × op × pipeline, points sorted by value size", () => {
    const panels = valueSizePanels(summary);
    expect(panels.map((p) => `${p.title} ${p.yLabel}`)).toEqual([
      "SET P=1, os, 50 clients ops/s",
      "SET P=1, os, 50 clients p99 ms",
      "GET P=16, os, 50 clients ops/s",
      "GET P=16, os, 50 clients p99 ms",
    ]);
    const osprey = panels[0]!.series.find((s) => s.name === "osprey")!;
    expect(osprey.points).toEqual([
      { x: 16384, y: 9000 },
      { x: 1048576, y: 200 },
    ]);
    expect(panels[1]!.series.find((s) => s.name === "redis")!.points.map((p) => p.y)).toEqual([1000 / 12000, 1000 / 100]);
  });

  test("keyspace panels appear only when more than one keyspace was measured at the smallest size", () => {
    expect(keyspacePanels(summary)).toEqual([]);
    const two = [...summary, row("os", "set", 16384, 1, 100000, 8000, 11000)];
    const panels = keyspacePanels(two);
    expect(panels).toHaveLength(2);
    expect(panels[0]!.series[0]!.points.map((p) => p.x)).toEqual([1000, 100000]);
  });

  test("the SVG holds a polyline per server per panel and names the run", () => {
    const svg = renderSvg({ meta: { startedAt: "2026-12-02T02:20:03Z", commit: "abc1234" }, summary });
    expect(svg.startsWith("<svg")).toBe(true);
    expect(svg).toContain("commit abc1234");
    expect(svg.match(/<polyline/g)).toHaveLength(4 * 2);
  });
});
