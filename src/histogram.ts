// Fixed-bound histograms as Prometheus keeps them, in a module of their own so that the WAL and
// the snapshotter can keep theirs without depending on the metrics gathering (metrics.ts).

/**
 * A latency histogram with fixed bounds, as Prometheus keeps them: observe() scans a dozen numbers
 * and adds to one, allocating nothing, so it can sit on a path that already read the clock.
 */
export class Histogram {
  /** Upper bounds in seconds, ascending; a last bucket (+Inf) takes the rest. */
  readonly boundsS: readonly number[];
  readonly #boundsMs: Float64Array;
  /** Observations per bucket (not cumulative), the last one above every bound. */
  readonly counts: Float64Array;
  sumS = 0;
  count = 0;

  constructor(boundsS: readonly number[]) {
    this.boundsS = boundsS;
    this.#boundsMs = Float64Array.from(boundsS, (s) => s * 1000);
    this.counts = new Float64Array(boundsS.length + 1);
  }

  observe(ms: number): void {
    const b = this.#boundsMs;
    let i = 0;
    while (i < b.length && ms > b[i]!) i++;
    this.counts[i]!++;
    this.sumS += ms / 1000;
    this.count++;
  }
}

/** Bounds for work on the event loop, from 50 µs (a small pipelined read) to 5 s (a stalled process). */
export const latencyBoundsS = [0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5] as const;

/** Bounds for snapshot durations, from 10 ms (a small keyspace) to 10 minutes (tens of millions of keys on a slow disk). */
export const snapshotBoundsS = [0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600] as const;
