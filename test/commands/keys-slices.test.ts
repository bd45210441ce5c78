// KEYS walks the keyspace in slices (keysSliceBucketsMax home buckets or keysSliceMs each) and
// yields the event loop between them, then writes its reply keysReplySliceBytes at a time: other
// clients run in between, the reply is one array holding each key once, a FLUSHALL meanwhile starts
// the walk again, inside EXEC it runs whole, and the keys it holds count in the output budget.

import { describe, expect, test } from "bun:test";
import { keys } from "../../src/commands/keyspace.ts";
import { Session } from "../../src/commands/session.ts";
import { keysSliceBucketsMax } from "../../src/constants.ts";
import { outputBudget } from "../../src/net/budget.ts";
import { RespParser } from "../../src/protocol/resp.ts";
import { respDialect } from "../../src/protocol/resp-args.ts";
import { RespReply } from "../../src/protocol/resp-reply.ts";
import { Parsed } from "../../src/protocol/text.ts";
import { Writer } from "../../src/protocol/writer.ts";
import { pipeline, resp } from "../resp/encode.ts";
import { captureLog } from "../support/log.ts";
import { createContext, EngineClient } from "./harness.ts";

/**
 * Feeds `request`, then lets scheduled slices run until a reply came and stopped growing; returns
 * all of it. (A KEYS answers nothing until its walk is done, many slices later.)
 */
async function sendAndFinish(c: EngineClient, request: string | Uint8Array): Promise<string> {
  let reply = c.send(request);
  for (let idle = 0, turns = 0; (idle < 3 || reply === "") && turns < 100_000; turns++) {
    await new Promise((r) => setImmediate(r));
    const more = c.transport.take();
    reply += more;
    idle = more === "" ? idle + 1 : 0;
  }
  return reply;
}

/** The keys of one RESP array of bulk strings, and what follows it. */
function parseKeys(reply: string): { keys: string[]; rest: string } {
  const m = /^\*(\d+)\r\n/.exec(reply);
  if (m === null) throw new Error(`not an array: ${JSON.stringify(reply.slice(0, 80))}`);
  let at = m[0].length;
  const out: string[] = [];
  for (let i = 0; i < Number(m[1]); i++) {
    const nl = reply.indexOf("\r\n", at);
    const len = Number(reply.slice(at + 1, nl));
    out.push(reply.slice(nl + 2, nl + 2 + len));
    at = nl + 2 + len + 2;
  }
  return { keys: out, rest: reply.slice(at) };
}

/** A keyspace of `n` keys `<prefix><i>`, big enough (n ≥ 40,000: 2^17 slots) that a walk takes several slices. */
function loaded(n: number, prefix = "k") {
  const ctx = createContext();
  const a = new EngineClient(ctx);
  const b = new EngineClient(ctx);
  const names = Array.from({ length: n }, (_, i) => `${prefix}${i}`);
  for (let i = 0; i < n; i += 10_000) b.send(resp("MSET", ...names.slice(i, i + 10_000).flatMap((k) => [k, "v"])));
  return { ctx, a, b, names };
}

