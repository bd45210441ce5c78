// The seeded protocol fuzzer: batches of valid and mutated requests, in either protocol, each on
// a fresh connection to a real server, sent whole or in random pieces; every reply is read by a
// strict reader (replies.ts), and after every batch a PING on a new connection must be answered.
// Batch i of a run with seed S is generated from its own seed, so one batch replays alone
// (`bench/fuzz.ts --seed S --only-batch i`).

import type { Socket } from "bun";
import { rng } from "../support/rng.ts";
import { encodeResp, fuzzValueBytesMax, mutate, mutations, pick, validFrame, type Mutation, type Protocol, type Random } from "./frames.ts";
import { MalformedReply, respReplyEnd, textReplyEnd } from "./replies.ts";

export interface FuzzOptions {
  port: number;
  /** Frames to send in all (rounded up to whole batches). */
  frames: number;
  seed: number;
  protocols?: readonly Protocol[];
  /** Frames per batch (one connection each). */
  batchFrames?: number;
  /** Batches in flight at once. */
  workers?: number;
  /** Share of frames damaged by a mutation. */
  mutationRate?: number;
  /** Runs only this batch (a replay). */
  onlyBatch?: number;
  /** Called after each batch, e.g. to sample the server's memory. */
  afterBatch?: (batch: number) => void | Promise<void>;
}

export interface FuzzReport {
  frames: number;
  batches: number;
  mutated: Record<Mutation, number>;
  bytesSent: number;
  replies: number;
  /** Batches the server ended by closing the connection (protocol errors, QUIT, over-limit input). */
  closedByServer: number;
  /** Undamaged RESP batches, whose replies were counted against their requests. */
  countedBatches: number;
  /** Batches whose end marker never came back (a mutated length left the server waiting for bytes). */
  waiting: number;
  /** Every command name sent in a valid frame, per protocol. */
  commandsSent: Record<Protocol, Set<string>>;
  /** Findings: each names the seed and batch that reproduce it. */
  malformed: string[];
  internalErrors: string[];
  unanswered: string[];
}

/** Mixes a run's seed and a batch number into the batch's own seed. */
function batchSeed(seed: number, batch: number): number {
  return (Math.imul(seed ^ 0x9e3779b9, 0x85ebca6b) + Math.imul(batch + 1, 0xc2b2ae35)) >>> 0;
}

/** A connection that keeps every byte it receives. */
class Conn {
  #socket!: Socket<undefined>;
  buf = Buffer.allocUnsafe(16 * 1024);
  len = 0;
  closed = false;
  #wakes: (() => void)[] = [];

  static async open(port: number): Promise<Conn> {
    const c = new Conn();
    c.#socket = await Bun.connect({
      hostname: "127.0.0.1",
      port,
      socket: {
        data: (_s, d) => {
          if (c.len + d.length > c.buf.length) {
            const grown = Buffer.allocUnsafe(Math.max(2 * c.buf.length, c.len + d.length));
            c.buf.copy(grown, 0, 0, c.len);
            c.buf = grown;
          }
          c.buf.set(d, c.len);
          c.len += d.length;
          c.#notify();
        },
        drain: () => c.#notify(),
        close: () => {
          c.closed = true;
          c.#notify();
        },
        error: () => {},
      },
    });
    c.#socket.setNoDelay(true);
    return c;
  }

  #notify(): void {
    const w = this.#wakes;
    this.#wakes = [];
    for (const f of w) f();
  }

  /** Resolves at the next event (data, drain, close); false when `ms` passed first. */
  event(ms: number): Promise<boolean> {
    return new Promise((resolve) => {
      const wake = () => {
        clearTimeout(t);
        resolve(true);
      };
      const t = setTimeout(() => {
        this.#wakes = this.#wakes.filter((f) => f !== wake);
        resolve(false);
      }, ms);
      this.#wakes.push(wake);
    });
  }

  /** Writes all of `bytes` unless the server closes first. */
  async send(bytes: Uint8Array): Promise<void> {
    while (bytes.length > 0 && !this.closed) {
      const n = this.#socket.write(bytes);
      if (n < 0) return;
      bytes = bytes.subarray(n);
      if (bytes.length > 0) await this.event(5000);
    }
  }

  close(): void {
    this.#socket.end();
  }
}

/** Asks a fresh connection for PING; an error names what went wrong. */
export async function pingFresh(port: number, protocol: Protocol, timeoutMs = 10_000): Promise<string | null> {
  let c: Conn;
  try {
    c = await Conn.open(port);
  } catch (e) {
    return `cannot connect: ${(e as Error).message}`;
  }
  const want = protocol === "resp" ? "+PONG\r\n" : "PONG\r\n";
  await c.send(Buffer.from(protocol === "resp" ? "*1\r\n$4\r\nPING\r\n" : "PING\r\n"));
  const deadline = Date.now() + timeoutMs;
  while (c.len < want.length && !c.closed && Date.now() < deadline) await c.event(deadline - Date.now());
  const got = c.buf.subarray(0, c.len).toString("latin1");
  c.close();
  return got === want ? null : `PING on a fresh connection answered ${JSON.stringify(got.slice(0, 100))}${c.closed ? " and closed" : ""}`;
}

