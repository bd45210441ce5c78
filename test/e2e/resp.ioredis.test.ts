// The ioredis client against a real Osprey: its handshake (INFO ready check, CLIENT SETNAME),
// pipelines, many commands in flight without MULTI, MULTI/EXEC and WATCH, binary values and keys,
// and durability (acknowledged EXECs whole after kill -9).

import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import Redis from "ioredis";
import { RawClient } from "../support/client.ts";
import { rng } from "../support/rng.ts";
import { startServer, type RunningServer } from "../support/server.ts";

let server: RunningServer;
let redis: Redis;

beforeAll(async () => {
  server = await startServer({ sync_policy: "always" });
  redis = new Redis({ host: "127.0.0.1", port: server.port, connectionName: "osprey-test", maxRetriesPerRequest: 0, retryStrategy: () => null });
  await redis.ping();
});

afterAll(async () => {
  redis?.disconnect();
  await server?.stop();
});

describe("ioredis", () => {
  test("connects through its INFO ready check and names the connection", async () => {
    expect(redis.status).toBe("ready");
    expect(await redis.client("GETNAME")).toBe("osprey-test");
  });

  test("a pipeline of a thousand mixed commands gets every reply, in order", async () => {
    const p = redis.pipeline();
    for (let i = 0; i < 250; i++) {
      p.set(`pipe:${i}`, `v${i}`);
      p.incr(`pipe:count`);
      p.get(`pipe:${i}`);
      p.exists(`pipe:${i}`, `pipe:missing`);
    }
    const results = await p.exec();
    expect(results).toHaveLength(1000);
    for (let i = 0; i < 250; i++) {
      expect(results![4 * i]).toEqual([null, "OK"]);
      expect(results![4 * i + 1]).toEqual([null, i + 1]);
      expect(results![4 * i + 2]).toEqual([null, `v${i}`]);
      expect(results![4 * i + 3]).toEqual([null, 1]);
    }
  });

  test("an error inside a pipeline fails only its own command", async () => {
    const results = await redis.pipeline().set("pipe:text", "abc").incr("pipe:text").get("pipe:text").exec();
    expect(results![0]).toEqual([null, "OK"]);
    expect(String(results![1]![0])).toContain("ERR value is not an integer or out of range");
    expect(results![2]).toEqual([null, "abc"]);
  });

  test("thousands of commands in flight at once without MULTI all complete correctly", async () => {
    const writes = Array.from({ length: 2000 }, (_, i) => redis.set(`batch:${i}`, String(i * 7)));
    expect(new Set(await Promise.all(writes))).toEqual(new Set(["OK"]));
    const reads = await Promise.all(Array.from({ length: 2000 }, (_, i) => redis.get(`batch:${i}`)));
    expect(reads).toEqual(Array.from({ length: 2000 }, (_, i) => String(i * 7)));
    const counters = await Promise.all(Array.from({ length: 500 }, () => redis.incrby("batch:counter", 3)));
    expect(Math.max(...counters)).toBe(1500);
    expect(await redis.mget("batch:0", "batch:1999", "batch:none")).toEqual(["0", "13993", null]);
  });

  test("binary values of every byte and size come back byte for byte", async () => {
    const random = rng(11);
    const every = Buffer.from(Array.from({ length: 256 }, (_, i) => i));
    const large = Buffer.from(Array.from({ length: 1 << 20 }, () => Math.floor(random() * 256)));
    for (const [key, value] of [["bin:every", every], ["bin:large", large], ["bin:empty", Buffer.alloc(0)], ["bin:crlf", Buffer.from("\r\n$3\r\n*1\r\n")]] as const) {
      expect(await redis.set(key, value)).toBe("OK");
      expect((await redis.getBuffer(key))!.equals(value)).toBe(true);
    }
    const [a, b] = await redis.mgetBuffer("bin:every", "bin:large");
    expect(a!.equals(every) && b!.equals(large)).toBe(true);
  });

  test("binary keys work as any other key", async () => {
    const key = Buffer.from([0, 32, 13, 10, 255, 127]);
    expect(await redis.set(key, "value")).toBe("OK");
    expect(await redis.get(key)).toBe("value");
    expect(await redis.exists(key)).toBe(1);
    expect(await redis.del(key)).toBe(1);
  });

  test("expiry commands answer with Redis's numbers", async () => {
    await redis.set("exp:k", "1", "EX", 100);
    expect(await redis.ttl("exp:k")).toBe(100);
    expect(await redis.pexpire("exp:k", 5000)).toBe(1);
    expect(await redis.pttl("exp:k")).toBeGreaterThan(4000);
    expect(await redis.persist("exp:k")).toBe(1);
    expect(await redis.ttl("exp:k")).toBe(-1);
    expect(await redis.ttl("exp:none")).toBe(-2);
  });
});

