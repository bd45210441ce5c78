// INFO's counters against a real redis-server 7.0, side by side: the same requests on one
// connection to each server, then keyspace_hits / keyspace_misses, errorstats and commandstats'
// calls, rejected_calls and failed_calls compared field by field.

import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { RawClient } from "../support/client.ts";
import { startServer, type RunningServer } from "../support/server.ts";
import { resp } from "./encode.ts";
import { readReply } from "./frames.ts";
import { startRedis, type RedisServer } from "./redis.ts";

let osprey: RunningServer;
let redis: RedisServer;

beforeAll(async () => {
  [osprey, redis] = await Promise.all([startServer(), startRedis(["--enable-debug-command", "yes"])]);
});

afterAll(async () => {
  await Promise.all([osprey?.stop(), redis?.stop()]);
});

/** Sends each request on one new connection and returns the replies, then INFO's `sections` as field → value. */
async function runThenInfo(port: number, requests: readonly string[][], sections: string[]): Promise<{ replies: string[]; info: Map<string, string> }> {
  const c = await RawClient.connect(port);
  try {
    const replies: string[] = [];
    for (const r of requests) {
      await c.send(resp(...r));
      replies.push(await readReply(c));
    }
    await c.send(resp("INFO", ...sections));
    const text = await readReply(c);
    const info = new Map<string, string>();
    for (const line of text.split("\r\n")) {
      const at = line.indexOf(":");
      if (at > 0 && !line.startsWith("#")) info.set(line.slice(0, at), line.slice(at + 1));
    }
    return { replies, info };
  } finally {
    c.close();
  }
}

/** Runs `requests` on both servers from zeroed counters; returns both INFOs' fields. */
async function sideBySide(requests: readonly string[][], sections: string[]) {
  const reset = [["FLUSHALL"], ["CONFIG", "RESETSTAT"]];
  const [o, r] = await Promise.all([runThenInfo(osprey.port, [...reset, ...requests], sections), runThenInfo(redis.port, [...reset, ...requests], sections)]);
  // The replies agree too, so a difference in the counters is the counting's, not the commands'.
  expect(o.replies).toEqual(r.replies);
  return { o: o.info, r: r.info };
}

/** `calls=…,rejected_calls=…,failed_calls=…` of a cmdstat line (usec is each server's own). */
function counts(line: string | undefined): string {
  if (line === undefined) return "absent";
  return line.split(",").filter((f) => /^(calls|rejected_calls|failed_calls)=/.test(f)).join(",");
}

describe("INFO counters, side by side with redis-server", () => {
  test("keyspace_hits and keyspace_misses count the lookups of reading commands only, as Redis counts them", async () => {
    const { o, r } = await sideBySide(
      [
        ["SET", "a", "1"],
        ["GET", "a"],
        ["GET", "nope"],
        ["MGET", "a", "nope", "a"],
        ["EXISTS", "a", "nope"],
        ["TOUCH", "a", "nope"],
        ["STRLEN", "a"],
        ["GETRANGE", "a", "0", "-1"],
        ["TTL", "a"],
        ["PTTL", "nope"],
        ["TYPE", "nope"],
        ["OBJECT", "ENCODING", "a"],
        ["GETBIT", "a", "0"],
        ["BITCOUNT", "nope"],
        ["LCS", "a", "nope"],
        // Writes look keys up too, and Redis does not count those lookups.
        ["INCR", "a"],
        ["APPEND", "a", "0"],
        ["SETNX", "a", "x"],
        ["SET", "a", "2", "NX"],
        ["EXPIRE", "a", "100"],
        ["PERSIST", "a"],
        ["SETRANGE", "a", "0", "9"],
        ["DEL", "nope"],
        ["RENAME", "a", "b"],
        // These read the old value first, and count.
        ["GETSET", "b", "3"],
        ["SET", "c", "4", "GET"],
        ["GETDEL", "c"],
        ["GETEX", "b"],
        ["COPY", "b", "d"],
      ],
      ["stats"],
    );
    expect(Number(o.get("keyspace_hits"))).toBeGreaterThan(5);
    expect(Number(o.get("keyspace_misses"))).toBeGreaterThan(5);
    expect([o.get("keyspace_hits"), o.get("keyspace_misses")]).toEqual([r.get("keyspace_hits"), r.get("keyspace_misses")]);
  });

  test("a key found expired is a miss, and CONFIG RESETSTAT zeroes both", async () => {
    const { o, r } = await sideBySide([["SET", "e", "1", "PX", "1"], ["DEBUG", "SLEEP", "0.02"], ["GET", "e"], ["EXISTS", "e"]], ["stats"]);
    expect(o.get("keyspace_misses")).toBe("2");
    expect([o.get("keyspace_hits"), o.get("keyspace_misses")]).toEqual([r.get("keyspace_hits"), r.get("keyspace_misses")]);
    const after = await sideBySide([], ["stats"]);
    expect([after.o.get("keyspace_hits"), after.o.get("keyspace_misses")]).toEqual(["0", "0"]);
  });

  test("errorstats and commandstats' rejected and failed calls match Redis's for refusals, failures and transactions", async () => {
    const { o, r } = await sideBySide(
      [
        ["SET", "s", "x"],
        ["SET", "k"], // wrong arity: rejected, not a call
        ["GET"],
        ["INCR", "s"], // runs and fails
        ["EXPIRE", "s", "soon"],
        ["MSET", "a", "1", "b"], // MSET's own arity check: a failed call
        ["NOSUCHCOMMAND", "x"], // unknown: errorstat only
        ["MULTI"],
        ["SET", "t", "1"],
        ["INCR", "s"], // fails inside EXEC: INCR's failure, not EXEC's
        ["EXEC"],
        ["EXEC"], // without MULTI: EXEC's own failure
        ["MULTI"],
        ["GET"], // refused while queued: a rejected GET
        ["EXEC"], // EXECABORT: a failed EXEC
        ["SET", "s", "y", "PX", "-5"],
      ],
      ["commandstats", "errorstats", "stats"],
    );
    expect(o.get("total_error_replies")).toBe(r.get("total_error_replies"));
    const errorstats = (m: Map<string, string>) => [...m].filter(([k]) => k.startsWith("errorstat_")).sort();
    expect(errorstats(o)).toEqual(errorstats(r));
    expect(errorstats(o).length).toBeGreaterThanOrEqual(2);
    for (const name of ["set", "get", "incr", "expire", "mset", "multi", "exec"]) {
      expect([name, counts(o.get(`cmdstat_${name}`))]).toEqual([name, counts(r.get(`cmdstat_${name}`))]);
    }
    expect(counts(o.get("cmdstat_exec"))).toBe("calls=3,rejected_calls=0,failed_calls=2");
  });

  test("an OOM refusal is a rejected call, counted under errorstat_OOM", async () => {
    const { o, r } = await sideBySide(
      [
        ["CONFIG", "SET", "maxmemory", "1"],
        ["SET", "a", "b"],
        ["GET", "a"],
        ["CONFIG", "SET", "maxmemory", "0"],
      ],
      ["commandstats", "errorstats"],
    );
    expect(o.get("errorstat_OOM")).toBe("count=1");
    expect(o.get("errorstat_OOM")).toBe(r.get("errorstat_OOM"));
    expect(counts(o.get("cmdstat_set"))).toBe(counts(r.get("cmdstat_set")));
    expect(counts(o.get("cmdstat_set"))).toBe("calls=0,rejected_calls=1,failed_calls=0");
  });
});
