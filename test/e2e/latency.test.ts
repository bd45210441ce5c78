// Per-command latency (INFO latencystats, commandstats' usec) from sampled requests, LATENCY's
// monitor, DEBUG's subcommands, SAVE and the INFO sections Redis's info-command unit asks for,
// against a real server.

import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { RawClient } from "../support/client.ts";
import { startServer, type RunningServer } from "../support/server.ts";
import { resp } from "../resp/encode.ts";
import { readReply } from "../resp/frames.ts";

let server: RunningServer;
let c: RawClient;

beforeAll(async () => {
  server = await startServer();
  c = await RawClient.connect(server.port);
});

afterAll(async () => {
  c?.close();
  await server?.stop();
});

/** One request, its whole reply as RESP text. */
async function call(...args: string[]): Promise<string> {
  await c.send(resp(...args));
  return readReply(c);
}

/** INFO's sections as field → value. */
async function info(...sections: string[]): Promise<Map<string, string>> {
  const fields = new Map<string, string>();
  for (const line of (await call("INFO", ...sections)).split("\r\n")) {
    const at = line.indexOf(":");
    if (at > 0 && !line.startsWith("#") && !line.startsWith("$")) fields.set(line.slice(0, at), line.slice(at + 1));
  }
  return fields;
}

/** `p50=1.234,p99=…` → { p50: 1.234, … }. */
function percentiles(line: string | undefined): Record<string, number> {
  expect(line).toBeDefined();
  return Object.fromEntries(line!.split(",").map((kv) => kv.split("=")).map(([k, v]) => [k!, Number(v)]));
}

describe("latencystats and commandstats' times", () => {
  test("sampled GETs give p50 <= p99 <= p99.9 in microseconds, and usec per call", async () => {
    expect(await call("CONFIG", "RESETSTAT")).toBe("+OK\r\n");
    expect(await call("SET", "k", "v")).toBe("+OK\r\n");
    // Pipelined in one write: one request in 64 is timed, so 6,400 GETs give about 100 samples.
    await c.send(Buffer.concat(Array.from({ length: 6400 }, () => resp("GET", "k"))));
    for (let i = 0; i < 6400; i++) expect(await readReply(c)).toBe("$1\r\nv\r\n");
    const m = await info("latencystats", "commandstats");
    const p = percentiles(m.get("latency_percentiles_usec_get"));
    expect(Object.keys(p)).toEqual(["p50", "p99", "p99.9"]);
    expect(p.p50!).toBeGreaterThan(0);
    expect(p.p50!).toBeLessThanOrEqual(p.p99!);
    expect(p.p99!).toBeLessThanOrEqual(p["p99.9"]!);
    const stat = /^calls=6400,usec=(\d+),usec_per_call=(\d+\.\d\d),rejected_calls=0,failed_calls=0$/.exec(m.get("cmdstat_get") ?? "");
    expect(stat, m.get("cmdstat_get")).not.toBeNull();
    expect(Number(stat![2])).toBeGreaterThan(0);
    expect(Number(stat![1])).toBeCloseTo(Number(stat![2]) * 6400, -3);
  });

  test("CONFIG SET latency-tracking-info-percentiles picks the percentiles shown", async () => {
    expect(await call("CONFIG", "SET", "latency-tracking-info-percentiles", "0 50 100")).toBe("+OK\r\n");
    expect(await call("CONFIG", "GET", "latency-tracking-info-percentiles")).toBe("*2\r\n$33\r\nlatency-tracking-info-percentiles\r\n$8\r\n0 50 100\r\n");
    const p = percentiles((await info("latencystats")).get("latency_percentiles_usec_get"));
    expect(Object.keys(p)).toEqual(["p0", "p50", "p100"]);
    expect(p.p0!).toBeLessThanOrEqual(p.p50!);
    expect(p.p50!).toBeLessThanOrEqual(p.p100!);
    expect(await call("CONFIG", "SET", "latency-tracking-info-percentiles", "50 101")).toStartWith("-ERR CONFIG SET failed");
    expect(await call("CONFIG", "SET", "latency-tracking-info-percentiles", "50 99 99.9")).toBe("+OK\r\n");
  });

  test("a command timed alone (DEBUG SLEEP) is recorded on every call: its p50 is its sleep", async () => {
    expect(await call("CONFIG", "RESETSTAT")).toBe("+OK\r\n");
    expect(await call("DEBUG", "SLEEP", "0.05")).toBe("+OK\r\n");
    const m = await info("latencystats", "commandstats");
    expect(percentiles(m.get("latency_percentiles_usec_debug")).p50!).toBeGreaterThanOrEqual(50_000);
    expect(Number(/usec=(\d+)/.exec(m.get("cmdstat_debug") ?? "")?.[1])).toBeGreaterThanOrEqual(50_000);
    expect(await call("CONFIG", "RESETSTAT")).toBe("+OK\r\n");
    expect((await info("latencystats")).has("latency_percentiles_usec_debug")).toBe(false);
  });
});

