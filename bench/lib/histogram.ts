// A log-bucketed latency histogram in integer microseconds (HDR-style, ≤0.8% bucket width).
// Recording is one Math.clz32 and one array increment: no allocation, no sorting.

/** Values below this are counted exactly; above it each power of two gets `subBucketHalf` buckets. */
const subBucketCount = 256;
const subBucketHalf = subBucketCount / 2;
const subBucketHalfBits = 7;

/** Largest recordable value (µs, about 71 minutes); larger values are clamped to it. */
export const latencyUsMax = 0xffffffff;

/** 256 exact buckets + 128 per power of two from 2^8 to 2^31. */
const bucketsCount = subBucketCount + (32 - 8) * subBucketHalf;

function bucketOf(valueUs: number): number {
  if (valueUs < subBucketCount) return valueUs;
  const shift = 31 - Math.clz32(valueUs) - subBucketHalfBits;
  return subBucketCount + (shift - 1) * subBucketHalf + ((valueUs >>> shift) - subBucketHalf);
}

/** The smallest and largest values that fall into bucket `index`. */
function boundsOf(index: number): [number, number] {
  if (index < subBucketCount) return [index, index];
  const k = index - subBucketCount;
  const width = 2 ** ((k >>> subBucketHalfBits) + 1);
  const low = ((k & (subBucketHalf - 1)) + subBucketHalf) * width;
  return [low, low + width - 1];
}

/** Counts of latencies in microseconds, with exact min, max and sum alongside the buckets. */
export class Histogram {
  readonly #counts = new Float64Array(bucketsCount);
  count = 0;
  sumUs = 0;
  minUs = Infinity;
  maxUs = 0;

  /** Adds one latency; fractional microseconds are truncated. */
  record(latencyUs: number): void {
    const v = latencyUs <= 0 ? 0 : latencyUs < latencyUsMax ? latencyUs >>> 0 : latencyUsMax;
    this.#counts[bucketOf(v)]++;
    this.count++;
    this.sumUs += v;
    if (v > this.maxUs) this.maxUs = v;
    if (v < this.minUs) this.minUs = v;
  }

  /** Adds every count of `other` into this histogram. */
  add(other: Histogram): void {
    const mine = this.#counts;
    const theirs = other.#counts;
    for (let i = 0; i < bucketsCount; i++) mine[i]! += theirs[i]!;
    this.count += other.count;
    this.sumUs += other.sumUs;
    if (other.maxUs > this.maxUs) this.maxUs = other.maxUs;
    if (other.minUs < this.minUs) this.minUs = other.minUs;
  }

  reset(): void {
    this.#counts.fill(0);
    this.count = 0;
    this.sumUs = 0;
    this.minUs = Infinity;
    this.maxUs = 0;
  }

  /**
   * The value at percentile `p` (0–100) in µs: the midpoint of the bucket holding the
   * ceil(p% · count)-th smallest value, never above the exact maximum. 0 when empty.
   */
  percentileUs(p: number): number {
    if (this.count === 0) return 0;
    const rank = Math.max(1, Math.ceil((p / 100) * this.count));
    let seen = 0;
    for (let i = 0; i < bucketsCount; i++) {
      seen += this.#counts[i]!;
      if (seen >= rank) {
        const [low, high] = boundsOf(i);
        return Math.min((low + high) / 2, this.maxUs);
      }
    }
    return this.maxUs;
  }

  meanUs(): number {
    return this.count === 0 ? 0 : this.sumUs / this.count;
  }
}
