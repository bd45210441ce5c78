// The command cases run against the engine directly: a Connection over an in-memory transport,
// fed each request in one read, and again split into many small reads.

import { describe, expect, test } from "bun:test";
import { valid } from "../../src/commands/session.ts";
import { textPayloads } from "../../src/commands/table.ts";
import { keyError } from "../../src/protocol/text-args.ts";
import { Parsed, TextParser } from "../../src/protocol/text.ts";
import { caseConfig, cases, type CommandCase, type Expected } from "./cases.ts";
import { createContext, EngineClient } from "./harness.ts";

function expectReply(got: string, expected: Expected, what: string): void {
  if (typeof expected === "string") {
    expect(got, what).toBe(expected);
  } else if (!expected.test(got)) {
    expect(got, `${what}: reply should match ${expected.source.slice(0, 200)}`).toBe(`<a reply matching the pattern>`);
  }
}

/** Odd-sized reads for small requests; a few large ones for big payloads and long lines. */
function chunkSizesFor(request: string): readonly number[] {
  return request.length > 8192 ? [4093, 1, 7919] : [1, 2, 3, 5, 8, 13];
}

async function run(c: CommandCase, split: boolean): Promise<void> {
  const client = new EngineClient(createContext(caseConfig));
  for (const [i, step] of c.steps.entries()) {
    const [request, expected, options] = step;
    expect(client.closed, `step ${i}: the connection closed early`).toBe(false);
    const got = client.send(request, split ? chunkSizesFor(request) : undefined);
    expectReply(got, expected, `step ${i} (${JSON.stringify(request.slice(0, 80))})`);
    if (options?.thenWaitMs) await Bun.sleep(options.thenWaitMs);
  }
  expect(client.closed, c.closes ? "the connection should be closed" : "the connection should stay open").toBe(c.closes === true);
}

describe("commands over the engine, one read per request", () => {
  for (const c of cases) test(c.name, () => run(c, false));
});

describe("commands over the engine, requests split into small reads", () => {
  for (const c of cases) test(c.name, () => run(c, true));
});

describe("the case suite itself", () => {
  test("no two cases name the same valid key, so all cases can share one server", () => {
    const owner = new Map<string, string>();
    for (const c of cases) {
      const parser = new TextParser({ valueBytesMax: caseConfig.max_value_bytes }, textPayloads);
      const buf = Buffer.from(c.steps.map((s) => s[0]).join(""), "latin1");
      const keys = new Set<string>();
      let pos = 0;
      while (pos < buf.length) {
        const r = parser.parse(buf, pos, buf.length);
        if (r === Parsed.NeedMore) break;
        pos = parser.next;
        if (r === Parsed.Error) {
          if (parser.close) break;
          continue;
        }
        const token = (i: number) => buf.subarray(parser.starts[i]!, parser.ends[i]!);
        const name = token(0).toString("latin1").toUpperCase();
        const keyTokens = name === "MGET" ? range(1, parser.argc, 1) : name === "MSET" ? range(1, parser.argc, 2) : ["PING", "STATS"].includes(name) || parser.argc < 2 ? [] : [1];
        for (const t of keyTokens) {
          const k = token(t);
          if (keyError(k, 0, k.length, caseConfig.max_key_bytes) === valid) keys.add(k.toString("latin1"));
        }
      }
      for (const k of keys) {
        const other = owner.get(k);
        expect(other === undefined, `key ${JSON.stringify(k)} is used by "${other}" and "${c.name}"`).toBe(true);
        owner.set(k, c.name);
      }
    }
    expect(owner.size).toBeGreaterThan(100);
  });

  test("case names are unique sentences", () => {
    const names = cases.map((c) => c.name);
    expect(new Set(names).size).toBe(names.length);
  });
});

describe("engine-only behaviour", () => {
  test("STATS with metrics_enable = false answers ERR BADREQ", () => {
    const client = new EngineClient(createContext({ ...caseConfig, metrics_enable: false }));
    expect(client.send("STATS\r\nPING\r\n")).toBe("ERR BADREQ STATS is disabled (metrics_enable = false)\r\nPONG\r\n");
  });

  test("STATS counts commands, keys and lazily expired keys", () => {
    const ctx = createContext(caseConfig);
    const client = new EngineClient(ctx);
    client.send("SET a 1\r\nx\r\nSET b 1 PXAT 1000\r\ny\r\nGET a\r\nGET b\r\nDEL a\r\nINCR c\r\nFOO\r\n");
    const stats = Object.fromEntries(
      client
        .send("STATS\r\n")
        .split("\r\n")
        .filter((l) => l.includes("="))
        .map((l) => l.split("=") as [string, string]),
    );
    expect(stats).toMatchObject({ keys: "1", expired_total: "1", cmd_get: "2", cmd_set: "2", cmd_del: "1", cmd_incr: "1", clients: "1" });
    expect(Number(stats.errors_total)).toBe(1);
  });
});

function range(from: number, to: number, step: number): number[] {
  const out: number[] = [];
  for (let i = from; i < to; i += step) out.push(i);
  return out;
}
