// Small requests without pipelining (issue 15 item 4): bench/load.c drives several servers in one
// run, taking turns round by round (the order rotates and flips, so no server always goes first or
// second), and prints each one's ops/s per round, median, p99, and its ratio to redis-server per round.
//
//   ./node_modules/.bin/bun run bench/p1.ts [--ops get,set] [--rounds 4] [--duration 5]
//     [--warmup 1] [--clients 50] [--pipeline 1] [--keyspace 100000] [--value-size 100]
//     [--osprey-toml 'key = value\n…'] [--value-fill x|random] [server …]
//
// A server is `floor` (bench/floor.ts: Bun.listen doing no work), `redis` (AOF, appendfsync no),
// `osprey` (this tree, sync_policy "os"), `osprey@DIR` (the Osprey checkout in DIR, for an A/B
// against another commit), or `floor@FILE` (a variant of floor.ts), each optionally `name=…` and
// `?K=V&…` (environment variables for that server alone).
// Default: floor osprey redis. GETs hit: every key is SET once before the first round.

import { closeSync, existsSync, mkdirSync, mkdtempSync, openSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { basename, join, resolve } from "node:path";
import { parseArgs } from "node:util";

const root = resolve(import.meta.dir, "..");
const bun = process.execPath;

const { values: opt, positionals } = parseArgs({
  allowPositionals: true,
  options: {
    ops: { type: "string", default: "get,set" },
    rounds: { type: "string", default: "4" },
    duration: { type: "string", default: "5" },
    warmup: { type: "string", default: "1" },
    clients: { type: "string", default: "50" },
    pipeline: { type: "string", default: "1" },
    keyspace: { type: "string", default: "100000" },
    "value-size": { type: "string", default: "100" },
    "osprey-toml": { type: "string", default: "" },
    "value-fill": { type: "string", default: "x" },
  },
});

const ops = opt.ops!.split(",").filter((o) => o === "get" || o === "set");
const rounds = Number(opt.rounds);
const loadBinary = join(root, "build", "bench", "load");

interface Spec {
  name: string;
  env: Record<string, string>;
  argv: (port: number, dir: string) => string[];
  cwd: (dir: string) => string;
  kind: "osprey" | "redis" | "floor";
}

function specOf(text: string): Spec {
  const eq = text.indexOf("=");
  const named = eq > 0 ? text.slice(0, eq) : null;
  const [body, query] = (eq > 0 ? text.slice(eq + 1) : text).split("?", 2) as [string, string | undefined];
  const [kind, where] = body.split("@", 2) as [string, string | undefined];
  const name = named ?? (where === undefined ? kind : `${kind}@${basename(where)}`);
  const env = Object.fromEntries(new URLSearchParams(query ?? ""));
  const spec = specOfKind(name, kind, where);
  return { ...spec, env };
}

function specOfKind(name: string, kind: string, where: string | undefined): Omit<Spec, "env"> {
  if (kind === "redis")
    return {
      name,
      kind,
      cwd: (dir) => dir,
      argv: (port, dir) => ["redis-server", "--port", String(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "yes", "--appendfsync", "no", "--dir", dir],
    };
  if (kind === "floor") {
    const file = resolve(where ?? join(root, "bench", "floor.ts"));
    return { name, kind, cwd: (dir) => dir, argv: (port) => [bun, "run", file, String(port), opt["value-size"]!] };
  }
  if (kind === "osprey") {
    const tree = resolve(where ?? root);
    return {
      name,
      kind,
      cwd: (dir) => dir,
      argv: (port, dir) => {
        const config = join(dir, "osprey.toml");
        writeFileSync(config, `listen_addr = "127.0.0.1:${port}"\ndata_dir = "${join(dir, "data")}"\nsync_policy = "os"\n${opt["osprey-toml"]!.replace(/\\n/g, "\n")}\n`);
        return [bun, "run", join(tree, "src", "server.ts"), "--config", config];
      },
    };
  }
  throw new Error(`unknown server ${kind}: floor, redis, osprey, osprey@DIR or floor@FILE`);
}

const specs = (positionals.length > 0 ? positionals : ["floor", "osprey", "redis"]).map(specOf);

function buildGenerator(): void {
  const source = join(root, "bench", "load.c");
  if (existsSync(loadBinary) && statSync(loadBinary).mtimeMs >= statSync(source).mtimeMs) return;
  mkdirSync(join(root, "build", "bench"), { recursive: true });
  const r = Bun.spawnSync(["gcc", "-O2", "-o", loadBinary, source], { stderr: "pipe" });
  if (r.exitCode !== 0) throw new Error(`gcc bench/load.c failed: ${r.stderr.toString()}`);
}

async function freePort(): Promise<number> {
  const l = Bun.listen({ hostname: "127.0.0.1", port: 0, socket: { data() {} } });
  const port = l.port;
  l.stop(true);
  return port;
}

/** Resolves once something accepts connections on `port`. */
async function ready(port: number, proc: ReturnType<typeof Bun.spawn>, what: string): Promise<void> {
  for (let i = 0; i < 300; i++) {
    if (proc.exitCode !== null) throw new Error(`${what} exited (code ${proc.exitCode}) before it listened`);
    const ok = await Bun.connect({ hostname: "127.0.0.1", port, socket: { data() {} } }).then(
      (s) => (s.end(), true),
      () => false,
    );
    if (ok) return;
    await Bun.sleep(100);
  }
  throw new Error(`${what} did not listen on port ${port}`);
}

interface Running {
  spec: Spec;
  port: number;
  proc: ReturnType<typeof Bun.spawn>;
}

/** What load.c prints (its JSON line), the fields used here. */
interface Figures {
  opsPerSec: number;
  ops: number;
  /** Added here: the server's CPU time per request over the whole run (warm-up included), µs. */
  cpuUs: number;
  latencyMs: { p99: number };
  errors: number;
  firstError: string;
}

async function load(port: number, op: string, extra: string[]): Promise<Figures> {
  const argv = [loadBinary, "--port", String(port), "--clients", opt.clients!, "--pipeline", opt.pipeline!, "--value-size", opt["value-size"]!, "--keyspace", opt.keyspace!, "--value-fill", opt["value-fill"]!];
  const p = Bun.spawn([...argv, "--op", op, "--duration", opt.duration!, "--warmup", opt.warmup!, ...extra], { stdout: "pipe", stderr: "pipe" });
  const [out, err, code] = await Promise.all([new Response(p.stdout).text(), new Response(p.stderr).text(), p.exited]);
  const last = out.trim().split("\n").at(-1) ?? "";
  if (code !== 0 || !last.startsWith("{")) throw new Error(`load on port ${port} exited ${code}: ${err.trim()}`);
  return JSON.parse(last) as Figures;
}

/** SETs every key once, so the GETs hit. */
async function preload(port: number): Promise<void> {
  const p = Bun.spawn([loadBinary, "--port", String(port), "--clients", "16", "--pipeline", "16", "--value-size", opt["value-size"]!, "--keyspace", opt.keyspace!, "--value-fill", opt["value-fill"]!, "--op", "set", "--preload-only"], { stdout: "ignore", stderr: "pipe" });
  if ((await p.exited) !== 0) console.log(`warning: the preload on port ${port} failed (its GETs will miss): ${(await new Response(p.stderr).text()).trim()}`);
}

const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 === 1 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
};

/** CPU seconds (user + system) the process has used so far, from /proc (0 where there is none). */
function cpuSeconds(pid: number): number {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "latin1");
    const f = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    return (Number(f[11]) + Number(f[12])) / 100; // utime, stime in clock ticks (USER_HZ = 100)
  } catch {
    return 0;
  }
}

