// Hit ratio under a memory limit: replays the same seeded cache-aside traces (GET; on a miss SET)
// against Osprey under each eviction policy and against redis-server under its own, each limited
// to the memory that holds the same number of keys of the trace's shape, and prints a table.
//
//   bun bench/hitratio.ts [--keys 100000] [--capacity 10000] [--requests 300000] [--redis-server redis-server]
//     [--seed 24301] [--in-process] [--policies allkeys-lru,...] [--osprey-only | --redis-only] [--rate N]
//
// --rate N paces each server replay to N requests a second. Redis's LRU clock ticks once a second
// (LRU_CLOCK_RESOLUTION), so a replay run flat out stamps thousands of accesses with the same
// time and its allkeys-lru degrades towards random among them; paced so that a second holds a
// small part of the cache (say capacity / 5 requests), its allkeys-lru is the LRU it is meant to
// be. Osprey's stamps are a logical clock, the same at any pace.
//
// Under volatile-* every SET carries a TTL longer than the replay. Under the osprey policies the
// in-process table also shows the decay tuner's shadow caches (keys, bytes, counted in used_memory)
// and the decay setting they had adopted at the end.
//
// How the limits are matched: the two servers count memory differently (Osprey's used_memory is
// its documented accounting, Redis's the allocator's), so one byte figure would give them
// different capacities. Each server is started without a limit, `capacity` keys of the trace's
// key and value sizes are loaded, and its own used_memory then becomes its maxmemory (CONFIG SET)
// after a FLUSHALL; then the keys that limit really holds under eviction are counted and the limit
// rescaled (up to three times) until it holds `capacity`. The keys each really held at the end are
// printed next to the hit ratio.

import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { RedisClient, type Subprocess } from "bun";
import type { EvictionPolicy } from "../src/engine/eviction.ts";
import { traces } from "./lib/traces.ts";

const host = "127.0.0.1";
const projectDir = resolve(import.meta.dir, "..");

function option(name: string, fallback: string): string {
  const at = process.argv.indexOf(`--${name}`);
  return at >= 0 && at + 1 < process.argv.length ? process.argv[at + 1]! : fallback;
}

const keysTotal = Number(option("keys", "100000"));
const capacity = Number(option("capacity", String(Math.floor(keysTotal / 10))));
const requests = Number(option("requests", "300000"));
const redisBinary = option("redis-server", "redis-server");
const valueBytes = 100;
const batch = 32;
/** --rate: requests a second a server replay is paced to (0 = flat out). */
const rate = Number(option("rate", "0"));
/** The traces' seed (--seed): other seeds give other traces of the same shape, to tell a policy's gain from one trace's luck. */
const seed = Number(option("seed", String(0x5eed)));
/** volatile-* policies: every SET carries this TTL, longer than any replay, so every key is a candidate. */
const volatileTtlSeconds = 86_400;

/** A key of the fixed width every trace uses, so one key costs the same in every trace. */
function key(prefix: string, n: number): string {
  return `${prefix}:${String(n).padStart(10, "0")}`;
}

type Trace = { name: string; keys: string[] };

/** The shared traces (bench/lib/traces.ts) as keys: `k:` the Zipf keyspace's, `s:` a scan's one-off keys. */
function keyTraces(): Trace[] {
  return traces(keysTotal, capacity, requests, seed).map((t) => ({
    name: t.name,
    keys: Array.from(t.ids, (id) => (id < keysTotal ? key("k", id) : key("s", id - keysTotal))),
  }));
}

function freePort(): number {
  const listener = Bun.listen({ hostname: host, port: 0, socket: { data() {} } });
  const port = listener.port;
  listener.stop(true);
  return port;
}

interface Server {
  proc: Subprocess;
  client: RedisClient;
  dir: string;
}

async function start(kind: "osprey" | "redis"): Promise<Server> {
  const port = freePort();
  const dir = mkdtempSync(join(tmpdir(), `hitratio-${kind}-`));
  const proc =
    kind === "osprey"
      ? Bun.spawn([process.execPath, "run", "src/server.ts", "--listen", `${host}:${port}`, "--data-dir", join(dir, "data"), "--sync", "os"], {
          cwd: projectDir,
          env: { ...process.env, OSPREY_ENABLE_SNAPSHOT: "false", OSPREY_LOG_FILE: join(dir, "osprey.log") },
          stdin: "ignore",
          stdout: "ignore",
          stderr: "ignore",
        })
      : Bun.spawn([redisBinary, "--port", String(port), "--bind", host, "--save", "", "--appendonly", "no", "--dir", dir], { stdin: "ignore", stdout: "ignore", stderr: "ignore" });
  const deadline = Date.now() + 30_000;
  for (;;) {
    try {
      const client = new RedisClient(`redis://${host}:${port}`);
      await client.send("PING", []);
      return { proc, client, dir };
    } catch (err) {
      if (Date.now() > deadline) throw err;
      await Bun.sleep(100);
    }
  }
}