describe("LATENCY", () => {
  test("is off until latency-monitor-threshold is set; then a slow command is a 'command' event", async () => {
    expect(await call("LATENCY", "RESET")).toBe(":0\r\n");
    expect(await call("DEBUG", "SLEEP", "0.03")).toBe("+OK\r\n");
    expect(await call("LATENCY", "LATEST")).toBe("*0\r\n");
    expect(await call("CONFIG", "SET", "latency-monitor-threshold", "40")).toBe("+OK\r\n");
    try {
      expect(await call("CONFIG", "GET", "latency-monitor-threshold")).toBe("*2\r\n$25\r\nlatency-monitor-threshold\r\n$2\r\n40\r\n");
      expect(await call("DEBUG", "SLEEP", "0.2")).toBe("+OK\r\n");
      // A stall of the machine could add a sample of its own, so the checks allow for one.
      const latest = /^\*1\r\n\*4\r\n\$7\r\ncommand\r\n:(\d+)\r\n:(\d+)\r\n:(\d+)\r\n$/.exec(await call("LATENCY", "LATEST"));
      expect(latest).not.toBeNull();
      expect(Math.abs(Number(latest![1]) - Date.now() / 1000)).toBeLessThan(60);
      expect(Number(latest![2])).toBeGreaterThanOrEqual(40);
      expect(Number(latest![3])).toBeGreaterThanOrEqual(200);
      const history = [...(await call("LATENCY", "HISTORY", "command")).matchAll(/\*2\r\n:(\d+)\r\n:(\d+)\r\n/g)].map(([, at, ms]) => [Number(at), Number(ms)]);
      expect(history.some(([, ms]) => ms! >= 200)).toBe(true);
      expect(await call("LATENCY", "HISTORY", "nosuchevent")).toBe("*0\r\n");
      expect(await call("LATENCY", "DOCTOR")).toMatch(/- command: \d+ latency spikes \(average \d+ms, worst \d+ms\)/);
      expect(await call("LATENCY", "RESET", "command")).toBe(":1\r\n");
      expect(await call("LATENCY", "LATEST")).toBe("*0\r\n");
      expect(await call("LATENCY", "NOSUCH")).toBe("-ERR unknown subcommand 'NOSUCH'. Try LATENCY HELP.\r\n");
    } finally {
      expect(await call("CONFIG", "SET", "latency-monitor-threshold", "0")).toBe("+OK\r\n");
    }
  });
});