const quietMs = 300;
const batchDeadlineMs = 20_000;

/** Builds batch `batch`'s bytes: frames, then the tail that ends whatever the frames left open. */
export function buildBatch(seed: number, batch: number, protocol: Protocol, frames: number, mutationRate: number) {
  const r = rng(batchSeed(seed, batch));
  // The first byte picks the connection's protocol: a valid PING makes it the intended one.
  const parts: Buffer[] = [Buffer.from(protocol === "resp" ? "*1\r\n$4\r\nPING\r\n" : "PING\r\n")];
  const names: string[] = [];
  const applied: Mutation[] = [];
  // One batch in five is undamaged, so its replies can be counted (below).
  const rate = r() < 0.2 ? 0 : mutationRate;
  for (let i = 0; i < frames; i++) {
    const f = validFrame(r, protocol);
    if (r() < rate) {
      const kind = pick(r, mutations);
      applied.push(kind);
      parts.push(mutate(r, f.bytes, validFrame(r, protocol).bytes, kind));
    } else {
      names.push(f.name);
      parts.push(f.bytes);
    }
  }
  const marker = `__end_${seed}_${batch}`;
  parts.push(endTail(protocol, marker));
  // An undamaged RESP batch without QUIT gets exactly one reply per request: the frames, the
  // leading PING, and the tail's four (the filler is an unknown inline command, RESET, DISCARD,
  // ECHO). (P)(UN)SUBSCRIBE answer a frame per channel and messages arrive besides: pub/sub frames
  // and MONITOR's lines are not counted as replies, nor (P)(UN)SUBSCRIBE requests as requests.
  const subscribes = names.filter((n) => subscribeNames.has(n)).length;
  // Queued inside MULTI they answer QUEUED, and EXEC's array then holds their frames: such batches are not counted.
  const countable = applied.length === 0 && !names.includes("QUIT") && !subscribesInMulti(names);
  const expectedReplies = protocol === "resp" && countable ? frames + 5 - subscribes : null;
  return { bytes: Buffer.concat(parts), names, applied, marker, r, expectedReplies };
}

/** Commands answered by a pub/sub frame per channel instead of one reply. */
const subscribeNames = new Set(["SUBSCRIBE", "UNSUBSCRIBE", "PSUBSCRIBE", "PUNSUBSCRIBE"]);
function subscribesInMulti(names: readonly string[]): boolean {
  let multi = false;
  for (const n of names) {
    if (n === "MULTI") multi = true;
    else if (n === "EXEC" || n === "DISCARD" || n === "RESET") multi = false;
    else if (multi && subscribeNames.has(n)) return true;
  }
  return false;
}