const uptime = (): string => Bun.spawnSync(["uptime"], { stdout: "pipe" }).stdout.toString().trim();

buildGenerator();
const work = mkdtempSync(join(tmpdir(), "osprey-p1-"));
const running: Running[] = [];
try {
  for (const spec of specs) {
    const dir = join(work, spec.name.replace(/[^A-Za-z0-9_.-]/g, "_"));
    mkdirSync(dir, { recursive: true });
    const port = await freePort();
    const fd = openSync(join(dir, "server.log"), "a");
    const proc = Bun.spawn(spec.argv(port, dir), { stdout: fd, stderr: fd, cwd: spec.cwd(dir), env: { ...process.env, ...spec.env } });
    closeSync(fd);
    running.push({ spec, port, proc });
    await ready(port, proc, spec.name);
  }
  console.log(`before: ${uptime()}`);
  console.log(`load.c: ${opt.clients} clients, P=${opt.pipeline}, ${opt["value-size"]} B values, ${opt.keyspace} keys, ${opt.duration} s per run after ${opt.warmup} s warm-up`);
  if (ops.includes("get")) for (const r of running) if (r.spec.kind !== "floor") await preload(r.port);
  for (const op of ops) {
    const got = new Map<string, Figures[]>(running.map((r) => [r.spec.name, []]));
    for (let round = 0; round < rounds; round++) {
      const order = running.map((_, i) => running[(i + round) % running.length]!);
      if (round % 2 === 1) order.reverse();
      for (const r of order) {
        const cpu0 = cpuSeconds(r.proc.pid);
        const f = await load(r.port, op, []);
        const secs = Number(opt.duration) + Number(opt.warmup);
        f.cpuUs = ((cpuSeconds(r.proc.pid) - cpu0) * 1e6) / (f.opsPerSec * secs);
        got.get(r.spec.name)!.push(f);
      }
      console.log(`${op} round ${round + 1}: ${order.map((r) => `${r.spec.name} ${Math.round(got.get(r.spec.name)!.at(-1)!.opsPerSec)}`).join(", ")}`);
    }
    const redis = running.find((r) => r.spec.kind === "redis")?.spec.name;
    console.log(`\n| ${op.toUpperCase()} | ops/s per round | median | p99 ms (median) | server CPU µs/request (median) | / redis per round | / redis (median) |`);
    console.log("|---|---|---|---|---|---|---|");
    for (const r of running) {
      const f = got.get(r.spec.name)!;
      const errors = f.reduce((n, x) => n + x.errors, 0);
      const ratios = redis === undefined ? [] : f.map((x, i) => x.opsPerSec / got.get(redis)![i]!.opsPerSec);
      const per = f.map((x) => Math.round(x.opsPerSec).toLocaleString("en")).join(" / ");
      const rs = ratios.map((x) => x.toFixed(2)).join(" / ");
      console.log(`| ${r.spec.name} | ${per} | ${Math.round(median(f.map((x) => x.opsPerSec))).toLocaleString("en")} | ${median(f.map((x) => x.latencyMs.p99)).toFixed(2)} | ${median(f.map((x) => x.cpuUs)).toFixed(2)} | ${rs} | ${ratios.length ? median(ratios).toFixed(3) : ""} |${errors ? ` ${errors} errors: ${f.find((x) => x.errors)?.firstError}` : ""}`);
    }
    console.log("");
  }
  console.log(`after: ${uptime()}`);
} finally {
  for (const r of running) r.proc.kill("SIGTERM");
  await Promise.all(running.map((r) => Promise.race([r.proc.exited, Bun.sleep(10_000).then(() => r.proc.kill("SIGKILL"))])));
  rmSync(work, { recursive: true, force: true });
}
