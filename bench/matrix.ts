// Osprey against redis-server 7 at every shape in one command: value sizes × clients × pipeline
// depth × keyspace size × sync policy, the two servers alternating run by run, with the light C
// generator (bench/load.c, built here with gcc) or bench.ts. Prints a ratio table and writes every
// raw figure to a JSON file that bench/plot.ts turns into an SVG.
//
//   ./node_modules/.bin/bun run bench/matrix.ts [--sizes 100,1024,16384,262144,1048576]
//     [--pipelines 1,16] [--ops set,get] [--clients 50] [--many-clients 1000] [--keyspaces 1000]
//     [--data-max-mib 512] [--syncs os,always] [--rounds 2] [--duration 5] [--warmup 1]
//     [--generator c|bun] [--value-fill x|random] [--osprey-toml 'wal_max_bytes = 1073741824'] [--out bench/matrix.json]
//     [--base /path/to/another/checkout]
//
// --base adds a third server, Osprey from another checkout (an A/B against main), run in the same
// rotation with the same config; the table then also shows this checkout against it. Each run
// records, per operation, the bytes the server had the storage layer write (/proc/PID/io
// write_bytes less cancelled_write_bytes: pages of files deleted before writeback never reach the
// disk; a reaped snapshot or rewrite child's included), the bytes passed to write calls (wchar)
// and CPU time (utime + stime of the server and its reaped children), and the server's peak RSS
// (/proc/PID/statm every 200 ms; a snapshot or rewrite child's own copies not included).
//
// Sync policies are paired as the issue compares them: Osprey "os" against Redis AOF with
// `appendfsync no`, "always" against `appendfsync always`. Both servers keep their default
// snapshot/rewrite behaviour otherwise (Osprey snapshots every wal_max_bytes logged; Redis
// rewrites its AOF as it grows), since a write-heavy run pays for that too.

import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync, openSync, closeSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { parseArgs } from "node:util";

const root = resolve(import.meta.dir, "..");
const bun = process.execPath;

const { values: opt } = parseArgs({
  options: {
    sizes: { type: "string", default: "100,1024,16384,262144,1048576" },
    pipelines: { type: "string", default: "1,16" },
    ops: { type: "string", default: "set,get" },
    clients: { type: "string", default: "50" },
    "many-clients": { type: "string", default: "1000" },
    keyspaces: { type: "string", default: "1000" },
    "data-max-mib": { type: "string", default: "512" },
    syncs: { type: "string", default: "os,always" },
    rounds: { type: "string", default: "2" },
    duration: { type: "string", default: "5" },
    warmup: { type: "string", default: "1" },
    generator: { type: "string", default: "c" },
    "value-fill": { type: "string", default: "x" },
    "osprey-toml": { type: "string", default: "" },
    base: { type: "string", default: "" },
    out: { type: "string", default: join(root, "bench", "matrix.json") },
    help: { type: "boolean", default: false },
  },
});
if (opt.help) {
  process.stdout.write(readFileSync(import.meta.path, "utf8").split("\n").filter((l) => l.startsWith("//")).map((l) => l.slice(3)).join("\n") + "\n");
  process.exit(0);
}

const list = (s: string) => s.split(",").map((x) => x.trim()).filter((x) => x !== "");
const ints = (name: string, s: string) =>
  list(s).map((x) => {
    const n = Number(x);
    if (!Number.isSafeInteger(n) || n < 0) throw new Error(`--${name}: ${x} is not a non-negative integer`);
    return n;
  });

