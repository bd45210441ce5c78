// The log bound an EXEC reserves (transactions.ts `logBound`) for writes that log a stored value
// (APPEND, SETRANGE, SETBIT, BITOP, INCRBYFLOAT, RENAME, RENAMENX, COPY), mixed with plain writes
// and FLUSHALL's clears: never below what the EXEC then logs, whatever the queue; and an EXEC
// whose bound passes one batch record is refused whole.

import { describe, expect, test } from "bun:test";
import { walRecordBytesMax, walRecordFramingBytes } from "../../src/constants.ts";
import type { MutationLog } from "../../src/engine/store.ts";
import { createContext, EngineClient } from "./harness.ts";
import { pipeline, resp } from "../resp/encode.ts";
import { rng } from "../support/rng.ts";

/** A log that measures each EXEC's group: the bound it was opened with, and what came in it. */
class GroupMeter implements MutationLog {
  groups: { countMax: number; bytesMax: number; count: number; bytes: number }[] = [];
  #open: { countMax: number; bytesMax: number; count: number; bytes: number } | null = null;
  #add(bytes: number): void {
    if (this.#open === null) return;
    this.#open.count++;
    this.#open.bytes += bytes;
  }
  set(_k: Uint8Array, ks: number, ke: number, _v: Uint8Array, vs: number, ve: number): void {
    this.#add(ke - ks + (ve - vs));
  }
  del(_k: Uint8Array, ks: number, ke: number): void {
    this.#add(ke - ks);
  }
  expire(_k: Uint8Array, ks: number, ke: number): void {
    this.#add(ke - ks);
  }
  batchBegin(): void {}
  batchEnd(): void {}
  groupBegin(countMax: number, dataBytesMax: number): void {
    this.#open = { countMax, bytesMax: dataBytesMax, count: 0, bytes: 0 };
  }
  groupEnd(): void {
    this.groups.push(this.#open!);
    this.#open = null;
  }
  clear(): void {
    this.#add(0);
  }
}

const keys = ["a", "b", "c", "d"];

function randomWrite(r: () => number): string[] {
  const k = () => keys[Math.floor(r() * keys.length)]!;
  const small = () => String(Math.floor(r() * 40));
  const value = () => "v".repeat(Math.floor(r() * 30));
  switch (Math.floor(r() * 15)) {
    case 0:
      return ["APPEND", k(), value()];
    case 1:
      return ["SETRANGE", k(), small(), value()];
    case 2:
      return ["SETBIT", k(), String(Math.floor(r() * 400)), r() < 0.5 ? "1" : "0"];
    case 3:
      return ["BITOP", ["AND", "OR", "XOR"][Math.floor(r() * 3)]!, k(), k(), k()];
    case 4:
      return ["BITOP", "NOT", k(), k()];
    case 5:
      return ["INCRBYFLOAT", k(), r() < 0.5 ? "1.5" : "1e300"];
    case 6:
      return ["RENAME", k(), k()];
    case 7:
      return ["RENAMENX", k(), k()];
    case 8:
      return ["COPY", k(), k(), "REPLACE"];
    case 9:
      return ["SET", k(), value()];
    case 10:
      return ["INCR", k()];
    case 11:
      return ["DEL", k()];
    case 12:
      return ["MSET", k(), value(), k(), value()];
    case 13:
      return [r() < 0.5 ? "FLUSHALL" : "FLUSHDB"];
    default:
      return ["GETDEL", k()];
  }
}

describe("an EXEC's log bound", () => {
  for (const seed of [1, 2, 3, 4, 5, 6]) {
    test(`seed ${seed}: 200 random transactions of value-building writes each log no more records or bytes than their EXEC reserved`, () => {
      const log = new GroupMeter();
      const ctx = createContext({}, { log });
      const c = new EngineClient(ctx);
      const r = rng(seed);
      for (let n = 0; n < 200; n++) {
        const queue: string[][] = [["MULTI"]];
        const size = 1 + Math.floor(r() * 12);
        for (let i = 0; i < size; i++) queue.push(randomWrite(r));
        c.send(pipeline(...queue, ["EXEC"]));
      }
      expect(log.groups.length).toBe(200);
      const over = log.groups.filter((g) => g.count > g.countMax || g.bytes > g.bytesMax);
      expect(over).toEqual([]);
      // The bound follows the values: some transactions did log values built from stored ones.
      expect(log.groups.some((g) => g.bytes > 100)).toBe(true);
    });
  }

  test("APPENDs of one key are bounded by the value each leaves for the next, not by the queue's arguments", () => {
    const log = new GroupMeter();
    const ctx = createContext({}, { log });
    const c = new EngineClient(ctx);
    c.send(resp("SET", "k", "x".repeat(1000)));
    c.send(pipeline(["MULTI"], ["APPEND", "k", "yy"], ["APPEND", "k", "yy"], ["APPEND", "k", "yy"], ["EXEC"]));
    const [g] = log.groups;
    expect(g!.count).toBe(3);
    expect(g!.bytes).toBe(3 * 1 + 1002 + 1004 + 1006);
    expect(g!.bytesMax).toBe(g!.bytes);
  });

  test("an EXEC whose bound passes one batch record answers EXECABORT naming the limit and runs nothing", () => {
    const ctx = createContext({ max_value_bytes: 1 << 20 });
    const c = new EngineClient(ctx);
    const r = (...args: string[]) => c.send(resp(...args));
    r("SET", "big", "x".repeat(1 << 20));
    r("MULTI");
    expect(r("SET", "first", "1")).toBe("+QUEUED\r\n");
    const copies = Math.ceil(walRecordBytesMax / ((1 << 20) + walRecordFramingBytes)) + 1;
    for (let i = 0; i < copies; i++) r("COPY", "big", `c${i % 10}`, "REPLACE");
    const reply = r("EXEC");
    expect(reply).toMatch(/^-EXECABORT Transaction discarded because of: its writes could log \d+ bytes, more than one log batch holds \(\d+\): split it\r\n$/);
    expect(r("EXISTS", "first", "c0")).toBe(":0\r\n");
    expect(r("EXEC")).toBe("-ERR EXEC without MULTI\r\n");
  });
});