async function stop(s: Server): Promise<void> {
  s.client.close();
  s.proc.kill("SIGTERM");
  await s.proc.exited;
  rmSync(s.dir, { recursive: true, force: true });
}

async function info(s: Server, field: string): Promise<number> {
  const text = String(await s.client.send("INFO", ["memory"]));
  const m = new RegExp(`^${field}:(\\d+)`, "m").exec(text);
  if (m === null) throw new Error(`no ${field} in INFO`);
  return Number(m[1]);
}

const value = "v".repeat(valueBytes);

/** The memory holding `capacity` keys of the traces' shape, by the server's own count. */
async function calibrate(s: Server): Promise<number> {
  await s.client.send("CONFIG", ["SET", "maxmemory", "0"]);
  await s.client.send("FLUSHALL", []);
  await fill(s, "c", capacity);
  const used = await info(s, "used_memory");
  await s.client.send("FLUSHALL", []);
  const base = await info(s, "used_memory");
  // A limit equal to that used_memory does not hold exactly `capacity` keys once eviction runs
  // (hash tables sized differently, Redis's clients counted): measure what it holds and rescale, up to three times.
  let limit = used;
  for (let round = 0; round < 3; round++) {
    await s.client.send("CONFIG", ["SET", "maxmemory-policy", "allkeys-random"]);
    await s.client.send("CONFIG", ["SET", "maxmemory", String(limit)]);
    await fill(s, "d", 3 * capacity);
    const held = Number(await s.client.send("DBSIZE", []));
    await s.client.send("CONFIG", ["SET", "maxmemory", "0"]);
    await s.client.send("FLUSHALL", []);
    if (held === capacity) break;
    limit = Math.round(base + ((limit - base) * capacity) / held);
  }
  return limit;
}

async function fill(s: Server, prefix: string, count: number): Promise<void> {
  for (let i = 0; i < count; i += batch) {
    const n = Math.min(batch, count - i);
    await Promise.all(Array.from({ length: n }, (_, j) => s.client.send("SET", [key(prefix, i + j), value])));
  }
}

/** Replays a trace cache-aside, `batch` GETs at a time then SETs for their misses; the hit ratio and keys held. */
async function replay(s: Server, trace: Trace, volatile: boolean): Promise<{ hitRatio: number; keysHeld: number }> {
  let hits = 0;
  const started = performance.now();
  for (let i = 0; i < trace.keys.length; i += batch) {
    if (rate > 0) {
      const due = started + (i * 1000) / rate;
      const now = performance.now();
      if (due > now) await Bun.sleep(due - now);
    }
    const keys = trace.keys.slice(i, i + batch);
    const got = await Promise.all(keys.map((k) => s.client.get(k)));
    const misses = keys.filter((_, j) => got[j] === null);
    hits += keys.length - misses.length;
    const ttl = volatile ? ["EX", String(volatileTtlSeconds)] : [];
    await Promise.all(misses.map((k) => s.client.send("SET", [k, value, ...ttl])));
  }
  const keysHeld = Number(await s.client.send("DBSIZE", []));
  return { hitRatio: hits / trace.keys.length, keysHeld };
}

/**
 * --in-process: the same traces against the engine's Store alone, no server, no sockets (seconds
 * instead of minutes; for trying a policy). The limit is calibrated as for the servers: the
 * used_memory holding `capacity` keys, rescaled until allkeys-random holds exactly that many.
 */
