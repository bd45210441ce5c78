// The slowlog's timing (src/commands/timing.ts): requests bounded by their bytes are timed in runs
// (one clock read per run), TimedAlone commands on their own, and a threshold below
// slowlogRunThresholdMsMin times every request alone. A busy wait stands in for slow work; the
// test log, like the server, logs slow lines from 50 ms.

import { describe, expect, test } from "bun:test";
import { slowlogRunBytesMax, slowlogRunRequestsMax } from "../../src/constants.ts";
import { aloneBegin, aloneEnd, ranInRun, runBegin, runEnd } from "../../src/commands/timing.ts";
import { respRouteTable, type Route } from "../../src/commands/table.ts";
import type { Session } from "../../src/commands/session.ts";
import { slowlogOf } from "../../src/commands/slowlog.ts";
import { nameCodeOf } from "../../src/protocol/text.ts";
import { captureLog } from "../support/log.ts";
import { createContext } from "./harness.ts";

const slowMs = 55;

function spin(ms: number): void {
  const until = performance.now() + ms;
  while (performance.now() < until);
}

function route(name: string): Route {
  return respRouteTable.get(nameCodeOf(name))!;
}

/**
 * A session that has just parsed `args` (what the dispatcher hands the timing): its input and the
 * parser's slots over it. `reparse` reuses the slots for other arguments, as the next parse does.
 */
function parsed(...args: string[]): Session & { reparse(...args: string[]): void } {
  const p = { argc: 0, starts: new Int32Array(64), ends: new Int32Array(64), code: 0 };
  const s = {
    p,
    b: new Uint8Array(0),
    name: null,
    reparse(...next: string[]): void {
      this.b = Buffer.from(next.join(""));
      p.argc = next.length;
      let at = 0;
      next.forEach((a, t) => {
        p.starts[t] = at;
        p.ends[t] = at += a.length;
      });
    },
  };
  s.reparse(...args);
  return s as unknown as Session & { reparse(...args: string[]): void };
}

const get = route("GET");
const mget = route("MGET");
const flushall = route("FLUSHALL");
const g = parsed("GET", "k");
const mg = parsed("MGET", "a", "b", "c");
const fl = parsed("FLUSHALL");

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
      ranInRun(g, get, 30, ctx);
      spin(slowMs);
      ranInRun(mg, mget, 90, ctx);
      ranInRun(g, get, 30, ctx);
    });
    expect(slow).toBe(1);
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(/^WARN slow command mget keys=3 took \d+\.\dms with 2 other requests timed together$/);
  });

  test("a run closes after slowlogRunRequestsMax requests, so a stall after them is timed apart", () => {
    const { lines, slow } = timed((ctx) => {
      for (let i = 0; i < slowlogRunRequestsMax; i++) ranInRun(mg, mget, 90, ctx);
      spin(slowMs);
      ranInRun(g, get, 30, ctx);
    });
    expect(slow).toBe(1);
    expect(lines).toEqual([expect.stringMatching(/^WARN slow command get keys=1 took \d+\.\dms$/)]);
  });

  test("a run closes once its requests moved slowlogRunBytesMax bytes", () => {
    const { lines } = timed((ctx) => {
      ranInRun(mg, mget, slowlogRunBytesMax, ctx);
      spin(slowMs);
      ranInRun(g, get, 30, ctx);
    });
    expect(lines).toEqual([expect.stringMatching(/^WARN slow command get keys=1 took/)]);
  });

  test("a TimedAlone command is timed on its own: the run before it is closed first", () => {
    const { lines, slow } = timed((ctx) => {
      ranInRun(g, get, 30, ctx);
      const startMs = aloneBegin(ctx);
      spin(slowMs);
      aloneEnd(fl, flushall, startMs, ctx);
      ranInRun(g, get, 30, ctx);
    });
    expect(slow).toBe(1);
    expect(lines).toEqual([expect.stringMatching(/^WARN slow command flushall keys=0 took \d+\.\dms$/)]);
  });

  test("fast runs are not slow: nothing is counted or logged", () => {
    const { lines, slow } = timed((ctx) => {
      for (let i = 0; i < 3 * slowlogRunRequestsMax; i++) ranInRun(g, get, 30, ctx);
    });
    expect(slow).toBe(0);
    expect(lines).toEqual([]);
  });

  test("with slowlog_threshold_ms = 0 every request is timed and counted alone", () => {
    const { slow } = timed((ctx) => {
      for (let i = 0; i < 5; i++) ranInRun(g, get, 30, ctx);
    }, 0);
    expect(slow).toBe(5);
  });

  test("SLOWLOG keeps the arguments of a slow run's largest request, though the parser's slots were reused after it", () => {
    const ctx = createContext({ slowlog_threshold_ms: 50 });
    const capture = captureLog();
    try {
      runBegin(performance.now());
      const s = parsed("MGET", "a", "b", "c");
      ranInRun(s, mget, 90, ctx);
      s.reparse("GET", "zz");
      ranInRun(s, get, 30, ctx);
      spin(slowMs);
      runEnd(ctx);
    } finally {
      capture.stop();
    }
    const entries = slowlogOf(ctx).newest(10);
    expect(entries).toHaveLength(1);
    expect(entries[0]!.args.map(String)).toEqual(["MGET", "a", "b", "c"]);
  });
});
