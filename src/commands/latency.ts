// Redis's latency monitor: LATENCY LATEST / HISTORY / RESET / DOCTOR / HELP over events at least
// latency-monitor-threshold milliseconds long (CONFIG SET; 0, the default, is off, as in Redis).
// Osprey raises one event, "command": a request timed alone, or a timing run of requests
// (commands/timing.ts), that took that long. Each event keeps Redis's series: one sample per
// second (the largest), the latest latencyHistoryLen of them, and the all-time maximum.

import { latencyHistoryLen } from "../constants.ts";
import { nameCode, nameCodeOf } from "../protocol/text.ts";
import { perServer, type Context } from "./context.ts";
import type { Session } from "./session.ts";
import { subcommandArity, unknownSubcommand } from "./server.ts";

/**
 * latency-monitor-threshold in milliseconds; 0 is off. One value per process (a server is one
 * process), kept here so that the timing path reads a plain variable, not a per-server lookup.
 */
export let latencyThresholdMs = 0;

/** CONFIG SET latency-monitor-threshold. */
export function setLatencyThresholdMs(ms: number): void {
  latencyThresholdMs = ms;
}

/** One event's series: (Unix seconds, milliseconds) samples, oldest first, and the largest ever. */
interface Series {
  readonly samples: [unixSeconds: number, ms: number][];
  maxMs: number;
}

/** Each server's events, by name. */
const eventsOf = perServer(() => new Map<string, Series>());

/** Records an event `ms` long now, in whole milliseconds as Redis does; within the same second only the largest is kept. */
export function latencyEvent(ctx: Context, event: string, ms: number): void {
  const events = eventsOf(ctx);
  let series = events.get(event);
  if (series === undefined) {
    series = { samples: [], maxMs: 0 };
    events.set(event, series);
  }
  const whole = Math.floor(ms);
  const now = Math.floor(ctx.clock.nowMs() / 1000);
  if (whole > series.maxMs) series.maxMs = whole;
  const last = series.samples[series.samples.length - 1];
  if (last !== undefined && last[0] === now) {
    if (whole > last[1]) last[1] = whole;
    return;
  }
  series.samples.push([now, whole]);
  if (series.samples.length > latencyHistoryLen) series.samples.shift();
}

const LATEST = nameCodeOf("LATEST");
const HISTORY = nameCodeOf("HISTORY");
const RESET = nameCodeOf("RESET");
const DOCTOR = nameCodeOf("DOCTOR");
const HELP = nameCodeOf("HELP");

const help = [
  "LATENCY <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
  "DOCTOR",
  "    Return a human readable latency analysis report.",
  "HISTORY <event>",
  "    Return time-latency samples for the <event> class.",
  "LATEST",
  "    Return the latest latency samples for all events.",
  "RESET [<event> ...]",
  "    Reset latency data of one or more <event> classes.",
  "    (default: reset all data for all event classes)",
  "HELP",
  "    Prints this help.",
];

/** LATENCY LATEST | HISTORY event | RESET [event …] | DOCTOR | HELP, in Redis's reply shapes. */
export function latency(s: Session, ctx: Context): void {
  const p = s.p;
  const r = s.reply;
  const events = eventsOf(ctx);
  const sub = nameCode(s.b, p.starts[1]!, p.ends[1]!);
  if (sub === LATEST && p.argc === 2) {
    r.arrayHeader(events.size);
    for (const [name, series] of events) {
      const [at, ms] = series.samples[series.samples.length - 1]!;
      r.arrayHeader(4);
      r.bulkText(name);
      r.integer(at);
      r.integer(ms);
      r.integer(series.maxMs);
    }
  } else if (sub === HISTORY && p.argc === 3) {
    const samples = events.get(s.text(2))?.samples ?? [];
    r.arrayHeader(samples.length);
    for (const [at, ms] of samples) {
      r.arrayHeader(2);
      r.integer(at);
      r.integer(ms);
    }
  } else if (sub === RESET) {
    let reset = 0;
    if (p.argc === 2) {
      reset = events.size;
      events.clear();
    } else {
      for (let t = 2; t < p.argc; t++) if (events.delete(s.text(t))) reset++;
    }
    r.integer(reset);
  } else if (sub === DOCTOR && p.argc === 2) {
    r.verbatimText(doctor(events));
  } else if (sub === HELP && p.argc === 2) {
    r.arrayHeader(help.length);
    for (const line of help) r.status(line);
  } else if (sub === LATEST || sub === HISTORY || sub === DOCTOR || sub === HELP) {
    subcommandArity(s);
  } else {
    unknownSubcommand(s);
  }
}

/** LATENCY DOCTOR: what was seen, per event, in plain sentences. */
function doctor(events: Map<string, Series>): string {
  if (latencyThresholdMs === 0) return "The latency monitor is off: CONFIG SET latency-monitor-threshold <milliseconds> turns it on.\n";
  if (events.size === 0) return `No latency spike of ${latencyThresholdMs} ms or more was observed since the monitor was turned on or reset.\n`;
  let text = "Latency spikes observed:\n";
  for (const [name, series] of events) {
    const avg = series.samples.reduce((sum, [, ms]) => sum + ms, 0) / series.samples.length;
    text += `- ${name}: ${series.samples.length} latency spikes (average ${Math.round(avg)}ms, worst ${series.maxMs}ms). `;
    if (name === "command") text += "Look at SLOWLOG GET for the commands, or at the server's log for what stalled the process.";
    text += "\n";
  }
  return text;
}
