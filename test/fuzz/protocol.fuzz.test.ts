// The protocol fuzzer against a real server: 100,000 valid and damaged requests over both
// protocols, every command of the table, sent whole and in random pieces. The server must answer
// every batch with well-formed replies, never ERR INTERNAL, keep answering PING, log no error or
// stack trace and keep its memory bounded. A failure names the seed and batch that reproduce it:
// `bun bench/fuzz.ts --seed S --only-batch N`.

import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { respNames, textNames, mutations } from "./frames.ts";
import { fuzz, fuzzServerConfig, pingFresh, type FuzzReport } from "./fuzzer.ts";
import { MalformedReply, respReplyEnd, textReplyEnd } from "./replies.ts";
import { startServer, type RunningServer } from "../support/server.ts";

const seed = Number(process.env.OSPREY_FUZZ_SEED ?? 20261201);
const frames = 100_000;

describe("the fuzzer's reply readers", () => {
  test("accept whole replies, wait for partial ones and reject anything else", () => {
    const t = (x: string) => Buffer.from(x, "latin1");
    expect(textReplyEnd(t("OK 3\r\n"), 0)).toBe(6);
    expect(textReplyEnd(t("VALUE 3 1 -1\r\nab"), 0)).toBe(-1);
    expect(textReplyEnd(t("VALUE 3 1 -1\r\nabc\r\n"), 0)).toBe(19);
    expect(() => textReplyEnd(t("VALUE 3 1 -1\r\nabcde\r\n"), 0)).toThrow(MalformedReply);
    expect(() => textReplyEnd(t("+OK\r\n"), 0)).toThrow(MalformedReply);
    expect(() => textReplyEnd(t("ERR BADREQ\r\n"), 0)).toThrow(MalformedReply);
    expect(respReplyEnd(t("*2\r\n$1\r\na\r\n:5\r\n"), 0)).toBe(15);
    expect(respReplyEnd(t("*2\r\n$1\r\na\r\n"), 0)).toBe(-1);
    expect(() => respReplyEnd(t(":5x\r\n"), 0)).toThrow(MalformedReply);
    expect(() => respReplyEnd(t("$2\r\nabc\r\n"), 0)).toThrow(MalformedReply);
    expect(() => respReplyEnd(t("-lower case\r\n"), 0)).toThrow(MalformedReply);
    expect(() => respReplyEnd(t("OK\r\n"), 0)).toThrow(MalformedReply);
  });
});

describe(`${frames} fuzzed frames (seed ${seed})`, () => {
  let server: RunningServer;
  let report: FuzzReport;
  const rss: number[] = [];

  beforeAll(async () => {
    server = await startServer(fuzzServerConfig);
    rss.push(server.rssBytes());
    report = await fuzz({
      port: server.port,
      frames,
      seed,
      afterBatch: (i) => void (i % 50 === 0 && rss.push(server.rssBytes())),
    });
    rss.push(server.rssBytes());
  }, 120_000);

  afterAll(async () => {
    await server?.stop();
  });

  test("every batch got well-formed replies, none ERR INTERNAL, and PING on a fresh connection answered after each", () => {
    expect(report.malformed).toEqual([]);
    expect(report.internalErrors).toEqual([]);
    expect(report.unanswered).toEqual([]);
    expect(report.frames).toBeGreaterThanOrEqual(frames);
    // Undamaged RESP batches had their replies counted: one per request.
    expect(report.countedBatches).toBeGreaterThan(25);
    // Damaged frames close RESP connections early; most frames must still have been answered.
    expect(report.replies).toBeGreaterThan(frames / 2);
  });

  test("every command of the table was sent in both protocols that have it, with every kind of damage", () => {
    for (const n of respNames) expect(report.commandsSent.resp.has(n)).toBe(true);
    for (const n of textNames) expect(report.commandsSent.text.has(n)).toBe(true);
    for (const m of mutations) expect(report.mutated[m]).toBeGreaterThan(100);
  });

  test("the server is still up, answers both protocols, logged no error or stack trace, and its memory stayed bounded", async () => {
    expect(server.proc.exitCode).toBeNull();
    expect(await pingFresh(server.port, "text")).toBeNull();
    expect(await pingFresh(server.port, "resp")).toBeNull();
    const bad = server.log().split("\n").filter((l) => / (ERROR|FATAL) |InvariantError|ERR INTERNAL|^\s+at /.test(l));
    expect(bad).toEqual([]);
    // Keys are a pool of 40 with values of at most 4 KiB: growth beyond noise would be a leak.
    expect(Math.max(...rss) - rss[0]!).toBeLessThan(192 * 1024 * 1024);
  });
});
