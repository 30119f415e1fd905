/**
 * Log-scale latency buckets for the per-minute rollups: 8 buckets per
 * doubling from 0.01 ms, so a bucket spans 9% of its value and a percentile
 * read from the histogram is within ~4.5% of the exact one (geometric
 * interpolation inside the bucket). 256 buckets reach ~40 minutes.
 */
export const BUCKETS_PER_DOUBLING = 8;
export const HISTOGRAM_FLOOR_MS = 0.01;
export const BUCKET_COUNT = 256;

export function bucketOf(ms: number): number {
  if (!(ms > HISTOGRAM_FLOOR_MS)) return 0;
  const b = Math.floor(Math.log2(ms / HISTOGRAM_FLOOR_MS) * BUCKETS_PER_DOUBLING);
  return Math.min(BUCKET_COUNT - 1, b);
}

export function bucketLowerMs(bucket: number): number {
  return HISTOGRAM_FLOOR_MS * 2 ** (bucket / BUCKETS_PER_DOUBLING);
}

/** Relative half-width of a bucket: the bound on a percentile's error. */
export const HISTOGRAM_RELATIVE_ERROR = 2 ** (1 / BUCKETS_PER_DOUBLING) - 1;
