import { describe, expect, it } from "vitest";
import { BUCKET_COUNT, bucketLowerMs, bucketOf, HISTOGRAM_RELATIVE_ERROR } from "./histogram";

describe("latency buckets", () => {
  it("puts a value between its bucket's bounds", () => {
    for (const ms of [0.011, 0.05, 0.9, 1, 3.7, 42, 250, 4000, 120_000]) {
      const b = bucketOf(ms);
      expect(bucketLowerMs(b)).toBeLessThanOrEqual(ms * (1 + 1e-12));
      expect(bucketLowerMs(b + 1)).toBeGreaterThan(ms);
    }
  });

  it("clamps the ends and keeps buckets ~9% wide", () => {
    expect(bucketOf(0)).toBe(0);
    expect(bucketOf(-5)).toBe(0);
    expect(bucketOf(Number.NaN)).toBe(0);
    expect(bucketOf(1e12)).toBe(BUCKET_COUNT - 1);
    expect(bucketLowerMs(11) / bucketLowerMs(10) - 1).toBeCloseTo(HISTOGRAM_RELATIVE_ERROR, 12);
    expect(HISTOGRAM_RELATIVE_ERROR).toBeLessThan(0.1);
  });
});