const sizes = ints("sizes", opt.sizes!);
const pipelines = ints("pipelines", opt.pipelines!);
const ops = list(opt.ops!) as ("set" | "get")[];
const clientCounts = ints("clients", opt.clients!);
const manyClients = ints("many-clients", opt["many-clients"]!);
const keyspaces = ints("keyspaces", opt.keyspaces!);
const dataMaxBytes = Number(opt["data-max-mib"]) * 1024 * 1024;
const syncs = list(opt.syncs!) as ("os" | "always")[];
const rounds = Number(opt.rounds);
const durationS = Number(opt.duration);
const warmupS = Number(opt.warmup);
const generator = opt.generator === "bun" ? "bun" : "c";
// load.c's value bytes: "x" repeated (the default), which Redis's RDB compresses to almost nothing,
// or random bytes no compression shrinks (--value-fill random; the C generator only).
const valueFill = opt["value-fill"] === "random" ? "random" : "x";
if (valueFill === "random" && generator === "bun") throw new Error("--value-fill random needs the C generator (--generator c)");
for (const op of ops) if (op !== "set" && op !== "get") throw new Error(`--ops: ${op} is not set or get`);
for (const s of syncs) if (s !== "os" && s !== "always") throw new Error(`--syncs: ${s} is not os or always`);

const redisFsync: Record<string, string> = { os: "no", always: "always" };

/** One shape of the matrix: what both servers are measured at. */
interface Shape {
  sync: "os" | "always";
  op: "set" | "get";
  valueBytes: number;
  clients: number;
  pipeline: number;
  keyspace: number;
}

/** A generator's result line (load.c and bench.ts --json print the same fields). */
interface Figures {
  opsPerSec: number;
  ops: number;
  durationS: number;
  latencyMs: { p50: number; p99: number; p999: number; max: number; mean: number };
  errors: number;
  firstError: string;
}

type Target = "osprey" | "redis" | "base";

interface Run extends Shape {
  target: Target;
  round: number;
  figures: Figures | null;
  /** Per operation (the warmup's share estimated at the measured rate): /proc/PID/io write_bytes and wchar. */
  diskBytesPerOp?: number;
  wcharPerOp?: number;
  /** CPU ms per operation of the server and its reaped children (utime + stime + cutime + cstime). */
  cpuMsPerOp?: number;
  /** The server process's largest RSS during the run (sampled every rssSampleMs; snapshot or rewrite children not included). */
  rssPeakBytes?: number;
  failure?: string;
}

const shapeKey = (s: Shape) => `${s.sync} ${s.op} ${s.valueBytes}B c=${s.clients} P=${s.pipeline} keys=${s.keyspace}`;

/** The shapes, grouped so each value size's keys are loaded once before its GETs. */
function shapes(sync: Shape["sync"]): Shape[] {
  const out: Shape[] = [];
  const seen = new Set<string>();
  for (const keyspaceWanted of keyspaces) {
    for (const valueBytes of sizes) {
      // Large values at a large keyspace would need gigabytes per server: the keyspace is capped.
      const keyspace = Math.max(1, Math.min(keyspaceWanted, Math.floor(dataMaxBytes / Math.max(valueBytes, 1))));
      // Two keyspaces capped to the same count are one shape: run it once, not as two rounds of it.
      if (seen.has(`${valueBytes} ${keyspace}`)) continue;
      seen.add(`${valueBytes} ${keyspace}`);
      const counts = valueBytes <= 100 ? [...new Set([...clientCounts, ...manyClients])] : clientCounts;
      for (const op of ops)
        for (const clients of counts)
          for (const pipeline of pipelines) out.push({ sync, op, valueBytes, clients, pipeline, keyspace });
    }
  }
  return out;
}

// ---- the generator ----

const loadBinary = join(root, "build", "bench", "load");

function buildGenerator(): void {
  const source = join(root, "bench", "load.c");
  if (existsSync(loadBinary) && statSync(loadBinary).mtimeMs >= statSync(source).mtimeMs) return;
  mkdirSync(join(root, "build", "bench"), { recursive: true });
  const r = Bun.spawnSync(["gcc", "-O2", "-o", loadBinary, source], { stderr: "pipe" });
  if (r.exitCode !== 0) throw new Error(`gcc bench/load.c failed: ${r.stderr.toString()}`);
}

