// When sync_policy "always" starts its next fdatasync. One sync covers every record written
// before it (group commit); this decides whether to start it at once or to wait a moment for the
// writers the previous sync released, who are probably sending their next write right now.

import { groupCommitWaitMs } from "../constants.ts";

/** What the policy needs of the log it times. */
export interface GroupCommitLog {
  /** Writers (held connections) waiting for a sync. */
  waiting(): number;
  /** Whether a sync is running or the log is closed: a wait in progress then has nothing to decide. */
  busy(): boolean;
  /** Starts an fdatasync of what is written. */
  syncNow(): void;
  /** The wait is over: writes the turn in progress, so the sync covers it too, then syncs. */
  syncAfterWait(): void;
}

export interface GroupCommitOptions {
  /** Longest wait for the writers the last sync released. */
  waitMs?: number;
  /** The clock, in milliseconds (tests pass their own). */
  nowMs?: () => number;
  /** Runs `fn` on a later turn of the event loop, after the I/O of this one (tests pass their own). */
  defer?: (fn: () => void) => void;
}

/**
 * Group commit with a short wait: when fewer writers wait than the last sync released, those just
 * released are probably sending their next write, and one sync a moment later covers them too
 * instead of leaving them for the sync after (at 50 one-deep clients: half the syncs, a quarter
 * more writes per second; bench/RESULTS.md). The wait polls the event loop and ends after waitMs
 * at most; a lone writer never waits (it is all the last sync released).
 */
export class GroupCommit {
  readonly #log: GroupCommitLog;
  readonly #waitMs: number;
  readonly #nowMs: () => number;
  readonly #defer: (fn: () => void) => void;
  /** Writers whose replies the last sync released: most will write again at once. */
  #releasedLast = 0;
  #delaying = false;
  #delayStartMs = 0;

  constructor(log: GroupCommitLog, options: GroupCommitOptions = {}) {
    this.#log = log;
    this.#waitMs = options.waitMs ?? groupCommitWaitMs;
    this.#nowMs = options.nowMs ?? (() => performance.now());
    this.#defer = options.defer ?? ((fn) => void setImmediate(fn));
  }

  /** Whether a wait is in progress (a sync will follow it). */
  get delaying(): boolean {
    return this.#delaying;
  }

  /** The sync that just returned released `count` writers. */
  released(count: number): void {
    this.#releasedLast = count;
  }

  /** Records are written but not synced and no sync runs: starts one now, or after the short wait. */
  request(): void {
    if (this.#delaying) return;
    if (this.#log.waiting() >= this.#releasedLast) return this.#log.syncNow();
    this.#delaying = true;
    this.#delayStartMs = this.#nowMs();
    this.#defer(this.#check);
  }

  #check = (): void => {
    if (this.#log.busy()) {
      this.#delaying = false;
      return;
    }
    if (this.#log.waiting() < this.#releasedLast && this.#nowMs() - this.#delayStartMs < this.#waitMs) return this.#defer(this.#check);
    this.#delaying = false;
    this.#log.syncAfterWait();
  };
}
