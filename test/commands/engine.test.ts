// The command cases run against the engine directly, in both protocols: a Connection over an
// in-memory transport, fed each step in one read and again split into many small reads, on a
// clock that only moves when a case waits. The text protocol's framing cases run here too.

import { describe, expect, test } from "bun:test";
import { textPayloads } from "../../src/commands/table.ts";
import { Parsed, TextParser } from "../../src/protocol/text.ts";
import { cases } from "./cases.ts";
import { createContext, EngineClient, ManualClock } from "./harness.ts";
import { type Case, caseConfig, caseRunsIn, exchangesFor, type Protocol, protocols } from "./model.ts";
import { keysOf, type Link, runCase, textKey } from "./runner.ts";
import { type Expected, type FramingCase, framingCases } from "./text-framing.ts";

/** Where the engine's clock starts (2026-01-01): far from the cases' past (1000) and future (2100) times. */
const startMs = 1_767_225_600_000;

/** Odd-sized reads for small requests; a few large ones for big payloads and long lines. */
function chunkSizesFor(request: string): readonly number[] {
  return request.length > 8192 ? [4093, 1, 7919] : [1, 2, 3, 5, 8, 13];
}

/** A connection to a fresh engine, on a hand-moved clock, with a text observer on the same keyspace. */
class EngineLink implements Link {
  readonly clock = new ManualClock(startMs);
  readonly ctx = createContext(caseConfig, { clock: this.clock });
  readonly client = new EngineClient(this.ctx);
  readonly #observer = new EngineClient(this.ctx);
  #out = "";

  constructor(
    readonly protocol: Protocol,
    readonly split: boolean,
  ) {}

  async send(bytes: string): Promise<void> {
    this.#out += this.client.send(bytes, this.split ? chunkSizesFor(bytes) : undefined);
  }

  async more(): Promise<string> {
    const s = this.#out;
    this.#out = "";
    return s;
  }

  async pause(ms: number): Promise<void> {
    this.clock.advance(ms);
  }

  nowMs(): number {
    return this.clock.nowMs();
  }

  async observe(textRequest: string): Promise<string> {
    return this.#observer.send(textRequest);
  }
}

async function run(c: Case, protocol: Protocol, split: boolean): Promise<void> {
  const link = new EngineLink(protocol, split);
  await runCase(c, link);
  expect(link.client.closed, "the connection should stay open").toBe(false);
}

for (const protocol of protocols) {
  const mine = cases.filter((c) => caseRunsIn(c, protocol));
  describe(`commands over the engine in ${protocol}, one read per step`, () => {
    for (const c of mine) test(c.name, () => run(c, protocol, false));
  });
  describe(`commands over the engine in ${protocol}, requests split into small reads`, () => {
    for (const c of mine) test(c.name, () => run(c, protocol, true));
  });
}

function expectFramingReply(got: string, expected: Expected, what: string): void {
  if (typeof expected === "string") expect(got, what).toBe(expected);
  else expect(got, what).toMatch(expected);
}

function runFraming(c: FramingCase, split: boolean): void {
  const client = new EngineClient(createContext(caseConfig));
  for (const [i, [request, expected]] of c.steps.entries()) {
    expect(client.closed, `step ${i}: the connection closed early`).toBe(false);
    const got = client.send(request, split ? chunkSizesFor(request) : undefined);
    expectFramingReply(got, expected, `step ${i} (${JSON.stringify(request.slice(0, 80))})`);
  }
  expect(client.closed, c.closes ? "the connection should be closed" : "the connection should stay open").toBe(c.closes === true);
}

describe("text framing over the engine, one read per request", () => {
  for (const c of framingCases) test(c.name, () => runFraming(c, false));
});

describe("text framing over the engine, requests split into small reads", () => {
  for (const c of framingCases) test(c.name, () => runFraming(c, true));
});

/** The keys of a framing case's requests, as the text parser splits them. */
function framingKeys(c: FramingCase): Set<string> {
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
    const args = Array.from({ length: parser.argc }, (_, i) => buf.subarray(parser.starts[i]!, parser.ends[i]!).toString("latin1"));
    for (const k of keysOf(args)) if (textKey(k)) keys.add(k);
  }
  return keys;
}

describe("the case suite itself", () => {
  for (const protocol of protocols) {
    test(`no two cases name the same key in ${protocol}, so all its cases can share one server`, () => {
      const owner = new Map<string, string>();
      const claim = (key: string, name: string) => {
        const other = owner.get(key);
        expect(other === undefined || other === name, `key ${JSON.stringify(key)} is used by "${other}" and "${name}"`).toBe(true);
        owner.set(key, name);
      };
      for (const c of cases) {
        if (!caseRunsIn(c, protocol)) continue;
        for (const s of c.steps) for (const x of exchangesFor(s, protocol)) for (const k of keysOf(x.args)) if (k.length > 0 && k.length <= caseConfig.max_key_bytes) claim(k, c.name);
      }
      if (protocol === "text") for (const c of framingCases) for (const k of framingKeys(c)) claim(k, c.name);
      expect(owner.size).toBeGreaterThan(protocol === "text" ? 100 : 90);
    });
  }

  test("case names are unique sentences", () => {
    const names = [...cases, ...framingCases].map((c) => c.name);
    expect(new Set(names).size).toBe(names.length);
  });

  test("every case sends at least one request in some protocol, and a case marked for one protocol sends nothing in the other", () => {
    for (const c of cases) {
      expect(protocols.some((p) => caseRunsIn(c, p)), c.name).toBe(true);
      if (c.only !== undefined) expect(protocols.filter((p) => caseRunsIn(c, p)), c.name).toEqual([c.only]);
    }
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

  test("a key given a relative expiry is live until the engine's clock reaches it, and gone from then on", () => {
    const clock = new ManualClock(startMs);
    const client = new EngineClient(createContext(caseConfig, { clock }));
    expect(client.send("SET clock:k 1 EX 100\r\nv\r\n")).toBe("OK 1\r\n");
    clock.advance(99);
    expect(client.send("TTL clock:k\r\nGET clock:k\r\n")).toBe(`1\r\nVALUE 1 1 ${startMs + 100}\r\nv\r\n`);
    clock.advance(1);
    expect(client.send("TTL clock:k\r\nGET clock:k\r\n")).toBe("-2\r\nNOT_FOUND\r\n");
  });
});