describe("KEYS in slices", () => {
  test("a KEYS over more home buckets than a slice yields: another client runs before it answers, and its one reply holds each key once", async () => {
    const { a, b, names } = loaded(50_000);
    // 50,000 keys take 2^17 slots: two slices at least. Nothing is answered after the first.
    expect(2 ** 17).toBeGreaterThan(keysSliceBucketsMax);
    expect(a.send(resp("KEYS", "*"))).toBe("");
    expect(b.send(resp("PING"))).toBe("+PONG\r\n");
    const { keys: got, rest } = parseKeys(await sendAndFinish(a, ""));
    expect(rest).toBe("");
    expect(got.length).toBe(names.length);
    expect(new Set(got).size).toBe(got.length);
    expect(got.sort()).toEqual(names.sort());
  });

  test("with a pattern and requests pipelined behind it: they are answered after its whole reply, in order", async () => {
    const { a } = loaded(50_000);
    const reply = await sendAndFinish(a, pipeline(["KEYS", "k1234?"], ["SET", "after", "1"], ["GET", "after"]));
    const { keys: got, rest } = parseKeys(reply);
    expect(got.sort()).toEqual(Array.from({ length: 10 }, (_, i) => `k1234${i}`).sort());
    expect(rest).toBe("+OK\r\n$1\r\n1\r\n");
  });

  test("keys written and deleted by another client between slices: each key present throughout is answered once, none twice", async () => {
    const { a, b, names } = loaded(50_000);
    expect(a.send(resp("KEYS", "*"))).toBe("");
    // Deletes and re-creates, and enough new keys to double the table while the walk is under way.
    b.send(resp("DEL", "k1", "k2", "k3"));
    b.send(resp("SET", "k2", "back"));
    b.send(resp("MSET", ...Array.from({ length: 40_000 }, (_, i) => [`n${i}`, "v"]).flat()));
    const { keys: got } = parseKeys(await sendAndFinish(a, ""));
    expect(new Set(got).size).toBe(got.length);
    const answered = new Set(got);
    // Keys deleted or created meanwhile may or may not be answered (as in a SCAN); every other one is.
    const missing = names.filter((k) => k !== "k1" && k !== "k2" && k !== "k3" && !answered.has(k));
    expect(missing).toEqual([]);
    const known = new Set(names);
    expect(got.filter((k) => !known.has(k) && !k.startsWith("n"))).toEqual([]);
  });

  test("a FLUSHALL between slices starts the walk again: the reply is the keyspace after it", async () => {
    const { a, b } = loaded(50_000);
    expect(a.send(resp("KEYS", "*"))).toBe("");
    b.send(resp("FLUSHALL"));
    b.send(resp("MSET", "x", "1", "y", "2"));
    const { keys: got } = parseKeys(await sendAndFinish(a, ""));
    expect(got.sort()).toEqual(["x", "y"]);
  });

  test("inside EXEC a KEYS runs whole: nothing runs between its slices", () => {
    const { a, names } = loaded(50_000);
    a.send(resp("MULTI"));
    expect(a.send(resp("KEYS", "*"))).toBe("+QUEUED\r\n");
    const exec = a.send(resp("EXEC"));
    expect(exec.startsWith("*1\r\n")).toBe(true);
    const { keys: got, rest } = parseKeys(exec.slice(4));
    expect(rest).toBe("");
    expect(got.sort()).toEqual(names.sort());
  });

  test("the keys a walk holds are counted in the output budget, and given back when its client closes before the last slice", async () => {
    const { ctx, a } = loaded(50_000);
    expect(a.send(resp("KEYS", "*"))).toBe("");
    expect(ctx.output.bytes).toBeGreaterThan(0);
    a.connection.onClose();
    await new Promise((r) => setImmediate(r));
    expect(a.transport.take()).toBe("");
    expect(ctx.output.bytes).toBe(0);
  });
});

describe("KEYS past the output limits", () => {
  /** A RESP session over `ctx` whose request is KEYS *, and its reply buffer. */
  function keysSession(ctx: ReturnType<typeof createContext>) {
    const out = new Writer();
    const reply = new RespReply(out, ctx.stats);
    const parser = new RespParser({ valueBytesMax: 1 << 20 });
    const s = new Session(parser, reply, respDialect);
    const request = resp("KEYS", "*");
    expect(parser.parse(request, 0, request.length)).toBe(Parsed.Command);
    s.b = request;
    s.nowMs = Date.now();
    return { s, out };
  }

  /** Runs the handler, slice after slice, until it stops yielding or flags the overflow. */
  function run(s: Session, ctx: ReturnType<typeof createContext>): void {
    ctx.outputOverflow = false;
    s.resumeArg = 0;
    for (;;) {
      keys(s, ctx);
      if (s.suspendAt === 0 || ctx.outputOverflow) return;
      s.resumeArg = s.suspendAt;
      s.suspendAt = 0;
    }
  }

  test("a reply that would pass the connection's output room is not built, and the held keys go back to the budget", () => {
    const { ctx } = loaded(50_000);
    const { s, out } = keysSession(ctx);
    ctx.outputRoom = 100_000; // 50,000 keys take about 500 KB of reply
    run(s, ctx);
    expect(ctx.outputOverflow).toBe(true);
    expect(out.len).toBe(0);
    expect(s.sliceState).toBeNull();
    expect(ctx.output.bytes).toBe(0);
    ctx.outputRoom = 1 << 30;
    run(s, ctx);
    expect(ctx.outputOverflow).toBe(false);
    expect(parseKeys(out.buf.toString("latin1", 0, out.len)).keys.length).toBe(50_000);
  });

  test("keys held past client_output_bytes_max with every client's unsent replies refuse the walk", () => {
    const { ctx } = loaded(50_000);
    const small = { ...ctx, output: outputBudget(64 * 1024) };
    const { s, out } = keysSession(small);
    small.outputRoom = 1 << 30;
    const logged = captureLog();
    run(s, small);
    logged.stop();
    expect(small.outputOverflow).toBe(true);
    expect(out.len).toBe(0);
    expect(small.output.bytes).toBe(0);
    expect(small.output.disconnectsTotal).toBe(1);
    expect(logged.messages()).toEqual([expect.stringMatching(/^WARN client disconnected: it held the most unsent replies \(\d+ bytes\) when all clients' unsent replies reached client_output_bytes_max = 65536$/)]);
  });
});
