// The connections holding replies until the log reaches their position (LSN): queued in log
// order, released oldest first and exactly once, without a nested release ever running inside
// another, and without the queue growing under load that never lets it empty.

import { assert } from "../assert.ts";
import { waitQueueCompactCount } from "../constants.ts";

/** A connection holding replies until the records they acknowledge are durable. */
export interface DurabilityWaiter {
  onDurable(lsn: number): void;
}

/** Waiters in the order of the log positions they wait for. */
export class WaiterQueue {
  // Two parallel arrays and a head index rather than an array of pairs: pushing allocates nothing.
  #lsns: number[] = [];
  #on: DurabilityWaiter[] = [];
  #head = 0;
  /** The highest position ever queued: positions only grow, so a lower one is a bug. */
  #lastQueuedLsn = 0;
  /** The highest position released to (or being released to right now). */
  #releasedLsn = 0;
  #releasing = false;
  /** A release asked for while one runs: the running one goes on up to here. */
  #releaseAgain = 0;

  /** Waiters not yet released. */
  get length(): number {
    return this.#lsns.length - this.#head;
  }

  /** Slots the queue holds, released ones not yet dropped included: what compaction bounds. */
  get slots(): number {
    return this.#lsns.length;
  }

  /** Queues `w` to be told once everything up to `lsn` is durable. */
  push(lsn: number, w: DurabilityWaiter): void {
    assert(lsn >= this.#lastQueuedLsn, "a waiter was queued for a log position below an earlier waiter's");
    this.#lastQueuedLsn = lsn;
    this.#lsns.push(lsn);
    this.#on.push(w);
  }

  /**
   * Releases every waiter up to `lsn`, oldest first; returns how many. A released connection may
   * run more requests at once: new waiters (later lsns) go behind, and a release asked for from
   * inside (a SNAPSHOT rotating the log) is folded into this one rather than run nested (it
   * returns 0; the running one counts them).
   */
  release(lsn: number): number {
    assert(lsn >= this.#releasedLsn, "the durable log position went backwards");
    if (this.#releasing) {
      if (lsn > this.#releaseAgain) this.#releaseAgain = lsn;
      return 0;
    }
    this.#releasing = true;
    this.#releasedLsn = lsn;
    const lsns = this.#lsns;
    const on = this.#on;
    let released = 0;
    try {
      for (;;) {
        while (this.#head < lsns.length && lsns[this.#head]! <= lsn) {
          released++;
          on[this.#head++]!.onDurable(lsn);
        }
        if (this.#releaseAgain <= lsn) break;
        lsn = this.#releaseAgain;
        this.#releasedLsn = lsn;
      }
    } finally {
      this.#releasing = false;
      this.#releaseAgain = 0;
      this.#compact();
    }
    return released;
  }

  /** Drops released waiters: all of them when the queue emptied, else now and then a long front. */
  #compact(): void {
    const head = this.#head;
    if (head === this.#lsns.length) {
      this.#lsns.length = 0;
      this.#on.length = 0;
      this.#head = 0;
    } else if (head > waitQueueCompactCount && head * 2 > this.#lsns.length) {
      this.#lsns.splice(0, head);
      this.#on.splice(0, head);
      this.#head = 0;
    }
  }
}
