// How long one huge reply stalls everyone else: SETs one value of --value-mib MiB, then --readers
// clients each GET it at once while a PING probe (another process, so this one's reading does
// not delay it) pings every millisecond. Prints the readers' times and the probe's latencies.
// Works against any RESP server on loopback (Osprey with max_value_bytes large enough, or Redis).
//
//   ./node_modules/.bin/bun run bench/stall.ts --port 7070 [--value-mib 256] [--readers 2] [--probe-ms 3000]

import { parseArgs } from "node:util";
import { Histogram } from "./lib/histogram.ts";
import { loopbackHostOption, numberOption, runTool } from "./lib/cli.ts";

const { values } = parseArgs({
  options: {
    host: { type: "string", default: "127.0.0.1" },
    port: { type: "string" },
    "value-mib": { type: "string", default: "256" },
    readers: { type: "string", default: "2" },
    "probe-ms": { type: "string", default: "3000" },
    probe: { type: "boolean", default: false },
  },
});

const host = loopbackHostOption(values.host!);
const port = numberOption("port", values.port, { min: 1, max: 65535 });
const probeMs = numberOption("probe-ms", values["probe-ms"], { min: 100, max: 600_000 });

/** One connection that sends a request and resolves once `bytes` of reply arrived (counting only). */
async function roundTrip(request: Uint8Array, replyBytes: number): Promise<number> {
  let got = 0;
  let done!: () => void;
  const finished = new Promise<void>((r) => (done = r));
  const start = performance.now();
  const socket = await Bun.connect({
    hostname: host,
    port,
    socket: {
      data(_s, chunk) {
        got += chunk.length;
        if (got >= replyBytes) done();
      },
      drain() {},
    },
  });
  let at = 0;
  while (at < request.length) {
    const n = socket.write(request.subarray(at));
    at += n;
    if (at < request.length) await Bun.sleep(1);
  }
  await finished;
  socket.end();
  return performance.now() - start;
}

function resp(...args: (string | Uint8Array)[]): Buffer {
  const parts: Buffer[] = [Buffer.from(`*${args.length}\r\n`)];
  for (const a of args) {
    const b = typeof a === "string" ? Buffer.from(a) : a;
    parts.push(Buffer.from(`$${b.length}\r\n`), Buffer.from(b), Buffer.from("\r\n"));
  }
  return Buffer.concat(parts);
}

/** The probe: a PING every millisecond for probeMs, one at a time; prints its latencies as JSON. */
async function probe(): Promise<number> {
  const h = new Histogram();
  let pending: (() => void) | null = null;
  const socket = await Bun.connect({
    hostname: host,
    port,
    socket: {
      data() {
        pending?.();
      },
    },
  });
  socket.setNoDelay(true);
  const ping = Buffer.from("*1\r\n$4\r\nPING\r\n");
  const until = performance.now() + probeMs;
  let count = 0;
  let slowest = 0;
  while (performance.now() < until) {
    const t = performance.now();
    await new Promise<void>((r) => {
      pending = r;
      socket.write(ping);
    });
    const ms = performance.now() - t;
    h.record(Math.round(ms * 1000));
    slowest = Math.max(slowest, ms);
    count++;
    await Bun.sleep(1);
  }
  socket.end();
  console.log(JSON.stringify({ count, p50Ms: h.percentileUs(50) / 1000, p99Ms: h.percentileUs(99) / 1000, maxMs: slowest }));
  return 0;
}

async function main(): Promise<number> {
  if (values.probe) return probe();
  const bytes = numberOption("value-mib", values["value-mib"], { min: 1, max: 512 }) * 1024 * 1024;
  const readers = numberOption("readers", values.readers, { min: 1, max: 64 });
  const value = Buffer.alloc(bytes, 0x61);
  await roundTrip(resp("SET", "stall:big", value), 5);
  const head = `$${bytes}\r\n`.length;
  const prober = Bun.spawn([process.execPath, import.meta.path, "--probe", "--host", host, "--port", String(port), "--probe-ms", String(probeMs)], { stdout: "pipe" });
  await Bun.sleep(200);
  const started = performance.now();
  const times = await Promise.all(Array.from({ length: readers }, () => roundTrip(resp("GET", "stall:big"), head + bytes + 2)));
  const allMs = performance.now() - started;
  const probed = JSON.parse((await new Response(prober.stdout).text()).trim()) as { count: number; p50Ms: number; p99Ms: number; maxMs: number };
  await prober.exited;
  console.log(
    `value ${bytes / 1024 / 1024} MiB, ${readers} readers: all replies in ${allMs.toFixed(0)} ms (each ${times.map((t) => t.toFixed(0)).join(", ")} ms); ` +
      `probe over ${probeMs} ms: ${probed.count} PINGs, p50 ${probed.p50Ms.toFixed(2)} ms, p99 ${probed.p99Ms.toFixed(2)} ms, slowest ${probed.maxMs.toFixed(1)} ms`,
  );
  return 0;
}

await runTool(main);