async function generate(port: number, s: Shape, extra: string[]): Promise<{ figures: Figures | null; failure?: string }> {
  const common = ["--port", String(port), "--clients", String(s.clients), "--pipeline", String(s.pipeline), "--value-size", String(s.valueBytes), "--keyspace", String(s.keyspace)];
  const argv =
    generator === "c"
      ? [loadBinary, ...common, "--value-fill", valueFill, "--op", s.op, "--duration", String(durationS), "--warmup", String(warmupS), ...extra]
      : [bun, "run", join(root, "bench", "bench.ts"), ...common, "--op", s.op, "--protocol", "resp", "--duration", String(durationS), "--warmup", String(warmupS), "--json", ...extra];
  const p = Bun.spawn(argv, { stdout: "pipe", stderr: "pipe" });
  const [out, err, code] = await Promise.all([new Response(p.stdout).text(), new Response(p.stderr).text(), p.exited]);
  const last = out.trim().split("\n").at(-1) ?? "";
  let figures: Figures | null = null;
  try {
    figures = last.startsWith("{") ? (JSON.parse(last) as Figures) : null;
  } catch {
    figures = null;
  }
  if (code !== 0 || figures === null) return { figures, failure: `generator exit ${code}: ${err.trim().split("\n").slice(-2).join(" | ")}` };
  return { figures };
}

/** SETs every key of the shape once (so its GETs hit). */
async function preload(port: number, s: Shape): Promise<void> {
  if (generator === "bun") return; // bench.ts preloads on every GET run itself (--preload)
  const p = Bun.spawn([loadBinary, "--port", String(port), "--clients", "16", "--pipeline", s.valueBytes >= 262144 ? "2" : "16", "--value-size", String(s.valueBytes), "--keyspace", String(s.keyspace), "--value-fill", valueFill, "--preload-only"], { stdout: "ignore", stderr: "pipe" });
  const code = await p.exited;
  if (code !== 0) throw new Error(`preload of ${shapeKey(s)} on port ${port} failed: ${await new Response(p.stderr).text()}`);
}

// ---- the servers ----

interface Server {
  name: Target;
  port: number;
  proc: ReturnType<typeof Bun.spawn>;
}

async function freePort(): Promise<number> {
  const l = Bun.listen({ hostname: "127.0.0.1", port: 0, socket: { data() {} } });
  const port = l.port;
  l.stop(true);
  return port;
}

/** Resolves once the server at `port` answers PING over RESP. */
async function ready(port: number, proc: ReturnType<typeof Bun.spawn>, what: string): Promise<void> {
  for (let i = 0; i < 300; i++) {
    if (proc.exitCode !== null) throw new Error(`${what} exited (code ${proc.exitCode}) before it answered`);
    const ok = await new Promise<boolean>((done) => {
      Bun.connect({
        hostname: "127.0.0.1",
        port,
        socket: {
          open(s) {
            s.write("*1\r\n$4\r\nPING\r\n");
          },
          data(s, d) {
            done(new TextDecoder().decode(d).startsWith("+PONG"));
            s.end();
          },
          error() {
            done(false);
          },
          connectError() {
            done(false);
          },
        },
      }).catch(() => done(false));
    });
    if (ok) return;
    await Bun.sleep(100);
  }
  throw new Error(`${what} did not answer PING on port ${port}`);
}

/** An Osprey from checkout `from`, its data and log under work/name. */
async function startOsprey(work: string, sync: Shape["sync"], name: Target, from: string): Promise<Server> {
  const port = await freePort();
  mkdirSync(join(work, name), { recursive: true });
  const config = join(work, `${name}.toml`);
  writeFileSync(config, `listen_addr = "127.0.0.1:${port}"\ndata_dir = "${join(work, name)}"\nsync_policy = "${sync}"\nmax_clients = 10000\n${opt["osprey-toml"]!.replace(/\\n/g, "\n")}\n`);
  const fd = openSync(join(work, `${name}.log`), "a");
  const proc = Bun.spawn([bun, "run", join(from, "src", "server.ts"), "--config", config], { stdout: fd, stderr: fd, cwd: work });
  closeSync(fd);
  await ready(port, proc, name);
  return { name, port, proc };
}

