// Osprey load generator: closed-loop pipelined GET/SET/INCR load over loopback TCP, speaking
// Osprey's text protocol or RESP2 (to measure redis-server at the same shape), with latency percentiles.

import { readFileSync } from "node:fs";
import { defineCommand, runMain, type ArgsDef } from "citty";
import { fillKeyspace, Load, type Op, type Target, type Workload } from "./lib/driver.ts";
import { Histogram } from "./lib/histogram.ts";
import { loopbackHostOption, numberOption, rejectUnknownOptions, runTool, UsageError } from "./lib/cli.ts";
import { keyspaceMax, type Protocol } from "./lib/wire.ts";

/** Request bytes one connection may hold for a batch (pipeline × request size). */
const batchBytesMax = 256 * 1024 * 1024;

const args = {
  host: { type: "string", default: "127.0.0.1", description: "Server host: 127.0.0.0/8, ::1 or localhost only" },
  port: { type: "string", default: "7070", description: "Server port" },
  clients: { type: "string", default: "50", description: "Connections, each a closed loop" },
  pipeline: { type: "string", default: "1", description: "Requests each connection keeps in flight" },
  op: { type: "enum", options: ["get", "set", "mixed", "incr"], default: "set", description: "Workload (mixed = 80% GET, 20% SET)" },
  "value-size": { type: "string", default: "100", description: "SET value bytes" },
  keyspace: { type: "string", default: "100000", description: "Distinct keys (key:000000000000 …), chosen uniformly at random" },
  duration: { type: "string", default: "10", description: "Measured seconds" },
  warmup: { type: "string", default: "1", description: "Unmeasured seconds of load before measuring" },
  protocol: { type: "enum", options: ["osprey", "resp"], default: "osprey", description: "Wire protocol (resp = RESP2, for redis-server)" },
  tls: { type: "boolean", default: false, description: "Connect over TLS (the server's certificate checked against the system's CAs)" },
  cacert: { type: "string", description: "PEM CA file the server's certificate must chain to (implies --tls)" },
  preload: { type: "boolean", default: false, description: "For get/mixed: SET every key of the keyspace first, so GETs hit" },
  json: { type: "boolean", default: false, description: "Also print the result as one JSON line (the last line of stdout)" },
} satisfies ArgsDef;

interface Options extends Target, Workload {
  readonly durationS: number;
  readonly warmupS: number;
  readonly preload: boolean;
  readonly json: boolean;
}

/** --tls / --cacert as the driver's `tls`. */
function tlsOf(a: Record<string, unknown>): Pick<Target, "tls"> {
  if (typeof a.cacert === "string") {
    try {
      return { tls: { ca: readFileSync(a.cacert, "utf8") } };
    } catch (err) {
      throw new UsageError(`--cacert: ${(err as Error).message}`);
    }
  }
  return a.tls === true ? { tls: true } : {};
}

function parseOptions(a: Record<string, unknown>): Options {
  const op = a.op as Op;
  const valueBytes = numberOption("value-size", a["value-size"] as string, { min: 0, max: 512 * 1024 * 1024 });
  const pipeline = numberOption("pipeline", a.pipeline as string, { min: 1, max: 1_000_000 });
  if (pipeline * (valueBytes + 100) > batchBytesMax) {
    throw new UsageError(`--pipeline × --value-size is over ${batchBytesMax} bytes of requests per connection`);
  }
  return {
    host: loopbackHostOption(a.host as string),
    port: numberOption("port", a.port as string, { min: 1, max: 65535 }),
    protocol: a.protocol as Protocol,
    ...tlsOf(a),
    op,
    clients: numberOption("clients", a.clients as string, { min: 1, max: 10_000 }),
    pipeline,
    valueBytes,
    keyspace: numberOption("keyspace", a.keyspace as string, { min: 1, max: keyspaceMax }),
    durationS: numberOption("duration", a.duration as string, { min: 0.1, max: 86_400, fraction: true }),
    warmupS: numberOption("warmup", a.warmup as string, { min: 0, max: 3_600, fraction: true }),
    preload: a.preload === true,
    json: a.json === true,
  };
}

interface Result {
  op: Op;
  protocol: Protocol;
  host: string;
  port: number;
  clients: number;
  pipeline: number;
  valueBytes: number;
  keyspace: number;
  durationS: number;
  ops: number;
  opsPerSec: number;
  latencyMs: { p50: number; p99: number; p999: number; max: number; mean: number };
  getHits: number;
  getMisses: number;
  errors: number;
  firstError: string;
}

const ms = (us: number) => Math.round(us) / 1000;

