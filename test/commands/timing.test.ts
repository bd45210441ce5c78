// The slowlog's timing (src/commands/timing.ts): requests bounded by their bytes are timed in runs
// (one clock read per run), TimedAlone commands on their own, and a threshold below
// slowlogRunThresholdMsMin times every request alone. A busy wait stands in for slow work; the
// test log, like the server, logs slow lines from 50 ms.

import { describe, expect, test } from "bun:test";
import { slowlogRunBytesMax, slowlogRunRequestsMax } from "../../src/constants.ts";
import { aloneBegin, aloneEnd, ranInRun, runBegin, runEnd, type Timed } from "../../src/commands/timing.ts";
import { captureLog } from "../support/log.ts";
import { createContext } from "./harness.ts";

const slowMs = 55;

function spin(ms: number): void {
  const until = performance.now() + ms;
  while (performance.now() < until);
}

function command(name: string, keys: number): Timed {
  return { name, keyCount: () => keys, runs: null };
}

const get = command("GET", 1);
const mget = command("MGET", 3);
const flushall = command("FLUSHALL", 0);

function timed(run: (ctx: ReturnType<typeof createContext>) => void, threshold = 50): { lines: string[]; slow: number } {
  const ctx = createContext({ slowlog_threshold_ms: threshold });
  const capture = captureLog();
  try {
    runBegin(performance.now());
    run(ctx);
    runEnd(ctx);
  } finally {
    capture.stop();
  }
  return { lines: capture.messages().filter((m) => m.includes("slow command")), slow: ctx.stats.slowCommandsTotal };
}

describe("slowlog timing", () => {
  test("a stalled run is one slow line naming its largest request and how many ran with it", () => {
    const { lines, slow } = timed((ctx) => {
      ranInRun(get, 2, 30, ctx);
      spin(slowMs);
      ranInRun(mget, 4, 90, ctx);
      ranInRun(get, 2, 30, ctx);
    });
    expect(slow).toBe(1);
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(/^WARN slow command MGET keys=3 took \d+\.\dms with 2 other requests timed together$/);
  });

  test("a run closes after slowlogRunRequestsMax requests, so a stall after them is timed apart", () => {
    const { lines, slow } = timed((ctx) => {
      for (let i = 0; i < slowlogRunRequestsMax; i++) ranInRun(mget, 4, 90, ctx);
      spin(slowMs);
      ranInRun(get, 2, 30, ctx);
    });
    expect(slow).toBe(1);
    expect(lines).toEqual([expect.stringMatching(/^WARN slow command GET keys=1 took \d+\.\dms$/)]);
  });

  test("a run closes once its requests moved slowlogRunBytesMax bytes", () => {
    const { lines } = timed((ctx) => {
      ranInRun(mget, 4, slowlogRunBytesMax, ctx);
      spin(slowMs);
      ranInRun(get, 2, 30, ctx);
    });
    expect(lines).toEqual([expect.stringMatching(/^WARN slow command GET keys=1 took/)]);
  });

  test("a TimedAlone command is timed on its own: the run before it is closed first", () => {
    const { lines, slow } = timed((ctx) => {
      ranInRun(get, 2, 30, ctx);
      const startMs = aloneBegin(ctx);
      spin(slowMs);
      aloneEnd(flushall, 1, startMs, ctx);
      ranInRun(get, 2, 30, ctx);
    });
    expect(slow).toBe(1);
    expect(lines).toEqual([expect.stringMatching(/^WARN slow command FLUSHALL keys=0 took \d+\.\dms$/)]);
  });

  test("fast runs are not slow: nothing is counted or logged", () => {
    const { lines, slow } = timed((ctx) => {
      for (let i = 0; i < 3 * slowlogRunRequestsMax; i++) ranInRun(get, 2, 30, ctx);
    });
    expect(slow).toBe(0);
    expect(lines).toEqual([]);
  });

  test("with slowlog_threshold_ms = 0 every request is timed and counted alone", () => {
    const { slow } = timed((ctx) => {
      for (let i = 0; i < 5; i++) ranInRun(get, 2, 30, ctx);
    }, 0);
    expect(slow).toBe(5);
  });
});
