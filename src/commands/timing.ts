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

import { slowlogRunBytesMax, slowlogRunRequestsMax, slowlogRunThresholdMsMin } from "../constants.ts";
import { log } from "../log.ts";
import { type CommandRuns, runsOf, runTimed } from "../metrics.ts";
import type { Context, Stats } from "./context.ts";
import { slowlogOf } from "./slowlog.ts";
import { latencyEvent, latencyThresholdMs } from "./latency.ts";
import { CommandLatency } from "../histogram.ts";

/** What the slowlog names for a request: its command's name and how many keys it has at `argc` arguments. */
export interface Timed {
  readonly name: string;
  keyCount(argc: number): number;
  /** Its runs' durations for /metrics (metrics.ts runsOf), once one was closed; null before. */
  runs: CommandRuns | null;
}

// One run at a time: the process is single-threaded and a batch is dispatched to completion.
let markMs = 0; // the clock at the run's start
let requests = 0;
let bytes = 0;
let largest: Timed | null = null;
let largestArgc = 0;
let largestBytes = -1;

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
 * Counts a request that ran in the current run, with the bytes it read and wrote (`what` is
 * undefined for an unknown command); closes the run when it is full.
 */
export function ranInRun(what: Timed | undefined, argc: number, requestBytes: number, ctx: Context): void {
  requests++;
  bytes += requestBytes;
  if (requestBytes > largestBytes && what !== undefined) {
    largest = what;
    largestArgc = argc;
    largestBytes = requestBytes;
  }
  if (requests >= slowlogRunRequestsMax || bytes >= slowlogRunBytesMax || ctx.config.slowlogThresholdMs < slowlogRunThresholdMsMin) {
    closeRun(performance.now(), ctx);
  }
}

/** Before a TimedAlone request: closes the current run; returns the request's start time. */
export function aloneBegin(ctx: Context): number {
  const now = performance.now();
  if (requests > 0) closeRun(now, ctx);
  return now;
}

/** After a TimedAlone request that began at `startMs`: a new run begins. Returns the request's duration. */
export function aloneEnd(what: Timed, argc: number, startMs: number, ctx: Context): number {
  const now = performance.now();
  const ms = now - startMs;
  if (ms >= ctx.config.slowlogThresholdMs) slow(what, argc, ms, 1, ctx);
  if (latencyThresholdMs > 0 && ms >= latencyThresholdMs) latencyEvent(ctx, "command", ms);
  runTimed((what.runs ??= runsOf(what.name)), ms, 1);
  markMs = now;
  clear();
  return ms;
}

function closeRun(now: number, ctx: Context): void {
  const ms = now - markMs;
  if (largest !== null) {
    if (ms >= ctx.config.slowlogThresholdMs) slow(largest, largestArgc, ms, requests, ctx);
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
  largestArgc = 0;
  largestBytes = -1;
}

/** Counts and logs a slow request (or run of them): name, key count, time; never values. */
function slow(what: Timed, argc: number, ms: number, together: number, ctx: Context): void {
  ctx.stats.slowCommandsTotal++;
  log.slow(what.name, what.keyCount(argc), ms, together);
  slowlogOf(ctx).add(what.name, argc, ms, ctx.clock.nowMs());
}
