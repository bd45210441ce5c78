// max_memory_bytes against real servers: noeviction refuses writes with the exact errors of both
// protocols and loses nothing acknowledged across kill -9; eviction holds used_memory under the
// limit, is logged so a restart brings no evicted key back, and volatile-* touch only keys with a TTL;
// memory freed by deletes and evictions goes back to the system (slab compaction, the GC hint).

import { afterEach, describe, expect, test } from "bun:test";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { RawClient } from "../support/client.ts";
import { startServer, type RunningServer } from "../support/server.ts";
import { resp } from "../resp/encode.ts";

const cleanup: (() => Promise<unknown> | void)[] = [];
afterEach(async () => {
  for (const f of cleanup.splice(0).reverse()) await f();
});

const oom = "-OOM command not allowed when used memory > 'maxmemory'.";
const limit = 300_000;
const value = "v".repeat(1000);

function tempDir(): string {
  const dir = mkdtempSync(join(tmpdir(), "osprey-memory-"));
  cleanup.push(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

async function start(dataDir: string, config: Record<string, unknown>): Promise<RunningServer> {
  const s = await startServer({ data_dir: dataDir, sync_policy: "always", ...config }, { dataDir });
  cleanup.push(async () => {
    if (s.proc.exitCode === null && s.proc.signalCode === null) await s.signal("SIGKILL");
  });
  return s;
}

async function connect(port: number): Promise<RawClient> {
  const c = await RawClient.connect(port);
  cleanup.push(() => c.close());
  return c;
}

/** One RESP reply as text: a line, or a bulk string's bytes (`nil` for a null one). */
async function call(c: RawClient, ...args: string[]): Promise<string> {
  await c.send(resp(...args));
  const line = await c.line();
  if (line[0] !== "$") return line;
  if (line === "$-1") return "nil";
  return (await c.bytes(Number(line.slice(1)) + 2)).toString("latin1").slice(0, -2);
}

async function stat(port: number, name: string): Promise<string> {
  const c = await connect(port);
  const fields = await c.stats();
  c.close();
  expect(fields).toHaveProperty(name);
  return fields[name]!;
}

describe("noeviction", () => {
  test("writes past the limit are refused with OOM in both protocols; reads, DEL and MULTI behave as Redis's; nothing acknowledged is lost after kill -9", async () => {
    const dataDir = tempDir();
    const first = await start(dataDir, { max_memory_bytes: limit, eviction_policy: "noeviction" });
    const c = await connect(first.port);
    const acked: string[] = [];
    let refusal = "";
    for (let i = 0; i < 2000; i++) {
      const r = await call(c, "SET", `k${i}`, value);
      if (r !== "+OK") {
        refusal = r;
        break;
      }
      acked.push(`k${i}`);
    }
    expect(refusal).toBe(oom);
    expect(acked.length).toBeGreaterThan(50);
    // Small writes still fit the last bytes; fill those too.
    const small = new Map<string, string>();
    for (let i = 0; i < 5000; i++) {
      if ((await call(c, "SET", `s${i}`, "x")) !== "+OK") break;
      small.set(`s${i}`, "x");
    }
    expect(Number(await stat(first.port, "used_memory"))).toBeLessThanOrEqual(limit * 1.1);

    // The text protocol's refusal, and an MSET refused whole.
    const text = await connect(first.port);
    expect(await text.request(`SET t ${value.length}\r\n${value}\r\n`)).toStartWith("ERR OOM ");
    expect(await call(c, "MSET", "m1", "x", "m2", "y")).toBe(oom);
    expect(await call(c, "EXISTS", "m1", "m2", "t")).toBe(":0");
    expect(await call(c, "GET", "k0")).toBe(value);
    expect(await call(c, "INCR", "counter-with-a-long-name")).toBe(oom);

    // Queued at the limit: refused while queuing, and EXEC aborts.
    expect(await call(c, "MULTI")).toBe("+OK");
    expect(await call(c, "SET", "q", "xxxxxxxxxxxx")).toBe(oom);
    expect(await call(c, "GET", "k0")).toBe("+QUEUED");
    expect(await call(c, "EXEC")).toBe("-EXECABORT Transaction discarded because of previous errors.");

    // DEL frees memory: writes fit again.
    for (let i = 0; i < 20; i++) expect(await call(c, "DEL", acked.shift()!)).toBe(":1");
    // Queued while there was room, then the limit was reached from another connection: EXEC is refused whole.
    const tx = await connect(first.port);
    expect(await call(tx, "MULTI")).toBe("+OK");
    expect(await call(tx, "SET", "tx1", "1")).toBe("+QUEUED");
    expect(await call(tx, "SET", "tx2", "2")).toBe("+QUEUED");
    for (let i = 2000; ; i++) {
      const r = await call(c, "SET", `k${i}`, value);
      if (r !== "+OK") break;
      acked.push(`k${i}`);
    }
    for (let i = 5000; i < 10000; i++) {
      if ((await call(c, "SET", `s${i}`, "x")) !== "+OK") break;
      small.set(`s${i}`, "x");
    }
    expect(await call(tx, "EXEC")).toBe("-EXECABORT Transaction discarded because of: OOM command not allowed when used memory > 'maxmemory'.");
    expect(await call(tx, "EXISTS", "tx1", "tx2")).toBe(":0");
    expect(Number(await stat(first.port, "oom_rejections_total"))).toBeGreaterThanOrEqual(6);
    expect(await stat(first.port, "eviction_policy")).toBe('"noeviction"');
    expect(await stat(first.port, "max_memory")).toBe(String(limit));
    expect(await stat(first.port, "evicted_total")).toBe("0");

    await first.signal("SIGKILL");
    const second = await start(dataDir, { max_memory_bytes: limit, eviction_policy: "noeviction" });
    const d = await connect(second.port);
    for (const k of acked) expect(await call(d, "GET", k)).toBe(value);
    for (const k of small.keys()) expect(await call(d, "GET", k)).toBe("x");
    expect(await call(d, "DBSIZE")).toBe(`:${acked.length + small.size}`);
  }, 60_000);
});

describe("eviction", () => {
  test("allkeys-lru keeps used_memory under the limit, and a restart after kill -9 holds exactly the keys that were not evicted", async () => {
    const dataDir = tempDir();
    const first = await start(dataDir, { max_memory_bytes: limit, eviction_policy: "allkeys-lru" });
    const c = await connect(first.port);
    const n = 1500;
    for (let i = 0; i < n; i++) expect(await call(c, "SET", `k${i}`, value)).toBe("+OK");
    const used = Number(await stat(first.port, "used_memory"));
    expect(used).toBeLessThanOrEqual(limit);
    const evicted = Number(await stat(first.port, "evicted_total"));
    expect(evicted).toBeGreaterThan(0);
    expect(Number(await stat(first.port, "evicted_bytes_total"))).toBeGreaterThanOrEqual(evicted * value.length);
    const live = new Set<string>();
    for (let i = 0; i < n; i++) if ((await call(c, "EXISTS", `k${i}`)) === ":1") live.add(`k${i}`);
    expect(live.size).toBe(n - evicted);
    // LRU: the last keys written are there.
    expect(live.has(`k${n - 1}`)).toBe(true);

    await first.signal("SIGKILL");
    const second = await start(dataDir, { max_memory_bytes: limit, eviction_policy: "allkeys-lru" });
    const d = await connect(second.port);
    for (let i = 0; i < n; i++) expect(await call(d, "EXISTS", `k${i}`)).toBe(live.has(`k${i}`) ? ":1" : ":0");
    expect(Number(await stat(second.port, "used_memory"))).toBeLessThanOrEqual(limit);
  }, 60_000);

  test("a watched key that is evicted makes the EXEC fail, as a delete would", async () => {
    const s = await start(tempDir(), { max_memory_bytes: limit, eviction_policy: "allkeys-lru" });
    const c = await connect(s.port);
    const w = await connect(s.port);
    expect(await call(w, "SET", "watched", value)).toBe("+OK");
    expect(await call(w, "WATCH", "watched")).toBe("+OK");
    // Written by another client and never read again, "watched" is the least recently used.
    for (let i = 0; i < 1000; i++) expect(await call(c, "SET", `k${i}`, value)).toBe("+OK");
    expect(await call(c, "EXISTS", "watched")).toBe(":0");
    expect(await call(w, "MULTI")).toBe("+OK");
    expect(await call(w, "SET", "after", "1")).toBe("+QUEUED");
    expect(await call(w, "EXEC")).toBe("*-1");
    expect(await call(w, "EXISTS", "after")).toBe(":0");
  }, 60_000);

  test("volatile-lru evicts only keys with a TTL, and refuses once none is left", async () => {
    const s = await start(tempDir(), { max_memory_bytes: limit, eviction_policy: "volatile-lru" });
    const c = await connect(s.port);
    for (let i = 0; i < 100; i++) expect(await call(c, "SET", `keep${i}`, value)).toBe("+OK");
    for (let i = 0; i < 600; i++) expect(await call(c, "SET", `ttl${i}`, value, "EX", "3600")).toBe("+OK");
    expect(Number(await stat(s.port, "evicted_total"))).toBeGreaterThan(0);
    for (let i = 0; i < 100; i++) expect(await call(c, "EXISTS", `keep${i}`)).toBe(":1");
    // Keys without a TTL are never candidates: writing them fills memory until OOM.
    let last = "";
    for (let i = 0; i < 2000 && last !== oom; i++) last = await call(c, "SET", `more${i}`, value);
    expect(last).toBe(oom);
    for (let i = 0; i < 100; i++) expect(await call(c, "EXISTS", `keep${i}`)).toBe(":1");
  }, 60_000);

  test("volatile-ttl evicts the keys that expire soonest first", async () => {
    const s = await start(tempDir(), { max_memory_bytes: limit, eviction_policy: "volatile-ttl" });
    const c = await connect(s.port);
    // Later keys expire sooner: the earliest written (latest expiry) must survive.
    for (let i = 0; i < 600; i++) expect(await call(c, "SET", `t${i}`, value, "EX", String(100_000 - i))).toBe("+OK");
    const evicted = Number(await stat(s.port, "evicted_total"));
    expect(evicted).toBeGreaterThan(0);
    for (let i = 0; i < 100; i++) expect(await call(c, "EXISTS", `t${i}`)).toBe(":1");
  }, 60_000);

  test("CONFIG SET maxmemory and maxmemory-policy take effect at once, evicting down to a lower limit", async () => {
    const s = await start(tempDir(), {});
    const c = await connect(s.port);
    for (let i = 0; i < 500; i++) expect(await call(c, "SET", `k${i}`, value)).toBe("+OK");
    expect(Number(await stat(s.port, "used_memory"))).toBeGreaterThan(limit);
    expect(await call(c, "CONFIG", "SET", "maxmemory-policy", "allkeys-osprey", "maxmemory", String(limit))).toBe("+OK");
    expect(await call(c, "CONFIG", "SET", "maxmemory", "lots")).toBe("-ERR CONFIG SET failed (possibly related to argument 'maxmemory') - argument must be a memory value");
    expect(await call(c, "CONFIG", "SET", "maxmemory-policy", "mru")).toStartWith("-ERR CONFIG SET failed (possibly related to argument 'maxmemory-policy')");
    await c.send(resp("CONFIG", "GET", "maxmemory*"));
    const lines: string[] = [];
    for (let i = 0; i < 9; i++) lines.push(await c.line());
    expect(lines.join(" ")).toContain(`maxmemory ${"$" + String(limit).length} ${limit}`);
    expect(lines.join(" ")).toContain("allkeys-osprey");
    // The background tick goes on where CONFIG SET's bounded eviction stopped.
    const deadline = Date.now() + 20_000;
    while (Number(await stat(s.port, "used_memory")) > limit && Date.now() < deadline) await Bun.sleep(100);
    expect(Number(await stat(s.port, "used_memory"))).toBeLessThanOrEqual(limit);
    expect(await stat(s.port, "eviction_policy")).toBe('"allkeys-osprey"');
  }, 60_000);

  test("a data dir recovered into a smaller limit is evicted down to it at start-up, with a log line", async () => {
    const dataDir = tempDir();
    const first = await start(dataDir, {});
    const c = await connect(first.port);
    for (let i = 0; i < 600; i++) expect(await call(c, "SET", `k${i}`, value)).toBe("+OK");
    await first.signal("SIGTERM");
    const second = await start(dataDir, { max_memory_bytes: limit, eviction_policy: "allkeys-random" });
    await second.waitForLog(/recovered keyspace holds more than max_memory_bytes \(300000\): \d+ key\(s\) evicted by allkeys-random, now under it/);
    expect(Number(await stat(second.port, "used_memory"))).toBeLessThanOrEqual(limit);
    expect(Number(await stat(second.port, "keys"))).toBeLessThan(600);
  }, 60_000);
});

describe("keyspace notifications", () => {
  test("every evicted key is announced on __keyevent@0__:evicted, as Redis does, and is gone", async () => {
    const s = await start(tempDir(), { max_memory_bytes: limit, eviction_policy: "allkeys-lru", notify_keyspace_events: "Ee" });
    const sub = await connect(s.port);
    await sub.send(resp("SUBSCRIBE", "__keyevent@0__:evicted"));
    for (const want of ["*3", "$9", "subscribe", "$22", "__keyevent@0__:evicted", ":1"]) expect(await sub.line()).toBe(want);
    const c = await connect(s.port);
    for (let i = 0; i < 500; i++) expect(await call(c, "SET", `k${i}`, value)).toBe("+OK");
    const evicted = Number(await stat(s.port, "evicted_total"));
    expect(evicted).toBeGreaterThan(0);
    const announced = new Set<string>();
    for (let n = 0; n < evicted; n++) {
      for (const want of ["*3", "$7", "message", "$22", "__keyevent@0__:evicted"]) expect(await sub.line()).toBe(want);
      await sub.line(); // the key's length
      announced.add(await sub.line());
    }
    expect(announced.size).toBe(evicted);
    for (const key of announced) expect(await call(c, "EXISTS", key)).toBe(":0");
  }, 60_000);
});

describe("memory coming back", () => {
  const keys = 64_000;
  const valueBytes = 1000; // 64 MB of values in one size class
  /** A value that differs per key, so an entry moved to the wrong place reads back wrong. */
  const valueOf = (i: number) => `${i}:`.repeat(Math.ceil(valueBytes / (String(i).length + 1))).slice(0, valueBytes);

  /** The server's resident set size from /proc/<pid>/statm (resident pages × page size). */
  function rss(s: RunningServer): number {
    return Number(readFileSync(`/proc/${s.pid}/statm`, "latin1").split(" ")[1]) * 4096;
  }

  /** Sends `commands` pipelined, 1000 at a time, and returns every reply as `call` reads them (`nil` for a null bulk). */
  async function pipelined(c: RawClient, commands: string[][]): Promise<string[]> {
    const replies: string[] = [];
    for (let i = 0; i < commands.length; i += 1000) {
      const part = commands.slice(i, i + 1000);
      await c.send(part.map((args) => resp(...args)).join(""));
      for (let j = 0; j < part.length; j++) {
        const line = await c.line();
        replies.push(line === "$-1" ? "nil" : line[0] !== "$" ? line : (await c.bytes(Number(line.slice(1)) + 2)).toString("latin1").slice(0, -2));
      }
    }
    return replies;
  }

  async function filled(config: Record<string, unknown>, n = keys): Promise<{ s: RunningServer; c: RawClient }> {
    const s = await start(tempDir(), { sync_policy: "os", enable_snapshot: false, ...config });
    const c = await connect(s.port);
    const replies = await pipelined(c, Array.from({ length: n }, (_, i) => ["SET", `key:${i}`, valueOf(i)]));
    expect(replies.every((r) => r === "+OK")).toBe(true);
    return { s, c };
  }

  /**
   * RSS once the server's runtime has collected the garbage of the fill (request buffers and the
   * like), so that what a test sees drop afterwards is the slab: 20 MiB of large values written and
   * deleted make the background tick run a GC (gcHintBytesMin).
   */
  async function settledRss(s: RunningServer, c: RawClient): Promise<number> {
    const big = "x".repeat(1 << 20);
    const keysBig = Array.from({ length: 20 }, (_, i) => `big:${i}`);
    expect((await pipelined(c, keysBig.map((k) => ["SET", k, big]))).every((r) => r === "+OK")).toBe(true);
    expect((await pipelined(c, keysBig.map((k) => ["DEL", k]))).every((r) => r === ":1")).toBe(true);
    await Bun.sleep(3000);
    return rss(s);
  }

  /** Waits (generously: the machine is shared) until RSS is at most `bytes`; returns the last reading. */
  async function rssDropsTo(s: RunningServer, bytes: number): Promise<number> {
    const deadline = Date.now() + 60_000;
    let now = rss(s);
    while (now > bytes && Date.now() < deadline) {
      await Bun.sleep(250);
      now = rss(s);
    }
    return now;
  }

  /** Every key in `live` of a fill of `n` reads back byte for byte, and every other key of it is gone. */
  async function expectExactly(c: RawClient, n: number, live: (i: number) => boolean): Promise<void> {
    const replies = await pipelined(c, Array.from({ length: n }, (_, i) => ["GET", `key:${i}`]));
    let wrong = 0;
    for (let i = 0; i < n; i++) if (replies[i] !== (live(i) ? valueOf(i) : "nil")) wrong++;
    expect(wrong).toBe(0);
  }

  /**
   * Fills `n` keys, deletes every other one and expects RSS to drop by most of what they held, and
   * the rest to read back unchanged. Every slab page keeps half its entries: only moving them
   * (compaction) can free pages.
   */
  async function deleteEveryOther(n: number): Promise<void> {
    const { s, c } = await filled({}, n);
    const full = await settledRss(s, c);
    const replies = await pipelined(c, Array.from({ length: n / 2 }, (_, i) => ["DEL", `key:${2 * i}`]));
    expect(replies.every((r) => r === ":1")).toBe(true);
    const freed = (n / 2) * valueBytes;
    const now = await rssDropsTo(s, full - freed * 0.6);
    expect(now).toBeLessThanOrEqual(full - freed * 0.6);
    await expectExactly(c, n, (i) => i % 2 === 1);
  }

  test("deleting every other key gives about half the data's memory back to the system, and every other key reads back unchanged", async () => {
    await deleteEveryOther(keys);
  }, 120_000);

  test("evicting half the keys by lowering maxmemory gives their memory back, and the keys left read back unchanged", async () => {
    const { s, c } = await filled({ eviction_policy: "allkeys-random" });
    const full = await settledRss(s, c);
    const used = Number(await stat(s.port, "used_memory"));
    expect(await call(c, "CONFIG", "SET", "maxmemory", String(Math.floor(used / 2)))).toBe("+OK");
    // Eviction down to the new limit runs from the server's tick, a bounded slice at a time: it is
    // done (and nothing more is evicted) once used_memory is under the limit.
    const deadline = Date.now() + 90_000;
    while (Number(await stat(s.port, "used_memory")) > used / 2 && Date.now() < deadline) await Bun.sleep(100);
    expect(Number(await stat(s.port, "used_memory"))).toBeLessThanOrEqual(used / 2);
    const held = Number(await stat(s.port, "keys"));
    expect(held).toBeLessThan(keys * 0.55);
    const freed = (keys - held) * valueBytes;
    const now = await rssDropsTo(s, full - freed * 0.6);
    expect(now).toBeLessThanOrEqual(full - freed * 0.6);
    // Which keys went is random; each one left must be intact.
    const replies = await pipelined(c, Array.from({ length: keys }, (_, i) => ["GET", `key:${i}`]));
    let left = 0;
    let wrong = 0;
    for (let i = 0; i < keys; i++) {
      if (replies[i] === "nil") continue;
      left++;
      if (replies[i] !== valueOf(i)) wrong++;
    }
    expect(wrong).toBe(0);
    expect(left).toBe(held);
  }, 180_000);

  test("a few pages emptied by compaction, less than the GC hint's threshold, still come back once it is done", async () => {
    // 24,000 values fill six slab pages; deleting every other one empties none, and compaction then
    // moves what is left onto three of them on an idle server: 12 MiB let go, under gcHintBytesMin,
    // which only the tail rule (nothing more let go for gcHintIntervalMs) collects.
    await deleteEveryOther(24_000);
  }, 120_000);
});
