// Renders bench/matrix.ts's JSON as one SVG: throughput and p99 against value size (and against
// keyspace size, when the run measured more than one) for Osprey and Redis, one panel per sync
// policy × operation × pipeline depth, so the comparison reads at a glance. No dependencies.
//
//   ./node_modules/.bin/bun run bench/plot.ts [bench/matrix.json] [bench/matrix.svg]

import { readFileSync, writeFileSync } from "node:fs";

interface Figures {
  opsPerSec: number;
  latencyMs: { p99: number };
}

interface SummaryRow {
  shape: { sync: string; op: string; valueBytes: number; clients: number; pipeline: number; keyspace: number };
  osprey: Figures | null;
  redis: Figures | null;
}

interface Matrix {
  meta: { startedAt: string; uptimeBefore?: string; generator?: string; commit?: string };
  summary: SummaryRow[];
}

/** One line of a panel: a server's points, x ascending. */
export interface Series {
  name: "osprey" | "redis";
  points: { x: number; y: number }[];
}

export interface Panel {
  title: string;
  xLabel: string;
  yLabel: string;
  series: Series[];
}

const colours = { osprey: "#1f77b4", redis: "#d62728" } as const;
const panelW = 260;
const panelH = 190;
const margin = { left: 58, right: 12, top: 26, bottom: 38 };

const esc = (s: string) => s.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;");
const sizeLabel = (b: number) => (b >= 1048576 ? `${b / 1048576}M` : b >= 1024 ? `${b / 1024}K` : `${b}`);
const numLabel = (n: number) => (n >= 1e6 ? `${n / 1e6}M` : n >= 1e3 ? `${n / 1e3}k` : `${n}`);

/** Powers of ten (and 2×, 5× when the range is narrow) inside [lo, hi], for a log axis. */
function logTicks(lo: number, hi: number): number[] {
  const out: number[] = [];
  const steps = Math.log10(hi / lo) < 2 ? [1, 2, 5] : [1];
  for (let e = Math.floor(Math.log10(lo)); e <= Math.ceil(Math.log10(hi)); e++)
    for (const m of steps) {
      const v = m * 10 ** e;
      if (v >= lo * 0.999 && v <= hi * 1.001) out.push(v);
    }
  return out;
}