describe("DEBUG and SAVE", () => {
  test("DEBUG SET-ACTIVE-EXPIRE 0 leaves expired keys to lazy expiry; 1 lets the sweeper remove them again", async () => {
    expect(await call("FLUSHALL")).toBe("+OK\r\n");
    expect(await call("DEBUG", "SET-ACTIVE-EXPIRE", "0")).toBe("+OK\r\n");
    try {
      expect(await call("SET", "gone", "v", "PX", "50")).toBe("+OK\r\n");
      // Several sweeper ticks (every 200 ms by default) pass without removing it.
      await Bun.sleep(800);
      expect(await call("DBSIZE")).toBe(":1\r\n");
      expect(await call("GET", "gone")).toBe("$-1\r\n");
      expect(await call("DBSIZE")).toBe(":0\r\n");
    } finally {
      expect(await call("DEBUG", "SET-ACTIVE-EXPIRE", "1")).toBe("+OK\r\n");
    }
    expect(await call("SET", "gone", "v", "PX", "50")).toBe("+OK\r\n");
    const deadline = Date.now() + 10_000;
    while ((await call("DBSIZE")) !== ":0\r\n" && Date.now() < deadline) await Bun.sleep(50);
    expect(await call("DBSIZE")).toBe(":0\r\n");
    // As Redis (atoi): any non-zero number turns it on, and so does nothing else.
    expect(await call("DEBUG", "SET-ACTIVE-EXPIRE", "2")).toBe("+OK\r\n");
    expect(await call("DEBUG", "SET-ACTIVE-EXPIRE")).toBe("-ERR unknown subcommand or wrong number of arguments for 'SET-ACTIVE-EXPIRE'. Try DEBUG HELP.\r\n");
  });

  test("DEBUG OBJECT describes a value as Redis's does; DEBUG DIGEST follows the keyspace's content", async () => {
    expect(await call("FLUSHALL")).toBe("+OK\r\n");
    expect(await call("DEBUG", "DIGEST")).toBe(`+${"0".repeat(40)}\r\n`);
    expect(await call("SET", "n", "12345")).toBe("+OK\r\n");
    expect(await call("DEBUG", "OBJECT", "n")).toBe("+Value at:0x0 refcount:1 encoding:int serializedlength:5 lru:0 lru_seconds_idle:0\r\n");
    expect(await call("DEBUG", "OBJECT", "missing")).toBe("-ERR no such key\r\n");
    const one = await call("DEBUG", "DIGEST");
    expect(one).toMatch(/^\+[0-9a-f]{40}\r\n$/);
    expect(one).not.toBe(`+${"0".repeat(40)}\r\n`);
    expect(await call("SET", "n", "12345")).toBe("+OK\r\n");
    expect(await call("DEBUG", "DIGEST")).toBe(one);
    expect(await call("SET", "n", "12346")).toBe("+OK\r\n");
    expect(await call("DEBUG", "DIGEST")).not.toBe(one);
    expect(await call("DEBUG", "RELOAD")).toBe("+OK\r\n");
    expect(await call("GET", "n")).toBe("$5\r\n12346\r\n");
    expect(await call("DEBUG", "SLEEP", "1000")).toStartWith("-ERR DEBUG SLEEP takes seconds from 0 to 60");
    expect(await call("DEBUG", "NOSUCH")).toBe("-ERR unknown subcommand or wrong number of arguments for 'NOSUCH'. Try DEBUG HELP.\r\n"); // Redis's words for both
  });

  test("SAVE starts a snapshot and answers OK; inside MULTI it is refused", async () => {
    const before = Number((await info("persistence")).get("snapshots_total"));
    expect(await call("SAVE")).toBe("+OK\r\n");
    const deadline = Date.now() + 10_000;
    while (Number((await info("persistence")).get("snapshots_total")) === before && Date.now() < deadline) await Bun.sleep(20);
    expect(Number((await info("persistence")).get("snapshots_total"))).toBe(before + 1);
    expect(await call("MULTI")).toBe("+OK\r\n");
    expect(await call("SAVE")).toBe("-ERR Command not allowed inside a transaction\r\n");
    expect(await call("DISCARD")).toBe("+OK\r\n");
  });
});

describe("INFO sections", () => {
  test("the default sections include cpu and errorstats but not commandstats or latencystats; all includes every one", async () => {
    const text = await call("INFO");
    for (const title of ["# Server", "# Clients", "# Memory", "# Persistence", "# Stats", "# Replication", "# CPU", "# Errorstats", "# Keyspace"]) expect(text).toContain(`${title}\r\n`);
    expect(text).not.toContain("# Commandstats");
    expect(text).not.toContain("# Latencystats");
    expect(text).toMatch(/used_cpu_user:\d+\.\d{6}\r\n/);
    const all = await call("INFO", "all");
    expect(all).toContain("# Commandstats\r\n");
    expect(all).toContain("# Latencystats\r\n");
    expect(all).toContain("rejected_calls");
    const cpu = await call("INFO", "cpu");
    expect(cpu).toContain("used_cpu_sys:");
    expect(cpu).not.toContain("used_memory");
    expect(await call("INFO", "commandSTATS")).toContain("cmdstat_info:calls=");
    expect((await info("server")).get("tcp_port")).toBe(String(server.port));
  });
});