/** Runs warmup then the measured window; folds per-second histograms into `total`. */
async function measure(o: Options): Promise<Result> {
  const load = await Load.start(o, o);
  const stats = load.stats;
  const total = new Histogram();
  const tty = process.stderr.isTTY === true;
  const startedMs = performance.now();
  let measuring = false;
  let measureStartMs = 0;

  let lastTickMs = startedMs;
  const progress = setInterval(() => {
    const now = performance.now();
    const iv = stats.interval;
    // The first tick after warmup covers only part of a second: rate over the real span.
    const spanS = (now - (measuring ? Math.max(lastTickMs, measureStartMs) : lastTickMs)) / 1000;
    const rate = Math.round(iv.count / spanS).toLocaleString("en-US");
    const p99 = `p99 ${ms(iv.percentileUs(99)).toFixed(3)} ms, errors ${stats.errors}`;
    const line = measuring
      ? `[${((now - measureStartMs) / 1000).toFixed(0).padStart(3)}s] ${o.op} ${rate.padStart(11)} ops/s now, ` +
        `${Math.round((total.count + iv.count) / ((now - measureStartMs) / 1000)).toLocaleString("en-US")} avg, ${p99}`
      : `[warmup] ${o.op} ${rate} ops/s, ${p99}`;
    process.stderr.write(tty ? `\r${line}\x1b[K` : `${line}\n`);
    if (measuring) total.add(iv);
    iv.reset();
    lastTickMs = now;
  }, 1000);

  const beginMeasuring = () => {
    stats.interval.reset();
    stats.getHits = stats.getMisses = 0;
    measureStartMs = performance.now();
    measuring = true;
  };

  let measureEndMs = 0;
  try {
    await Promise.race([
      load.done, // rejects if a connection is lost
      (async () => {
        await Bun.sleep(o.warmupS * 1000);
        beginMeasuring();
        await Bun.sleep(o.durationS * 1000);
      })(),
    ]);
  } finally {
    measureEndMs = performance.now();
    clearInterval(progress);
    if (measuring) total.add(stats.interval);
    load.stop();
    if (tty) process.stderr.write("\n");
  }

  const seconds = (measureEndMs - measureStartMs) / 1000;
  return {
    op: o.op,
    protocol: o.protocol,
    host: o.host,
    port: o.port,
    clients: o.clients,
    pipeline: o.pipeline,
    valueBytes: o.valueBytes,
    keyspace: o.keyspace,
    durationS: Math.round(seconds * 1000) / 1000,
    ops: total.count,
    opsPerSec: Math.round(total.count / seconds),
    latencyMs: {
      p50: ms(total.percentileUs(50)),
      p99: ms(total.percentileUs(99)),
      p999: ms(total.percentileUs(99.9)),
      max: ms(total.maxUs),
      mean: ms(total.meanUs()),
    },
    getHits: stats.getHits,
    getMisses: stats.getMisses,
    errors: stats.errors,
    firstError: stats.firstError,
  };
}

function table(rows: string[][]): string {
  const widths = rows[0]!.map((_, c) => Math.max(...rows.map((r) => r[c]!.length)));
  return rows.map((r) => r.map((cell, c) => (c === 0 ? cell.padEnd(widths[c]!) : cell.padStart(widths[c]!))).join("  ")).join("\n");
}

function report(r: Result, json: boolean): void {
  const f = (x: number) => x.toFixed(3);
  const lines = [
    table([
      ["op", "proto", "clients", "pipeline", "value_B", "ops/s", "p50_ms", "p99_ms", "p99.9_ms", "max_ms", "errors"],
      [
        r.op,
        r.protocol,
        String(r.clients),
        String(r.pipeline),
        String(r.valueBytes),
        r.opsPerSec.toLocaleString("en-US"),
        f(r.latencyMs.p50),
        f(r.latencyMs.p99),
        f(r.latencyMs.p999),
        f(r.latencyMs.max),
        String(r.errors),
      ],
    ]),
  ];
  const gets = r.getHits + r.getMisses;
  if (gets > 0) {
    const hint = r.getHits === 0 ? " — nothing to hit: use --preload" : "";
    lines.push(`GET hit rate: ${((100 * r.getHits) / gets).toFixed(1)}% (${r.getHits} of ${gets})${hint}`);
  }
  lines.push(`${r.ops.toLocaleString("en-US")} replies in ${r.durationS} s, keyspace ${r.keyspace}, ${r.host}:${r.port}`);
  process.stdout.write(lines.join("\n") + "\n");
  if (json) process.stdout.write(JSON.stringify(r) + "\n");
}

async function bench(a: Record<string, unknown>): Promise<number> {
  const o = parseOptions(a);
  if (o.preload) {
    if (o.op === "get" || o.op === "mixed") {
      process.stderr.write(`preloading ${o.keyspace} keys of ${o.valueBytes} bytes…\n`);
      const { elapsedMs } = await fillKeyspace(o, { keyspace: o.keyspace, valueBytes: o.valueBytes });
      process.stderr.write(`preloaded in ${(elapsedMs / 1000).toFixed(2)} s\n`);
    } else {
      process.stderr.write(`--preload has no effect with --op ${o.op}\n`);
    }
  }
  let result: Result;
  try {
    result = await measure(o);
  } catch (err) {
    process.stderr.write(`\n!!! RUN FAILED: ${(err as Error).message}\n`);
    return 1;
  }
  report(result, o.json);
  if (result.errors > 0) {
    process.stderr.write(
      `\n!!! ${result.errors} ERRORS during the run — these numbers are NOT valid.\n!!! first error: ${result.firstError}\n`,
    );
    return 1;
  }
  if (result.ops === 0) {
    process.stderr.write("\n!!! no replies at all during the measured window\n");
    return 1;
  }
  return 0;
}

const command = defineCommand({
  meta: { name: "bench", description: "Closed-loop pipelined load generator for Osprey (and Redis over RESP2)" },
  args,
  async run({ args: parsed, rawArgs }) {
    await runTool(async () => {
      rejectUnknownOptions(rawArgs, Object.keys(args));
      return bench(parsed);
    });
  },
});

await runMain(command);