/** One panel's SVG, its top-left corner at (ox, oy); both axes logarithmic. */
export function panelSvg(p: Panel, ox: number, oy: number, xTicks: number[], xTickLabel: (x: number) => string): string {
  const all = p.series.flatMap((s) => s.points).filter((pt) => pt.y > 0);
  const w = panelW - margin.left - margin.right;
  const h = panelH - margin.top - margin.bottom;
  const out = [`<g transform="translate(${ox},${oy})">`, `<text x="${panelW / 2}" y="15" text-anchor="middle" font-size="12" font-weight="bold">${esc(p.title)}</text>`];
  out.push(`<rect x="${margin.left}" y="${margin.top}" width="${w}" height="${h}" fill="none" stroke="#999"/>`);
  if (all.length === 0) {
    out.push(`<text x="${margin.left + w / 2}" y="${margin.top + h / 2}" text-anchor="middle" font-size="11" fill="#999">no data</text></g>`);
    return out.join("\n");
  }
  const xs = all.map((pt) => pt.x);
  const ys = all.map((pt) => pt.y);
  const xLo = Math.min(...xs, ...xTicks);
  const xHi = Math.max(...xs, ...xTicks);
  let yLo = Math.min(...ys) / 1.3;
  let yHi = Math.max(...ys) * 1.3;
  if (yHi / yLo < 10) {
    const mid = Math.sqrt(yLo * yHi);
    yLo = mid / Math.sqrt(10);
    yHi = mid * Math.sqrt(10);
  }
  const lx = (x: number) => (xHi === xLo ? w / 2 : ((Math.log(x) - Math.log(xLo)) / (Math.log(xHi) - Math.log(xLo))) * w) + margin.left;
  const ly = (y: number) => margin.top + h - ((Math.log(y) - Math.log(yLo)) / (Math.log(yHi) - Math.log(yLo))) * h;
  for (const t of xTicks) {
    out.push(`<line x1="${lx(t)}" y1="${margin.top + h}" x2="${lx(t)}" y2="${margin.top + h + 4}" stroke="#666"/>`);
    out.push(`<text x="${lx(t)}" y="${margin.top + h + 15}" text-anchor="middle" font-size="10">${esc(xTickLabel(t))}</text>`);
  }
  for (const t of logTicks(yLo, yHi)) {
    out.push(`<line x1="${margin.left}" y1="${ly(t)}" x2="${margin.left + w}" y2="${ly(t)}" stroke="#eee"/>`);
    out.push(`<text x="${margin.left - 4}" y="${ly(t) + 3}" text-anchor="end" font-size="10">${esc(numLabel(t))}</text>`);
  }
  out.push(`<text x="${margin.left + w / 2}" y="${panelH - 6}" text-anchor="middle" font-size="10">${esc(p.xLabel)}</text>`);
  out.push(`<text transform="translate(12,${margin.top + h / 2}) rotate(-90)" text-anchor="middle" font-size="10">${esc(p.yLabel)}</text>`);
  for (const s of p.series) {
    const pts = s.points.filter((pt) => pt.y > 0);
    if (pts.length === 0) continue;
    const c = colours[s.name];
    const dash = s.name === "redis" ? ` stroke-dasharray="5,3"` : "";
    out.push(`<polyline fill="none" stroke="${c}" stroke-width="2"${dash} points="${pts.map((pt) => `${lx(pt.x).toFixed(1)},${ly(pt.y).toFixed(1)}`).join(" ")}"/>`);
    for (const pt of pts) out.push(`<circle cx="${lx(pt.x).toFixed(1)}" cy="${ly(pt.y).toFixed(1)}" r="3" fill="${c}"><title>${s.name}: ${pt.y}</title></circle>`);
  }
  out.push("</g>");
  return out.join("\n");
}

/** Panels against value size: per sync × op × pipeline, ops/s then p99, at the smallest client count and keyspace per size. */
export function valueSizePanels(rows: SummaryRow[]): Panel[] {
  const groups = new Map<string, SummaryRow[]>();
  for (const r of rows) {
    const k = `${r.shape.sync}|${r.shape.op}|${r.shape.pipeline}`;
    groups.set(k, [...(groups.get(k) ?? []), r]);
  }
  const panels: Panel[] = [];
  for (const [k, rs] of groups) {
    const [sync, op, pipeline] = k.split("|");
    const clients = Math.min(...rs.map((r) => r.shape.clients));
    const bySize = new Map<number, SummaryRow>();
    for (const r of rs.filter((r) => r.shape.clients === clients)) {
      const had = bySize.get(r.shape.valueBytes);
      if (had === undefined || r.shape.keyspace < had.shape.keyspace) bySize.set(r.shape.valueBytes, r);
    }
    const sorted = [...bySize.values()].sort((a, b) => a.shape.valueBytes - b.shape.valueBytes);
    const series = (metric: (f: Figures) => number): Series[] =>
      (["osprey", "redis"] as const).map((name) => ({ name, points: sorted.flatMap((r) => (r[name] ? [{ x: r.shape.valueBytes, y: metric(r[name]!) }] : [])) }));
    const title = `${op!.toUpperCase()} P=${pipeline}, ${sync}, ${clients} clients`;
    panels.push({ title, xLabel: "value bytes", yLabel: "ops/s", series: series((f) => f.opsPerSec) });
    panels.push({ title, xLabel: "value bytes", yLabel: "p99 ms", series: series((f) => f.latencyMs.p99) });
  }
  return panels;
}