async function startServers(work: string, sync: Shape["sync"]): Promise<Server[]> {
  const rport = await freePort();
  mkdirSync(join(work, "redis"), { recursive: true });
  const rfd = openSync(join(work, "redis.log"), "a");
  // cwd and --dir in the temp dir: Redis never writes into a checkout.
  const redis = Bun.spawn(
    ["redis-server", "--port", String(rport), "--bind", "127.0.0.1", "--save", "", "--appendonly", "yes", "--appendfsync", redisFsync[sync]!, "--dir", join(work, "redis"), "--maxclients", "10000"],
    { stdout: rfd, stderr: rfd, cwd: join(work, "redis") },
  );
  closeSync(rfd);
  await ready(rport, redis, "redis-server");
  const servers: Server[] = [await startOsprey(work, sync, "osprey", root), { name: "redis", port: rport, proc: redis }];
  if (opt.base !== "") servers.push(await startOsprey(work, sync, "base", resolve(opt.base!)));
  return servers;
}

const clockTicks = Number(sh(["getconf", "CLK_TCK"])) || 100;

/**
 * /proc/PID/io's write_bytes less cancelled_write_bytes (what reached or will reach the disk: pages
 * of a file deleted before writeback never do), wchar, and the CPU seconds of the server and of
 * its reaped children (snapshot or rewrite); zeros where it cannot be read.
 */
function io(pid: number): { disk: number; wchar: number; cpuS: number } {
  try {
    const text = readFileSync(`/proc/${pid}/io`, "utf8");
    const field = (name: string) => Number(new RegExp(`^${name}: (\\d+)$`, "m").exec(text)?.[1] ?? 0);
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    const f = stat.slice(stat.lastIndexOf(")") + 2).split(" "); // f[0] is field 3 (state)
    const cpuS = (Number(f[11]) + Number(f[12]) + Number(f[13]) + Number(f[14])) / clockTicks;
    return { disk: field("write_bytes") - field("cancelled_write_bytes"), wchar: field("wchar"), cpuS };
  } catch {
    return { disk: 0, wchar: 0, cpuS: 0 };
  }
}

/** The resident bytes of process `pid` (/proc/PID/statm), or 0 where it cannot be read. */
function rssBytes(pid: number): number {
  try {
    return Number(readFileSync(`/proc/${pid}/statm`, "utf8").split(" ")[1]) * 4096;
  } catch {
    return 0;
  }
}
const rssSampleMs = 200;

async function stopServers(servers: Server[]): Promise<void> {
  for (const s of servers) s.proc.kill("SIGTERM");
  await Promise.all(servers.map((s) => Promise.race([s.proc.exited, Bun.sleep(20_000).then(() => s.proc.kill("SIGKILL"))])));
}

// ---- the run ----

function sh(cmd: string[]): string {
  const r = Bun.spawnSync(cmd, { stdout: "pipe", stderr: "ignore" });
  return r.exitCode === 0 ? r.stdout.toString().trim() : "";
}

const meta = {
  startedAt: new Date().toISOString(),
  uptimeBefore: sh(["uptime"]),
  commit: sh(["git", "-C", root, "rev-parse", "--short", "HEAD"]),
  redis: sh(["redis-server", "--version"]),
  bun: Bun.version,
  cpus: navigator.hardwareConcurrency,
  generator: generator === "c" ? "bench/load.c (epoll, one thread)" : "bench/bench.ts",
  durationS,
  warmupS,
  rounds,
  dataMaxBytes,
  pairing: "Osprey sync_policy os vs Redis AOF appendfsync no; always vs appendfsync always",
  ospreyToml: opt["osprey-toml"],
  valueFill,
};

