// Runs a neutral command case over a Link: one connection of one protocol, to the engine or to a
// real server. Each step's requests go out in one write; each reply is cut from the stream where
// wire.ts says it ends and compared with the outcome spelled in that protocol's bytes. On RESP,
// which does not show versions or expiry, every GET and MGET result is also read back through an
// Osprey text connection to the same keyspace, so the version rule is proven on both wires.

import { expect } from "bun:test";
import { type Args, type Case, caseConfig, exchangesFor, type Outcome, type Protocol } from "./model.ts";
import { type Expected, mismatch, replyEnd, reply, request, textReply, textReplyEnd, type Times } from "./wire.ts";

/** One client connection a case runs over. */
export interface Link {
  readonly protocol: Protocol;
  /** Writes request bytes (latin1). */
  send(bytes: string): Promise<void>;
  /** Reply bytes that arrived since the last call; "" when none will come (engine) or none came in time (TCP). */
  more(): Promise<string>;
  /** Lets `ms` pass on the clock the server reads. */
  pause(ms: number): Promise<void>;
  /** The server's wall clock now, in epoch ms (as far as the client can tell). */
  nowMs(): number;
  /** Sends an Osprey text request on another connection to the same keyspace; its whole reply. */
  observe(textRequest: string): Promise<string>;
}

/** Asserts `got` is the expected reply; always asserts something. */
export function expectReply(got: string, expected: Expected, label: string): void {
  if (typeof expected === "string") {
    expect(got, label).toBe(expected);
    return;
  }
  expect(got, `${label}: ${expected.describe.slice(0, 300)}`).toMatch(expected.re);
  expect(mismatch(got, expected), label).toBeUndefined();
}

/** Which arguments of a request are keys (Redis's key positions). */
export function keysOf(args: Args): string[] {
  const name = args[0]!.toUpperCase();
  if (["MGET", "DEL", "EXISTS", "UNLINK", "TOUCH"].includes(name)) return args.slice(1);
  if (["RENAME", "RENAMENX", "COPY"].includes(name)) return args.slice(1, 3);
  if (name === "MSET") return args.filter((_, i) => i % 2 === 1);
  if (["GET", "SET", "SETNX", "GETDEL", "INCR", "DECR", "INCRBY", "DECRBY", "EXPIRE", "PEXPIRE", "TTL", "PTTL", "PERSIST", "EXPIREAT", "PEXPIREAT", "EXPIRETIME", "PEXPIRETIME", "TYPE"].includes(name)) return args.length > 1 ? [args[1]!] : [];
  return [];
}

/** Whether the text protocol can name `key`: 1–256 bytes, no space, control byte or DEL. */
export function textKey(key: string): boolean {
  return key.length >= 1 && key.length <= caseConfig.max_key_bytes && !/[\x00-\x20\x7f]/.test(key);
}

/** Reads the next whole reply to `args` from the link, or fails the test with what did arrive. */
async function nextReply(link: Link, pending: { buf: string }, args: Args, label: string): Promise<string> {
  for (;;) {
    const end = replyEnd(link.protocol, pending.buf, 0, args);
    if (end >= 0) {
      const got = pending.buf.slice(0, end);
      pending.buf = pending.buf.slice(end);
      return got;
    }
    const more = await link.more();
    if (more === "") {
      expect(pending.buf, `${label}: the reply is incomplete`).toBe("<a whole reply>");
      return pending.buf;
    }
    pending.buf += more;
  }
}

/** Runs every step of `c` that `link.protocol` sends; the caller checks the connection afterwards. */
export async function runCase(c: Case, link: Link): Promise<void> {
  const protocol = link.protocol;
  const startMs = link.nowMs();
  const pending = { buf: "" };
  for (const [i, s] of c.steps.entries()) {
    if ("waitMs" in s) {
      await link.pause(s.waitMs);
      continue;
    }
    const xs = exchangesFor(s, protocol);
    if (xs.length === 0) continue;
    await link.send(xs.map((x) => request(protocol, x.args)).join(""));
    for (const [j, x] of xs.entries()) {
      const label = `step ${i}${xs.length > 1 ? `.${j}` : ""} ${JSON.stringify(x.args.join(" ").slice(0, 80))}`;
      const got = await nextReply(link, pending, x.args, label);
      expectReply(got, reply(protocol, x.out, x.args, { startMs, nowMs: link.nowMs() }), label);
    }
    expect(pending.buf, `step ${i}: bytes beyond the expected replies`).toBe("");
    if (protocol === "resp") await observeEntries(link, xs, { startMs, nowMs: link.nowMs() }, i);
  }
}

/**
 * Reads GET and MGET results of a RESP step back over the text protocol, which shows version and
 * expiry: a key no later request of the step names, and that the text protocol can spell.
 */
async function observeEntries(link: Link, xs: readonly { args: Args; out: Outcome }[], t: Times, i: number): Promise<void> {
  for (const [j, x] of xs.entries()) {
    const name = x.args[0]!.toUpperCase();
    const seen: [string, Outcome][] = [];
    if (name === "GET" && (x.out.k === "entry" || x.out.k === "missing")) seen.push([x.args[1]!, x.out]);
    if (name === "MGET" && x.out.k === "entries") {
      for (const [key, e] of x.out.items) seen.push([key, e === null ? { k: "missing" } : { k: "entry", entry: e }]);
    }
    for (const [key, out] of seen) {
      if (!textKey(key) || xs.slice(j + 1).some((later) => keysOf(later.args).includes(key))) continue;
      const got = await link.observe(`GET ${key}\r\n`);
      expectReply(got, textReply(out, ["GET", key], t), `step ${i}: GET ${JSON.stringify(key)} read back over the text protocol`);
    }
  }
}

/** Reads one whole text reply to `args` from a byte source that waits for more. */
export async function readTextReply(more: () => Promise<string>, args: Args): Promise<string> {
  let buf = "";
  for (;;) {
    // Once a whole reply is in, anything beyond it is returned too, for the caller's check to fail on.
    if (textReplyEnd(buf, 0, args) >= 0) return buf;
    const chunk = await more();
    if (chunk === "") return buf;
    buf += chunk;
  }
}
