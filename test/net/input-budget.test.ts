// client_input_bytes_max in process: the budget's accounting with stand-in holders, then real
// connections (the engine harness) whose unfinished MSETs would pass it.

import { describe, expect, test } from "bun:test";
import { connectionInputBytesMax } from "../../src/constants.ts";
import { InputBudget, type InputHolder } from "../../src/net/input-budget.ts";
import { createContext, EngineClient } from "../commands/harness.ts";
import { captureLog } from "../support/log.ts";

const MiB = 1024 * 1024;

/** A holder that gives its bytes back when evicted, as a Connection does. */
class Holder implements InputHolder {
  inputBytes = 0;
  evicted = false;
  constructor(readonly budget: InputBudget) {}
  grow(to: number): boolean {
    const ok = this.budget.grow(this, this.inputBytes, to);
    if (ok) this.inputBytes = to;
    return ok;
  }
  evictForInput(): void {
    this.evicted = true;
    this.budget.release(this, this.inputBytes);
    this.inputBytes = 0;
  }
}

describe("InputBudget", () => {
  test("growth within the limit is counted; release gives it back", () => {
    const b = new InputBudget(100);
    const a = new Holder(b);
    expect(a.grow(40)).toBe(true);
    expect(a.grow(60)).toBe(true);
    expect(b.bytes).toBe(60);
    b.release(a, 60);
    expect(b.bytes).toBe(0);
    expect(b.disconnectsTotal).toBe(0);
  });

  test("past the limit the largest other holder is evicted, until the growth fits", () => {
    const log = captureLog();
    try {
      const b = new InputBudget(100);
      const [big, mid, small] = [new Holder(b), new Holder(b), new Holder(b)];
      expect(big.grow(50)).toBe(true);
      expect(mid.grow(30)).toBe(true);
      expect(small.grow(10)).toBe(true);
      // 90 + 20 > 100: big (50) holds the most, it goes; small grows.
      expect(small.grow(30)).toBe(true);
      expect(big.evicted).toBe(true);
      expect(mid.evicted).toBe(false);
      expect(b.bytes).toBe(60);
      expect(b.disconnectsTotal).toBe(1);
      expect(b.bytes).toBeLessThanOrEqual(b.limitBytes);
      expect(log.messages()).toEqual([expect.stringMatching(/^WARN client disconnected: it held the most unparsed input \(50 bytes\) when all clients' input reached client_input_bytes_max = 100$/)]);
    } finally {
      log.stop();
    }
  });

  test("the grower itself is refused when it would hold the most", () => {
    const log = captureLog();
    try {
      const b = new InputBudget(100);
      const [other, grower] = [new Holder(b), new Holder(b)];
      expect(other.grow(40)).toBe(true);
      expect(grower.grow(30)).toBe(true);
      expect(grower.grow(70)).toBe(false); // 110 > 100, and 70 > 40
      expect(other.evicted).toBe(false);
      expect(grower.inputBytes).toBe(30); // the caller disconnects and releases it
      expect(b.disconnectsTotal).toBe(1);
      expect(log.messages().length).toBe(1);
    } finally {
      log.stop();
    }
  });

  test("disconnect lines are rate-limited: a burst logs one line and counts every disconnect", () => {
    const log = captureLog();
    try {
      const b = new InputBudget(10);
      for (let i = 0; i < 5; i++) {
        const h = new Holder(b);
        expect(h.grow(10 - i)).toBe(true); // evicts the previous, larger one from the second on
      }
      expect(b.disconnectsTotal).toBe(4);
      expect(log.messages().length).toBe(1);
    } finally {
      log.stop();
    }
  });
});

/** `MSET k0 <n> k1 <n> …` for `pairs` values of `valueBytes`, and `bytes` of its payload. */
function partialMset(prefix: string, pairs: number, valueBytes: number, bytes: number): Buffer {
  const tokens = Array.from({ length: pairs }, (_, i) => `${prefix}${i} ${valueBytes}`).join(" ");
  return Buffer.concat([Buffer.from(`MSET ${tokens}\r\n`), Buffer.alloc(bytes, 120)]);
}

describe("connections against client_input_bytes_max", () => {
  test("unfinished MSETs past the sum disconnect the largest; the others finish and the sum returns to 0", () => {
    const valueBytesMax = 1 * MiB;
    const limit = connectionInputBytesMax(valueBytesMax);
    const ctx = createContext({ max_value_bytes: valueBytesMax, client_input_bytes_max: limit });
    const log = captureLog();
    try {
      const [a, b, c] = [new EngineClient(ctx), new EngineClient(ctx), new EngineClient(ctx)];
      ctx.clients = 3;
      // a announces 60 MiB and sends 40: its buffer grows to the 60 MiB it needs.
      const aReq = partialMset("a", 60, MiB, 40 * MiB);
      expect(a.send(aReq, [1 * MiB])).toBe("");
      expect(ctx.input.bytes).toBeGreaterThan(40 * MiB);
      // b sends 20 of 20 MiB: the sum would pass the limit, and a holds the most.
      const bReq = partialMset("b", 20, MiB, 20 * MiB - 1);
      expect(b.send(bReq, [1 * MiB])).toBe("");
      expect(a.closed).toBe(true);
      expect(b.closed).toBe(false);
      expect(ctx.input.disconnectsTotal).toBe(1);
      expect(ctx.input.bytes).toBeLessThanOrEqual(limit);
      // b finishes; c, which buffered nothing, is untouched throughout.
      expect(b.send("x\r\n")).toBe("OK 20\r\n");
      expect(c.send("PING\r\n")).toBe("PONG\r\n");
      expect(ctx.input.bytes).toBe(0);
      expect(log.messages()).toEqual([expect.stringMatching(/^WARN client disconnected: it held the most unparsed input \(\d+ bytes\)/)]);
    } finally {
      log.stop();
    }
  });
});
