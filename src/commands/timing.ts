// How the dispatcher times requests for the slowlog without reading the clock for each one: a read
// costs ~65 ns on the machines here, a fifth of a whole GET in process (bench/RESULTS.md).
//
// Most commands do work bounded by their bytes in and out (GET, SET, MGET, DEL, …). Those are timed
// in runs: the clock is read once the run holds slowlogRunRequestsMax requests or
// slowlogRunBytesMax bytes, and at the end of each batch of input. A run that short is ~10 µs of
// work, so it reaches slowlog_threshold_ms (at least slowlogRunThresholdMsMin for runs to be used)
// only when something stalled the process, and it is then logged as one slow entry naming its
// largest request. Commands flagged TimedAlone (a keyspace walk, a transaction's queue, a snapshot)
// get a clock read before and after, so their time is theirs alone. Below slowlogRunThresholdMsMin
// every request is its own run: the clock is read after each, as a threshold of 0 asks.
// Each run's duration also goes to /metrics (metrics.ts `runTimed`), named by the same request, and
// a run at least latency-monitor-threshold long to LATENCY's "command" event (latency.ts).
//
// Runs say when something stalled, not how long one request takes. For that, per-command latency
// is sampled (`requestTimed`): one request in latencySampleEvery is timed alone by the dispatcher,
// with a clock read before and after it, and every TimedAlone request is recorded as it is timed.

import { slowlogArgsMax, slowlogRunBytesMax, slowlogRunRequestsMax, slowlogRunThresholdMsMin } from "../constants.ts";
import { log } from "../log.ts";
import { type CommandRuns, runsOf, runTimed } from "../metrics.ts";
import type { Context, Stats } from "./context.ts";
import { slowlogOf } from "./slowlog.ts";
import type { Session } from "./session.ts";
import { Flag, type Route } from "./table.ts";
import { latencyEvent, latencyThresholdMs } from "./latency.ts";
import { CommandLatency } from "../histogram.ts";

// One run at a time: the process is single-threaded and a batch is dispatched to completion.
let markMs = 0; // the clock at the run's start
let requests = 0;
let bytes = 0;
let largest: Route | null = null;
let largestBytes = -1;
// Where the largest request's arguments lie, for SLOWLOG: the next request's parse reuses the
// parser's slots, and only the run's end tells whether it was slow. Its input stays as it is until
// the run closes (a run ends with the batch of input it was read from).
let largestSession: Session | null = null;
let largestInput: Uint8Array = new Uint8Array(0);
let largestArgc = 0;
const largestStarts = new Int32Array(slowlogArgsMax);
const largestEnds = new Int32Array(slowlogArgsMax);

/** A batch of requests begins at `startMs` (performance.now(), read by the caller for its own use too). */
export function runBegin(startMs: number): void {
  markMs = startMs;
  clear();
}

/** A batch ends: closes the run it left open. Returns the clock it read, for the caller's own timing. */
export function runEnd(ctx: Context): number {
  const now = performance.now();
  if (requests > 0) closeRun(now, ctx);
  return now;
}

/**
 * Counts the request `s` ran in the current run, with the bytes it read and wrote (`what` is
 * undefined for an unknown command); closes the run when it is full.
 */
export function ranInRun(s: Session, what: Route | undefined, requestBytes: number, ctx: Context): void {
  requests++;
  bytes += requestBytes;
  if (requestBytes > largestBytes && what !== undefined) keepLargest(s, what, requestBytes);
  if (requests >= slowlogRunRequestsMax || bytes >= slowlogRunBytesMax || ctx.config.slowlogThresholdMs < slowlogRunThresholdMsMin) {
    closeRun(performance.now(), ctx);
  }
}

/** The run's largest request so far: what SLOWLOG shows if the run is slow (out of ranInRun, so that stays small). */
function keepLargest(s: Session, what: Route, requestBytes: number): void {
  const p = s.p;
  const argc = p.argc;
  largest = what;
  largestBytes = requestBytes;
  largestSession = s;
  largestInput = s.b;
  largestArgc = argc;
  const kept = argc < slowlogArgsMax ? argc : slowlogArgsMax;
  for (let t = 0; t < kept; t++) {
    largestStarts[t] = p.starts[t]!;
    largestEnds[t] = p.ends[t]!;
  }
}

/** Before a TimedAlone request: closes the current run; returns the request's start time. */
export function aloneBegin(ctx: Context): number {
  const now = performance.now();
  if (requests > 0) closeRun(now, ctx);
  return now;
}

/**
 * After the TimedAlone request `s` ran, which began at `startMs`: a new run begins. Returns the
 * request's duration. An EXEC (Flag.SkipSlowlog) is not logged itself: the requests it ran are.
 */
export function aloneEnd(s: Session, what: Route, startMs: number, ctx: Context): number {
  const now = performance.now();
  const ms = now - startMs;
  const p = s.p;
  if (ms >= ctx.config.slowlogThresholdMs && (what.flags & Flag.SkipSlowlog) === 0) {
    slow(what, p.argc, ms, 1, ctx);
    slowlogOf(ctx).add(s, what, s.b, p.starts, p.ends, p.argc, ms, ctx);
  }
  if (latencyThresholdMs > 0 && ms >= latencyThresholdMs) latencyEvent(ctx, "command", ms);
  runTimed((what.runs ??= runsOf(what.name)), ms, 1);
  markMs = now;
  clear();
  return ms;
}

/** Closes the run open inside a request that runs others (EXEC's queue), so they are timed as their own. */
export function runClose(ctx: Context): void {
  if (requests > 0) closeRun(performance.now(), ctx);
}

function closeRun(now: number, ctx: Context): void {
  const ms = now - markMs;
  if (largest !== null) {
    if (ms >= ctx.config.slowlogThresholdMs) {
      slow(largest, largestArgc, ms, requests, ctx);
      slowlogOf(ctx).add(largestSession!, largest, largestInput, largestStarts, largestEnds, largestArgc, ms, ctx);
    }
    if (latencyThresholdMs > 0 && ms >= latencyThresholdMs) latencyEvent(ctx, "command", ms);
    runTimed((largest.runs ??= runsOf(largest.name)), ms, requests);
  }
  markMs = now;
  clear();
}

/**
 * A request timed alone for its command's latency — one in latencySampleEvery (table.ts
 * `dispatch`), or a TimedAlone one — of row `index`, which took `ms`: INFO latencystats and
 * commandstats' usec, /metrics' osprey_command_latency_seconds.
 */
export function requestTimed(stats: Stats, index: number, ms: number): void {
  let latency = stats.latency[index];
  if (latency === undefined) latency = stats.latency[index] = new CommandLatency();
  latency.observe(ms);
}

function clear(): void {
  requests = 0;
  bytes = 0;
  largest = null;
  largestBytes = -1;
  largestSession = null;
}

/** Counts a slow request (or run of them) and logs its name, key count and time, never values (SLOWLOG keeps those). */
function slow(what: Route, argc: number, ms: number, together: number, ctx: Context): void {
  ctx.stats.slowCommandsTotal++;
  log.slow(what.name, what.keyCount(argc), ms, together);
}
