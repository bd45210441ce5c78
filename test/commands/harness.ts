// Test support: the command engine without sockets. A Context built as src/server.ts builds it,
// and a Connection over an in-memory Transport that records every byte written to it.

import { notifyFlagsOf } from "../../src/engine/notify.ts";
import { configFromObject } from "../../src/config.ts";
import { Stats, systemClock, type Clock, type Context } from "../../src/commands/context.ts";
import { Store, type MutationLog } from "../../src/engine/store.ts";
import { Connection, type Transport } from "../../src/net/connection.ts";
import { inputBudget, outputBudget } from "../../src/net/budget.ts";
import { Pause } from "../../src/net/pause.ts";

/** A clock that stands still until a test moves it: relative expiry without sleeping. */
export class ManualClock implements Clock {
  #nowMs: number;

  constructor(startMs: number) {
    this.#nowMs = startMs;
  }

  nowMs(): number {
    return this.#nowMs;
  }

  wallAt(): number {
    return this.#nowMs;
  }

  /** Moves the clock forward by `ms`. */
  advance(ms: number): void {
    this.#nowMs += ms;
  }
}

/**
 * A Context over a fresh Store; `config` holds osprey.toml keys (max_value_bytes, …). Without
 * `clock` it reads the system clock, as the server does.
 */
export function createContext(config: Record<string, unknown> = {}, options: { log?: MutationLog; clock?: Clock; entriesMax?: number; slabPagesMax?: number } = {}): Context {
  const clock = options.clock ?? systemClock;
  const cfg = configFromObject(config, { warn: () => {} });
  return {
    store: new Store({ log: options.log, entriesMax: options.entriesMax, slabPagesMax: options.slabPagesMax }),
    config: cfg,
    stats: new Stats(),
    clock,
    startedMs: clock.nowMs(),
    wal: null,
    persistence: null,
    input: inputBudget(cfg.clientInputBytesMax),
    output: outputBudget(cfg.clientOutputBytesMax),
    clients: 1,
    outputRoom: 0,
    outputOverflow: false,
    pause: new Pause(() => clock.nowMs()),
    monitors: [],
    shutdown: null,
    notifyFlags: notifyFlagsOf(cfg.notifyKeyspaceEvents)!,
    pubsubOutputBytesMax: cfg.pubsubOutputBytesMax,
    activeExpire: true,
  };
}

/** A Transport that takes every byte at once and keeps a copy (the connection reuses its buffer). */
export class MemoryTransport implements Transport {
  #chunks: Buffer[] = [];
  ended = false;
  paused = false;

  write(data: Uint8Array, byteOffset = 0, byteLength = data.length - byteOffset): number {
    if (this.ended) return -1;
    this.#chunks.push(Buffer.from(data.subarray(byteOffset, byteOffset + byteLength)));
    return byteLength;
  }

  end(): void {
    this.ended = true;
  }

  pause(): void {
    this.paused = true;
  }

  resume(): void {
    this.paused = false;
  }

  /** Everything written since the last take, as latin1 text; clears it. */
  take(): string {
    const s = Buffer.concat(this.#chunks).toString("latin1");
    this.#chunks = [];
    return s;
  }
}

/** One client of the engine: send request bytes, get back what the connection wrote. */
export class EngineClient {
  readonly transport = new MemoryTransport();
  readonly connection: Connection;

  constructor(readonly ctx: Context = createContext()) {
    this.connection = new Connection(this.transport, ctx);
  }

  /** Feeds `request` (latin1) in one read, or split into the given chunk sizes (cycled); returns the replies. */
  send(request: string | Uint8Array, chunkSizes?: readonly number[]): string {
    const data = typeof request === "string" ? Buffer.from(request, "latin1") : request;
    if (chunkSizes === undefined) {
      // A copy, as a socket delivers a new buffer per read: the connection may keep it (a large
      // value in it can become an entry's buffer), so the caller's must not be handed over.
      this.connection.onData(Buffer.from(data));
    } else {
      let at = 0;
      for (let i = 0; at < data.length; i++) {
        const n = chunkSizes[i % chunkSizes.length]!;
        // A fresh copy per read, as a socket would deliver it.
        this.connection.onData(Buffer.from(data.subarray(at, at + n)));
        at += n;
      }
    }
    return this.transport.take();
  }

  get closed(): boolean {
    return this.transport.ended;
  }
}
