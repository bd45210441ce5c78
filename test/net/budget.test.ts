// client_input_bytes_max and client_output_bytes_max in process: the budget's accounting with stand-in holders, then real
// connections (the engine harness) whose unfinished MSETs, or replies their sockets do not take, would pass it.

import { describe, expect, test } from "bun:test";
import { connectionInputBytesMax } from "../../src/constants.ts";
import { type Budget, type BudgetHolder, inputBudget, outputBudget } from "../../src/net/budget.ts";
import { Connection, type Transport } from "../../src/net/connection.ts";
import { createContext, EngineClient } from "../commands/harness.ts";
import { captureLog } from "../support/log.ts";

const MiB = 1024 * 1024;

/** A holder that gives its bytes back when evicted, as a Connection does. */
class Holder implements BudgetHolder {
  inputBytes = 0;
  readonly outputBytes = 0;
  evicted = false;
  constructor(readonly budget: Budget) {}
  grow(to: number): boolean {
    const ok = this.budget.grow(this, this.inputBytes, to);
    if (ok) this.inputBytes = to;
    return ok;
  }
  evict(): void {
    this.evicted = true;
    this.budget.shrink(this, this.inputBytes, 0);
    this.inputBytes = 0;
  }
}

describe("the input budget", () => {
  test("growth within the limit is counted; release gives it back", () => {
    const b = inputBudget(100);
    const a = new Holder(b);
    expect(a.grow(40)).toBe(true);
    expect(a.grow(60)).toBe(true);
    expect(b.bytes).toBe(60);
    b.shrink(a, 60, 0);
    expect(b.bytes).toBe(0);
    expect(b.disconnectsTotal).toBe(0);
  });

  test("past the limit the largest other holder is evicted, until the growth fits", () => {
    const log = captureLog();
    try {
      const b = inputBudget(100);
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
      expect(log.messages()).toEqual([expect.stringMatching(/^WARN client disconnected: it held the most unparsed input \(50 bytes\) when all clients' unparsed input reached client_input_bytes_max = 100$/)]);
    } finally {
      log.stop();
    }
  });

  test("the grower itself is refused when it would hold the most", () => {
    const log = captureLog();
    try {
      const b = inputBudget(100);
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
      const b = inputBudget(10);
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
      // Only the disconnect: on a loaded machine a 60 MiB MSET may also log a slow-command line.
      expect(log.messages().filter((m) => !m.includes("slow command"))).toEqual([expect.stringMatching(/^WARN client disconnected: it held the most unparsed input \(\d+ bytes\)/)]);
    } finally {
      log.stop();
    }
  });
});

/** A socket whose peer does not read while `stuck`: every write is refused and queued by the connection. */
class StuckTransport implements Transport {
  stuck = true;
  ended = false;
  received = 0;
  write(_data: Uint8Array, byteOffset = 0, byteLength = _data.length - byteOffset): number {
    if (this.ended) return -1;
    if (this.stuck) return 0;
    this.received += byteLength;
    return byteLength;
  }
  end(): void {
    this.ended = true;
  }
  pause(): void {}
  resume(): void {}
}

describe("connections against client_output_bytes_max", () => {
  test("replies nobody reads past the sum disconnect the client holding the most; the others drain and the sum returns to 0", () => {
    const valueBytes = 300 * 1024;
    // Below the config's minimum (one client's own 512 MiB), so the test needs little memory.
    const ctx = { ...createContext({ max_value_bytes: MiB }), output: outputBudget(1 * MiB) };
    const writer = new EngineClient(ctx);
    expect(writer.send(`SET big ${valueBytes}\r\n${"v".repeat(valueBytes)}\r\n`)).toBe("OK 1\r\n");
    const log = captureLog();
    try {
      const [ta, tb] = [new StuckTransport(), new StuckTransport()];
      const [a, b] = [new Connection(ta, ctx), new Connection(tb, ctx)];
      a.onData(Buffer.from("GET big\r\nGET big\r\nGET big\r\n"));
      expect(ctx.output.bytes).toBe(a.outputBytes);
      expect(a.outputBytes).toBeGreaterThan(3 * valueBytes);
      // b's one reply would take the sum past 1 MiB: a holds the most, so a goes.
      b.onData(Buffer.from("GET big\r\n"));
      expect(ta.ended).toBe(true);
      expect(tb.ended).toBe(false);
      expect(ctx.output.disconnectsTotal).toBe(1);
      expect(ctx.output.bytes).toBe(b.outputBytes);
      expect(b.outputBytes).toBeGreaterThan(valueBytes);
      // b's peer reads: its reply goes out whole and nothing is counted any more.
      const unsent = b.outputBytes;
      tb.stuck = false;
      b.onDrain();
      expect(tb.received).toBe(unsent);
      expect(b.outputBytes).toBe(0);
      expect(ctx.output.bytes).toBe(0);
      expect(log.messages()).toEqual([expect.stringMatching(/^WARN client disconnected: it held the most unsent replies \(\d+ bytes\) when all clients' unsent replies reached client_output_bytes_max = 1048576$/)]);
    } finally {
      log.stop();
    }
  });

  test("a client whose own replies would pass the sum is the one dropped, and gives its bytes back", () => {
    const ctx = { ...createContext({ max_value_bytes: MiB }), output: outputBudget(256 * 1024) };
    const writer = new EngineClient(ctx);
    expect(writer.send(`SET big 200000\r\n${"v".repeat(200000)}\r\n`)).toBe("OK 1\r\n");
    const log = captureLog();
    try {
      const [ta, tb] = [new StuckTransport(), new StuckTransport()];
      const [a, b] = [new Connection(ta, ctx), new Connection(tb, ctx)];
      a.onData(Buffer.from("PING\r\n"));
      b.onData(Buffer.from("GET big\r\nGET big\r\n"));
      expect(tb.ended).toBe(true);
      expect(ta.ended).toBe(false);
      expect(ctx.output.bytes).toBe(a.outputBytes);
      a.onClose();
      expect(ctx.output.bytes).toBe(0);
      expect(log.messages().length).toBe(1);
    } finally {
      log.stop();
    }
  });
});