/** A confirmation or message frame (RESP2 array or RESP3 push), which answers no request on its own. */
const pubsubFrame = /^[*>][34]\r\n\$\d+\r\n(p?(un)?subscribe|p?message)\r\n/;
/** A line MONITOR shows a request with (after MONITOR every request, of any connection, adds one). */
const monitorLine = /^\+\d+\.\d{6} \[0 /;

/**
 * After the frames: filler longer than any payload a damaged length can leave the server reading
 * (blank text lines; for RESP an inline line), then a request whose reply names this batch.
 */
function endTail(protocol: Protocol, marker: string): Buffer {
  const fill = 4 * fuzzValueBytesMax + 256;
  if (protocol === "text") return Buffer.from(`${" ".repeat(fill)}\r\nMGET ${marker}\r\n`);
  // RESET leaves subscribed mode (where ECHO would be refused) and RESP3, as DISCARD leaves MULTI.
  return Buffer.concat([Buffer.from(`${"x".repeat(fill)}\r\n`), encodeResp([Buffer.from("RESET")]), encodeResp([Buffer.from("DISCARD")]), encodeResp([Buffer.from("ECHO"), Buffer.from(marker)])]);
}

function endReplyOf(protocol: Protocol, marker: string): string {
  return protocol === "text" ? `NOT_FOUND ${marker}\r\n` : `$${marker.length}\r\n${marker}\r\n`;
}

/** Sends `bytes` whole, or in random pieces with a pause between so they arrive as separate reads. */
async function sendBatch(c: Conn, bytes: Buffer, r: Random): Promise<void> {
  if (r() < 0.75) return c.send(bytes);
  const pieces = 2 + Math.floor(r() * 10);
  let at = 0;
  for (let i = 0; i < pieces && at < bytes.length && !c.closed; i++) {
    const end = i === pieces - 1 ? bytes.length : Math.min(bytes.length, at + 1 + Math.floor(r() * (bytes.length / 4)));
    await c.send(bytes.subarray(at, end));
    at = end;
    await Bun.sleep(1);
  }
  if (at < bytes.length) await c.send(bytes.subarray(at));
}

async function runBatch(opts: Required<Omit<FuzzOptions, "onlyBatch" | "afterBatch" | "protocols">>, protocol: Protocol, batch: number, report: FuzzReport): Promise<void> {
  const tag = `seed ${opts.seed} batch ${batch} (${protocol})`;
  const b = buildBatch(opts.seed, batch, protocol, opts.batchFrames, opts.mutationRate);
  for (const n of b.names) report.commandsSent[protocol].add(n);
  for (const m of b.applied) report.mutated[m]++;
  if (b.expectedReplies !== null) report.countedBatches++;
  report.frames += opts.batchFrames;
  report.batches++;
  report.bytesSent += b.bytes.length;

  const c = await Conn.open(opts.port);
  const readEnd = protocol === "resp" ? respReplyEnd : textReplyEnd;
  const endReply = endReplyOf(protocol, b.marker);
  let at = 0;
  let replies = 0;
  const readReplies = (): boolean => {
    for (;;) {
      let end: number;
      try {
        end = readEnd(c.buf.subarray(0, c.len), at);
      } catch (e) {
        if (!(e instanceof MalformedReply)) throw e;
        report.malformed.push(`${tag}: ${e.message}`);
        return true;
      }
      if (end < 0) return false;
      const reply = c.buf.subarray(at, end).toString("latin1");
      if (/^-?ERR INTERNAL/.test(reply)) report.internalErrors.push(`${tag}: ${reply.slice(0, 200).trim()}`);
      report.replies++;
      if (!pubsubFrame.test(reply) && !monitorLine.test(reply)) replies++;
      at = end;
      if (reply === endReply) {
        if (b.expectedReplies !== null && replies !== b.expectedReplies) report.malformed.push(`${tag}: ${replies} replies to ${b.expectedReplies} requests`);
        return true;
      }
    }
  };
  let sent = false;
  const sending = sendBatch(c, b.bytes, b.r).then(() => void (sent = true));
  const deadline = Date.now() + batchDeadlineMs;
  for (;;) {
    if (readReplies()) break;
    if (c.closed) {
      report.closedByServer++;
      if (at < c.len) report.malformed.push(`${tag}: the connection closed after ${c.len - at} bytes of an incomplete reply`);
      break;
    }
    if (Date.now() > deadline) {
      report.unanswered.push(`${tag}: still receiving after ${batchDeadlineMs} ms`);
      break;
    }
    if (!(await c.event(quietMs)) && sent) {
      report.waiting++;
      break;
    }
  }
  c.close();
  await sending;
  const ping = await pingFresh(opts.port, protocol);
  if (ping !== null) report.unanswered.push(`after ${tag}: ${ping}`);
}

/** Runs the fuzzer against the server on `port` and reports what it sent and found. */
export async function fuzz(options: FuzzOptions): Promise<FuzzReport> {
  const opts = {
    port: options.port,
    frames: options.frames,
    seed: options.seed,
    batchFrames: options.batchFrames ?? 100,
    workers: options.workers ?? 6,
    mutationRate: options.mutationRate ?? 0.06,
  };
  const protocols = options.protocols ?? ["text", "resp"];
  const report: FuzzReport = {
    frames: 0,
    batches: 0,
    mutated: Object.fromEntries(mutations.map((m) => [m, 0])) as Record<Mutation, number>,
    bytesSent: 0,
    replies: 0,
    closedByServer: 0,
    countedBatches: 0,
    waiting: 0,
    commandsSent: { text: new Set(), resp: new Set() },
    malformed: [],
    internalErrors: [],
    unanswered: [],
  };
  const batches = Math.ceil(opts.frames / opts.batchFrames);
  const protocolOf = (i: number) => protocols[i % protocols.length]!;
  if (options.onlyBatch !== undefined) {
    await runBatch(opts, protocolOf(options.onlyBatch), options.onlyBatch, report);
    return report;
  }
  let next = 0;
  const worker = async () => {
    while (next < batches && report.unanswered.length === 0) {
      const i = next++;
      await runBatch(opts, protocolOf(i), i, report);
      await options.afterBatch?.(i);
    }
  };
  await Promise.all(Array.from({ length: Math.min(opts.workers, batches) }, worker));
  return report;
}

/** The server configuration the fuzzer expects: a small value limit keeps over-limit values cheap. */
export const fuzzServerConfig = { max_value_bytes: fuzzValueBytesMax, sync_policy: "os", enable_snapshot: true } as const;
