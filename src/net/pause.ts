// CLIENT PAUSE: the server-wide pause of clients' requests (Redis 7's WRITE and ALL modes), and
// the connections holding a request until it ends. A connection checks `mode` once per request;
// while it is Off (always, but for a pause) that is the whole cost.

/** What a pause holds: nothing, requests that may write, or every request. Ordered: a larger mode holds more. */
export const enum PauseMode {
  Off = 0,
  Write = 1,
  All = 2,
}

/** A connection holding a request until the pause ends. */
export interface PauseWaiter {
  /** The pause ended (or eased): run the held request if it may run now. Called from its own event-loop turn. */
  pauseEnded(): void;
}

/** Longest delay one timer may have (setTimeout's 32-bit limit); a longer pause re-arms it. */
const timerDelayMsMax = 2 ** 31 - 1;

export class Pause {
  /** Read by every request: Off unless CLIENT PAUSE is in force. */
  mode = PauseMode.Off;
  /** Epoch ms at which the pause ends. */
  endMs = 0;
  readonly #waiting = new Set<PauseWaiter>();
  #timer: ReturnType<typeof setTimeout> | null = null;
  readonly #nowMs: () => number;

  constructor(nowMs: () => number) {
    this.#nowMs = nowMs;
  }

  /**
   * CLIENT PAUSE: holds `mode`'s requests until `endMs`. A pause already in force keeps the more
   * restrictive mode and the later end, as Redis combines them; an end already past pauses nothing.
   */
  start(mode: PauseMode.Write | PauseMode.All, endMs: number): void {
    if (endMs <= this.#nowMs() && this.mode === PauseMode.Off) return;
    this.mode = Math.max(this.mode, mode);
    this.endMs = Math.max(this.endMs, endMs);
    this.#arm();
  }

  /** CLIENT UNPAUSE, or the end time passed: every held request is run again, in its connection's order. */
  end(): void {
    if (this.#timer !== null) clearTimeout(this.#timer);
    this.#timer = null;
    this.mode = PauseMode.Off;
    this.endMs = 0;
    if (this.#waiting.size === 0) return;
    // Not from here: CLIENT UNPAUSE runs inside another connection's batch, whose replies are in
    // the shared reply buffer a waiter's run would reuse.
    setImmediate(this.#wake);
  }

  /** Whether the pause still holds at `nowMs` (the timer may fire a little late): ends it when its time passed. */
  inForce(nowMs: number): boolean {
    if (this.mode === PauseMode.Off) return false;
    if (nowMs < this.endMs) return true;
    this.end();
    return false;
  }

  /** `w` holds a request until the pause ends. */
  wait(w: PauseWaiter): void {
    this.#waiting.add(w);
  }

  /** `w` closed, or ran its request. */
  forget(w: PauseWaiter): void {
    this.#waiting.delete(w);
  }

  /** Connections holding a request: INFO's blocked_clients, as Redis counts clients held by a pause. */
  get waiting(): number {
    return this.#waiting.size;
  }

  #arm(): void {
    if (this.#timer !== null) clearTimeout(this.#timer);
    const delay = Math.min(Math.max(0, this.endMs - this.#nowMs()), timerDelayMsMax);
    this.#timer = setTimeout(this.#expire, delay);
    this.#timer.unref?.();
  }

  readonly #expire = (): void => {
    this.#timer = null;
    if (this.mode === PauseMode.Off) return;
    if (this.#nowMs() < this.endMs) return this.#arm();
    this.end();
  };

  readonly #wake = (): void => {
    const waiting = [...this.#waiting];
    this.#waiting.clear();
    for (const w of waiting) w.pauseEnded();
  };
}