describe("ioredis transactions", () => {
  test("multi().set().incr().exec() answers each command's reply, and another client sees all of it after EXEC", async () => {
    await redis.del("tx:k", "tx:n");
    const results = await redis.multi().set("tx:k", "v").incr("tx:n").incrby("tx:n", 41).get("tx:k").exec();
    expect(results).toEqual([
      [null, "OK"],
      [null, 1],
      [null, 42],
      [null, "v"],
    ]);
    const other = new Redis({ host: "127.0.0.1", port: server.port, maxRetriesPerRequest: 0, retryStrategy: () => null });
    expect(await other.mget("tx:k", "tx:n")).toEqual(["v", "42"]);
    other.disconnect();
  });

  test("a runtime error inside EXEC fails only its own command; a queuing error rejects the whole EXEC", async () => {
    const results = await redis.multi().set("tx:s", "abc").incr("tx:s").set("tx:after", "1").exec();
    expect(results![0]).toEqual([null, "OK"]);
    expect(String(results![1]![0])).toContain("ERR value is not an integer or out of range");
    expect(results![2]).toEqual([null, "OK"]);
    await redis.del("tx:never");
    const aborted = redis.multi().set("tx:never", "1").call("NOSUCHCOMMAND").exec();
    await expect(aborted).rejects.toThrow(/EXECABORT/);
    expect(await redis.exists("tx:never")).toBe(0);
  });

  test("a WATCHed key written by a second client makes exec() answer null and apply nothing", async () => {
    const watcher = new Redis({ host: "127.0.0.1", port: server.port, maxRetriesPerRequest: 0, retryStrategy: () => null });
    const other = new Redis({ host: "127.0.0.1", port: server.port, maxRetriesPerRequest: 0, retryStrategy: () => null });
    try {
      await watcher.set("tx:balance", "100");
      expect(await watcher.watch("tx:balance")).toBe("OK");
      const balance = Number(await watcher.get("tx:balance"));
      await other.set("tx:balance", "50");
      expect(await watcher.multi().set("tx:balance", String(balance - 10)).set("tx:audit", "spent").exec()).toBeNull();
      expect(await other.mget("tx:balance", "tx:audit")).toEqual(["50", null]);
      // Without a conflict the same transaction applies.
      await watcher.watch("tx:balance");
      expect(await watcher.multi().decrby("tx:balance", 10).exec()).toEqual([[null, 40]]);
    } finally {
      watcher.disconnect();
      other.disconnect();
    }
  });
});