/** Panels against keyspace size (at the smallest value size), when more than one keyspace was measured. */
export function keyspacePanels(rows: SummaryRow[]): Panel[] {
  const smallest = Math.min(...rows.map((r) => r.shape.valueBytes));
  const at = rows.filter((r) => r.shape.valueBytes === smallest);
  if (new Set(at.map((r) => r.shape.keyspace)).size < 2) return [];
  const groups = new Map<string, SummaryRow[]>();
  for (const r of at) {
    const k = `${r.shape.sync}|${r.shape.op}|${r.shape.pipeline}|${r.shape.clients}`;
    groups.set(k, [...(groups.get(k) ?? []), r]);
  }
  const panels: Panel[] = [];
  for (const [k, rs] of groups) {
    if (new Set(rs.map((r) => r.shape.keyspace)).size < 2) continue; // one point is no line
    const [sync, op, pipeline, clients] = k.split("|");
    const sorted = [...rs].sort((a, b) => a.shape.keyspace - b.shape.keyspace);
    const series = (metric: (f: Figures) => number): Series[] =>
      (["osprey", "redis"] as const).map((name) => ({ name, points: sorted.flatMap((r) => (r[name] ? [{ x: r.shape.keyspace, y: metric(r[name]!) }] : [])) }));
    const title = `${op!.toUpperCase()} P=${pipeline}, ${sync}, ${clients} cl., ${smallest} B`;
    panels.push({ title, xLabel: "keys", yLabel: "ops/s", series: series((f) => f.opsPerSec) });
    panels.push({ title, xLabel: "keys", yLabel: "p99 ms", series: series((f) => f.latencyMs.p99) });
  }
  return panels;
}

/** The whole figure: a legend line, then the value-size panels (and keyspace panels) four to a row. */
export function renderSvg(m: Matrix): string {
  const sizeTicks = [...new Set(m.summary.map((r) => r.shape.valueBytes))].sort((a, b) => a - b);
  const keyTicks = [...new Set(m.summary.map((r) => r.shape.keyspace))].sort((a, b) => a - b);
  const placed: { panel: Panel; ticks: number[]; label: (x: number) => string }[] = [
    ...valueSizePanels(m.summary).map((panel) => ({ panel, ticks: sizeTicks, label: sizeLabel })),
    ...keyspacePanels(m.summary).map((panel) => ({ panel, ticks: keyTicks, label: numLabel })),
  ];
  const perRow = 4;
  const top = 44;
  const width = perRow * panelW;
  const height = top + Math.ceil(Math.max(placed.length, 1) / perRow) * panelH;
  const head = `Osprey vs Redis — ${m.meta.startedAt}${m.meta.commit ? `, commit ${m.meta.commit}` : ""}${m.meta.generator ? `, generator ${m.meta.generator}` : ""}`;
  const out = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="sans-serif">`,
    `<rect width="100%" height="100%" fill="white"/>`,
    `<text x="8" y="16" font-size="12">${esc(head)}</text>`,
    `<line x1="8" y1="32" x2="36" y2="32" stroke="${colours.osprey}" stroke-width="2"/><text x="40" y="36" font-size="11">Osprey</text>`,
    `<line x1="100" y1="32" x2="128" y2="32" stroke="${colours.redis}" stroke-width="2" stroke-dasharray="5,3"/><text x="132" y="36" font-size="11">Redis 7</text>`,
  ];
  placed.forEach(({ panel, ticks, label }, i) => out.push(panelSvg(panel, (i % perRow) * panelW, top + Math.floor(i / perRow) * panelH, ticks, label)));
  out.push("</svg>");
  return out.join("\n") + "\n";
}

if (import.meta.main) {
  const input = process.argv[2] ?? `${import.meta.dir}/matrix.json`;
  const output = process.argv[3] ?? input.replace(/\.json$/, "") + ".svg";
  writeFileSync(output, renderSvg(JSON.parse(readFileSync(input, "utf8")) as Matrix));
  process.stderr.write(`wrote ${output}\n`);
}
