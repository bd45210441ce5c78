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

/**
 * Bounds for one request's latency (osprey_command_latency_seconds), from 1 µs (a GET in process)
 * to 5 s, in 1-2.5-5 steps.
 */
export const requestBoundsS = [
  0.000001, 0.0000025, 0.000005, 0.00001, 0.000025, 0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5,
] as const;

// The percentile buckets: stepsPerOctave per doubling, from 2^lowestOctave µs (1/16 µs) up; a
// bucket is 2^(1/8) ≈ 9% wide, so a percentile read from it is within 9% of the true value.
const stepsPerOctave = 8;
const lowestOctave = -4;
const octaves = 32; // up to 2^28 µs, about 4.5 minutes; anything longer lands in the last bucket
const percentileBuckets = stepsPerOctave * octaves;

/**
 * The sampled latency of one command (commands/timing.ts): a Prometheus histogram for /metrics and
 * log-spaced buckets for INFO latencystats' percentiles (Redis reports them from an HdrHistogram).
 * observe() does a logarithm and two increments, allocating nothing; it runs for one request in
 * latencySampleEvery, and for every TimedAlone one.
 */
export class CommandLatency {
  readonly histogram = new Histogram(requestBoundsS);
  readonly #buckets = new Float64Array(percentileBuckets);
  #maxUs = 0;

  observe(ms: number): void {
    this.histogram.observe(ms);
    const us = ms * 1000;
    if (us > this.#maxUs) this.#maxUs = us;
    const at = us <= 0 ? 0 : Math.floor((Math.log2(us) - lowestOctave) * stepsPerOctave);
    this.#buckets[Math.min(percentileBuckets - 1, Math.max(0, at))]!++;
  }

  /** Requests timed. */
  get samples(): number {
    return this.histogram.count;
  }

  /** Their time added up, in microseconds. */
  get sumUs(): number {
    return this.histogram.sumS * 1e6;
  }

  /**
   * The latency `p` percent of the samples did not exceed, in microseconds: the upper edge of the
   * bucket holding that rank, never above the largest sample (so p100 is the maximum). 0 without samples.
   */
  percentileUs(p: number): number {
    const count = this.histogram.count;
    if (count === 0) return 0;
    const rank = Math.max(1, Math.ceil((p / 100) * count));
    let seen = 0;
    for (let i = 0; i < percentileBuckets; i++) {
      seen += this.#buckets[i]!;
      if (seen >= rank) return Math.min(this.#maxUs, 2 ** ((i + 1) / stepsPerOctave + lowestOctave));
    }
    return this.#maxUs;
  }
}