if (generator === "c") buildGenerator();
const runs: Run[] = [];
const work = mkdtempSync(join(tmpdir(), "osprey-matrix-"));
try {
  for (const sync of syncs) {
    const servers = await startServers(join(work, sync), sync);
    try {
      let loaded = "";
      for (const shape of shapes(sync)) {
        const loadKey = `${shape.valueBytes}/${shape.keyspace}`;
        if (shape.op === "get" && loaded !== loadKey) {
          for (const s of servers) await preload(s.port, shape);
          loaded = loadKey;
        }
        for (let round = 1; round <= rounds; round++) {
          // Alternate who goes first, so neither always runs on a cooler (or warmer) machine.
          const order = round % 2 === 1 ? servers : [...servers].reverse();
          for (const server of order) {
            const before = io(server.proc.pid);
            let rssPeakBytes = rssBytes(server.proc.pid);
            const sampler = setInterval(() => (rssPeakBytes = Math.max(rssPeakBytes, rssBytes(server.proc.pid))), rssSampleMs);
            const { figures, failure } = await generate(server.port, shape, shape.op === "get" && generator === "bun" ? ["--preload"] : []).finally(() => clearInterval(sampler));
            const after = io(server.proc.pid);
            const f = figures;
            const opsAll = f === null ? 0 : f.opsPerSec * (durationS + warmupS);
            const perOp = (n: number) => (opsAll > 0 ? n / opsAll : undefined);
            const diskBytesPerOp = perOp(after.disk - before.disk);
            const wcharPerOp = perOp(after.wchar - before.wchar);
            const cpu = perOp((after.cpuS - before.cpuS) * 1000);
            runs.push({ ...shape, target: server.name, round, figures, diskBytesPerOp, wcharPerOp, cpuMsPerOp: cpu, rssPeakBytes, ...(failure ? { failure } : {}) });
            const disk = diskBytesPerOp === undefined ? "" : ` disk ${(diskBytesPerOp / 1024).toFixed(1)} KiB/op cpu ${cpu?.toFixed(4)} ms/op rss peak ${Math.round(rssPeakBytes / 1048576)} MiB`;
            process.stderr.write(`${shapeKey(shape)} round ${round} ${server.name}: ${f ? `${Math.round(f.opsPerSec)} ops/s p99 ${f.latencyMs.p99.toFixed(3)} ms${disk}` : "no result"}${failure ? ` (${failure})` : ""}\n`);
          }
        }
        if (shape.op === "set") loaded = ""; // SETs of random keys leave a partly loaded keyspace of this size
      }
    } finally {
      await stopServers(servers);
    }
  }
} finally {
  rmSync(work, { recursive: true, force: true });
}

// ---- summary ----

interface Row {
  shape: Shape;
  osprey: Figures | null;
  redis: Figures | null;
  base: Figures | null;
  /** Osprey/Redis ops/s per round, where both ran. */
  roundRatios: number[];
  /** Osprey/base ops/s per round (with --base). */
  baseRatios: number[];
  /** Median per-operation storage writes and CPU ms of each server over its rounds. */
  diskBytesPerOp: Partial<Record<Target, number>>;
  cpuMsPerOp: Partial<Record<Target, number>>;
  /** Largest of each server's peak RSS over its rounds. */
  rssPeakBytes: Partial<Record<Target, number>>;
}

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length === 0 ? NaN : s.length % 2 === 1 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
};

const rows = new Map<string, Row>();
for (const r of runs) {
  const key = shapeKey(r);
  const row = rows.get(key) ?? { shape: { sync: r.sync, op: r.op, valueBytes: r.valueBytes, clients: r.clients, pipeline: r.pipeline, keyspace: r.keyspace }, osprey: null, redis: null, base: null, roundRatios: [], baseRatios: [], diskBytesPerOp: {}, cpuMsPerOp: {}, rssPeakBytes: {} };
  rows.set(key, row);
  const f = r.figures;
  if (f === null || r.failure) continue;
  const best = row[r.target];
  if (best === null || f.opsPerSec > best.opsPerSec) row[r.target] = f;
}
for (const row of rows.values()) {
  const of = (t: Target) => runs.filter((r) => shapeKey(r) === shapeKey(row.shape) && r.target === t && !r.failure);
  for (const t of ["osprey", "redis", "base"] as const) {
    const d = of(t).flatMap((r) => (r.diskBytesPerOp === undefined ? [] : [r.diskBytesPerOp]));
    if (d.length > 0) row.diskBytesPerOp[t] = median(d);
    const c = of(t).flatMap((r) => (r.cpuMsPerOp === undefined ? [] : [r.cpuMsPerOp]));
    if (c.length > 0) row.cpuMsPerOp[t] = median(c);
    const m = of(t).flatMap((r) => (r.rssPeakBytes ? [r.rssPeakBytes] : []));
    if (m.length > 0) row.rssPeakBytes[t] = Math.max(...m);
  }
  for (let round = 1; round <= rounds; round++) {
    const pick = (t: Target) => of(t).find((r) => r.round === round)?.figures;
    const o = pick("osprey");
    const rd = pick("redis");
    const b = pick("base");
    if (o && rd && rd.opsPerSec > 0) row.roundRatios.push(o.opsPerSec / rd.opsPerSec);
    if (o && b && b.opsPerSec > 0) row.baseRatios.push(o.opsPerSec / b.opsPerSec);
  }
}