describe("durability of RESP writes", () => {
  test("with sync_policy always, RESP writes acknowledged before kill -9 are all there after restart, versions included", async () => {
    const first = await startServer({ sync_policy: "always" });
    let second: RunningServer | undefined;
    const client = new Redis({ host: "127.0.0.1", port: first.port, maxRetriesPerRequest: 0, retryStrategy: () => null, lazyConnect: true });
    try {
      await client.connect();
      await client.set("d:a", "1");
      await client.set("d:a", "2");
      await client.incrby("d:n", 41);
      await client.mset("d:m1", "x", "d:m2", Buffer.from([0, 255]));
      await client.set("d:ttl", "t", "EX", 1000);
      await client.set("d:gone", "g");
      await client.del("d:gone");
      await client.set("d:persist", "p", "EX", 1000);
      await client.persist("d:persist");
      client.disconnect();
      expect(await first.signal("SIGKILL")).not.toBe(0);

      second = await startServer({ sync_policy: "always" }, { dataDir: first.dataDir });
      const raw = await RawClient.connect(second.port);
      expect(await raw.request("GET d:a\r\n")).toBe("VALUE 1 2 -1\r\n2\r\n");
      expect(await raw.request("GET d:n\r\n")).toBe("VALUE 2 1 -1\r\n41\r\n");
      expect(await raw.request("GET d:gone\r\n")).toBe("NOT_FOUND");
      expect(await raw.request("GET d:persist\r\n")).toBe("VALUE 1 1 -1\r\np\r\n");
      expect(await raw.request("TTL d:ttl\r\n")).toMatch(/^99\d{4}$/);
      raw.close();
      const again = new Redis({ host: "127.0.0.1", port: second.port, maxRetriesPerRequest: 0, retryStrategy: () => null });
      expect(await again.mgetBuffer("d:m1", "d:m2")).toEqual([Buffer.from("x"), Buffer.from([0, 255])]);
      again.disconnect();
    } finally {
      client.disconnect();
      if (second !== undefined) await second.stop();
      else await first.stop();
    }
  });

  test("with sync_policy always, every acknowledged EXEC of SET/INCR/DEL is whole after kill -9 with EXECs in flight", async () => {
    const first = await startServer({ sync_policy: "always" });
    let second: RunningServer | undefined;
    const writers = 4;
    const inFlight = 16;
    // The kill resets their sockets: that error is the point, not news.
    const clients = Array.from({ length: writers }, () =>
      new Redis({ host: "127.0.0.1", port: first.port, maxRetriesPerRequest: 0, retryStrategy: () => null }).on("error", () => {}),
    );
    // EXEC i of writer w: counter to i, last to i, key i set, key i-1 deleted. A torn EXEC breaks one of these.
    const acked = new Array<number>(writers).fill(0);
    const exec = (w: number, i: number) =>
      clients[w]!.multi().incr(`c:${w}:n`).set(`c:${w}:last`, String(i)).set(`c:${w}:k:${i}`, String(i)).del(`c:${w}:k:${i - 1}`).exec();
    try {
      const loops = clients.map(async (_, w) => {
        let next = 1;
        const pending = new Set<Promise<void>>();
        for (;;) {
          while (pending.size < inFlight) {
            const i = next++;
            const p: Promise<void> = exec(w, i).then(
              (r) => {
                if (r !== null && r.every(([e]) => e === null)) acked[w] = Math.max(acked[w]!, i);
                pending.delete(p);
              },
              () => void pending.delete(p),
            );
            pending.add(p);
          }
          const done = await Promise.race([...pending].map((p) => p.then(() => false))).catch(() => true);
          if (done || clients[w]!.status !== "ready") return;
        }
      });
      await Bun.sleep(400);
      expect(Math.min(...acked)).toBeGreaterThan(0);
      const seen = [...acked];
      expect(await first.signal("SIGKILL")).not.toBe(0);
      await Promise.race([Promise.all(loops), Bun.sleep(2000)]);
      for (const c of clients) c.disconnect();

      second = await startServer({ sync_policy: "always" }, { dataDir: first.dataDir });
      const check = new Redis({ host: "127.0.0.1", port: second.port, maxRetriesPerRequest: 0, retryStrategy: () => null });
      for (let w = 0; w < writers; w++) {
        const n = Number(await check.get(`c:${w}:n`));
        // Every EXEC acknowledged before the kill is there (EXECs apply in order, so all up to n are).
        expect(n).toBeGreaterThanOrEqual(Math.max(seen[w]!, acked[w]!));
        expect(await check.get(`c:${w}:last`)).toBe(String(n));
        expect(await check.get(`c:${w}:k:${n}`)).toBe(String(n));
        expect(await check.exists(`c:${w}:k:${n - 1}`, `c:${w}:k:${n + 1}`)).toBe(0);
      }
      check.disconnect();
    } finally {
      for (const c of clients) c.disconnect();
      if (second !== undefined) await second.stop();
      else await first.stop();
    }
  });
});
