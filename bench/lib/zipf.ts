// Zipf-distributed ranks, shared by bench/hitratio.ts's traces and the eviction tests that replay the same shape.

/** Zipf(α) ranks over n keys by inverting the CDF (binary search). */
export function zipf(n: number, alpha: number, random: () => number): () => number {
  const cdf = new Float64Array(n);
  let sum = 0;
  for (let i = 0; i < n; i++) cdf[i] = sum += 1 / (i + 1) ** alpha;
  for (let i = 0; i < n; i++) cdf[i]! /= sum;
  return () => {
    const u = random();
    let lo = 0;
    let hi = n - 1;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (cdf[mid]! < u) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  };
}