const size = (b: number) => (b >= 1048576 ? `${b / 1048576} MiB` : b >= 1024 ? `${b / 1024} KiB` : `${b} B`);
const fmt = (n: number | undefined) => (n === undefined ? "—" : Math.round(n).toLocaleString("en-US"));
const ms = (n: number | undefined) => (n === undefined ? "—" : n.toFixed(2));
const kib = (n: number | undefined) => (n === undefined ? "—" : (n / 1024).toFixed(1));
const mib = (n: number | undefined) => (n === undefined ? "—" : Math.round(n / 1048576).toLocaleString("en-US"));
const cpuMs = (n: number | undefined) => (n === undefined ? "—" : n < 0.1 ? n.toFixed(4) : n.toFixed(3));
const span = (xs: number[]) => (xs.length > 0 ? `${median(xs).toFixed(2)} (${Math.min(...xs).toFixed(2)}–${Math.max(...xs).toFixed(2)})` : "—");
const withBase = opt.base !== "";
const lines = [
  "| sync | op | value | clients | P | keys | Osprey ops/s | Redis ops/s | ratio median (range) | Osprey p99 ms | Redis p99 ms | disk KiB/op Osprey | Redis | CPU ms/op Osprey | Redis | peak RSS MiB Osprey | Redis |" + (withBase ? " base ops/s | new/base median (range) | disk KiB/op base | CPU ms/op base | peak RSS MiB base |" : ""),
  "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|" + (withBase ? "---|---|---|---|---|" : ""),
];
for (const { shape: s, osprey: o, redis: r, base: b, roundRatios, baseRatios, diskBytesPerOp: d, cpuMsPerOp: c, rssPeakBytes: m } of rows.values()) {
  lines.push(
    `| ${s.sync} | ${s.op.toUpperCase()} | ${size(s.valueBytes)} | ${s.clients} | ${s.pipeline} | ${s.keyspace} | ${fmt(o?.opsPerSec)} | ${fmt(r?.opsPerSec)} | ${span(roundRatios)} | ${ms(o?.latencyMs.p99)} | ${ms(r?.latencyMs.p99)} | ${kib(d.osprey)} | ${kib(d.redis)} | ${cpuMs(c.osprey)} | ${cpuMs(c.redis)} | ${mib(m.osprey)} | ${mib(m.redis)} |` +
      (withBase ? ` ${fmt(b?.opsPerSec)} | ${span(baseRatios)} | ${kib(d.base)} | ${cpuMs(c.base)} | ${mib(m.base)} |` : ""),
  );
}
const uptimeAfter = sh(["uptime"]);
process.stdout.write(lines.join("\n") + `\n\nuptime before: ${meta.uptimeBefore}\nuptime after:  ${uptimeAfter}\n`);
writeFileSync(opt.out!, JSON.stringify({ meta: { ...meta, finishedAt: new Date().toISOString(), uptimeAfter }, runs, summary: [...rows.values()] }, null, 1) + "\n");
process.stderr.write(`raw figures: ${opt.out}\n`);
const failed = runs.filter((r) => r.failure).length;
if (failed > 0) {
  process.stderr.write(`!!! ${failed} run(s) failed; their shapes lack figures\n`);
  process.exit(1);
}