async function inProcess(policies: EvictionPolicy[]): Promise<void> {
  const { Store } = await import("../src/engine/store.ts");
  const v = Buffer.from(value, "latin1");
  let written = 0;
  const access = (store: InstanceType<typeof Store>, k: Buffer): boolean => {
    if (store.read(k, 0, k.length, 0) >= 0) return true;
    if (store.maxMemory !== 0 && !store.makeRoom(k.length + v.length + 64, Infinity)) throw new Error("in-process replay: a write was refused");
    // volatile-* evict only keys with an expiry: under them every key gets one, far away (the replay's clock stays at 0).
    // Each its own, as a server's clock gives them: an expiry heap item is known stale by its time.
    const expiryMs = store.evictionPolicy.startsWith("volatile-") ? volatileTtlSeconds * 1000 + written++ : -1;
    store.set(k, 0, k.length, v, 0, v.length, expiryMs, 1, store.lookup(k, 0, k.length, 0));
    store.evictIfOver(Infinity);
    return false;
  };
  const fillStore = (store: InstanceType<typeof Store>, prefix: string, count: number) => {
    for (let i = 0; i < count; i++) access(store, Buffer.from(key(prefix, i), "latin1"));
  };
  const probe = new Store();
  fillStore(probe, "c", capacity);
  let limit = probe.usedMemory;
  const base = new Store().usedMemory;
  for (let round = 0; round < 3; round++) {
    const s = new Store();
    s.setMemoryLimit(limit, "allkeys-random");
    fillStore(s, "d", 3 * capacity);
    if (s.size === capacity) break;
    limit = Math.round(base + ((limit - base) * capacity) / s.size);
  }
  console.log(`in-process: limit ${limit} bytes (holding ${capacity} keys under allkeys-random)`);
  const encoded = all.map((t) => ({ name: t.name, keys: t.keys.map((k) => Buffer.from(k, "latin1")) }));
  for (const policy of policies) {
    const cells: string[] = [];
    for (const trace of encoded) {
      const store = new Store();
      store.setMemoryLimit(limit, policy);
      let hits = 0;
      for (const k of trace.keys) if (access(store, k)) hits++;
      const tuner = store.decayTuner;
      const shadows = tuner === null ? "" : `, shadows ${tuner.keysHeld} keys / ${tuner.bytes} B, decay ×${tuner.factor}`;
      cells.push(`${((hits / trace.keys.length) * 100).toFixed(2)}% (${store.size}${shadows})`);
    }
    console.log(`| osprey (in process) | ${policy} | ${cells.join(" | ")} |`);
  }
}

const all = keyTraces();
if (process.argv.includes("--in-process")) {
  const at = process.argv.indexOf("--policies");
  const policies = (at >= 0 ? process.argv[at + 1]! : "allkeys-lru,allkeys-lfu,allkeys-random,allkeys-osprey").split(",") as EvictionPolicy[];
  console.log(`keys=${keysTotal} capacity=${capacity} requests=${requests} value=${valueBytes}B seed=${seed}`);
  await inProcess(policies);
  process.exit(0);
}

const chosen = process.argv.includes("--policies") ? option("policies", "").split(",") : null;
const pick = (policies: string[]) => (chosen === null ? policies : policies.filter((p) => chosen.includes(p)));
const runs: { server: "osprey" | "redis"; policies: string[] }[] = [
  ...(process.argv.includes("--redis-only") ? [] : [{ server: "osprey" as const, policies: pick(["allkeys-lru", "allkeys-lfu", "allkeys-random", "allkeys-osprey", "volatile-osprey"]) }]),
  ...(process.argv.includes("--osprey-only") ? [] : [{ server: "redis" as const, policies: pick(["allkeys-lru", "allkeys-lfu", "allkeys-random"]) }]),
].filter((r) => r.policies.length > 0);

console.log(`keys=${keysTotal} capacity=${capacity} requests=${requests} value=${valueBytes}B batch=${batch} seed=${seed}${rate > 0 ? ` rate=${rate}/s` : ""}`);
const rows: string[] = [];
for (const run of runs) {
  const s = await start(run.server);
  try {
    const limit = await calibrate(s);
    console.log(`${run.server}: maxmemory ${limit} (its used_memory holding ${capacity} keys)`);
    for (const policy of run.policies) {
      const cells: string[] = [];
      for (const trace of all) {
        await s.client.send("CONFIG", ["SET", "maxmemory", "0"]);
        await s.client.send("FLUSHALL", []);
        await s.client.send("CONFIG", ["SET", "maxmemory-policy", policy]);
        await s.client.send("CONFIG", ["SET", "maxmemory", String(limit)]);
        const r = await replay(s, trace, policy.startsWith("volatile-"));
        cells.push(`${(r.hitRatio * 100).toFixed(2)}% (${r.keysHeld})`);
      }
      const row = `| ${run.server} | ${policy} | ${cells.join(" | ")} |`;
      rows.push(row);
      console.log(row);
    }
  } finally {
    await stop(s);
  }
}
console.log(`\n| server | policy | ${all.map((t) => `${t.name} hit % (keys held)`).join(" | ")} |`);
console.log(`|---|---|${all.map(() => "---").join("|")}|`);
for (const r of rows) console.log(r);
