import { describe, expect, it } from "vitest";
import { median, percentile, round, summarize } from "./stats";

describe("percentile (nearest rank)", () => {
  const sorted = Array.from({ length: 100 }, (_, i) => i + 1);

  it("picks a measured value, never an interpolation", () => {
    expect(percentile(sorted, 50)).toBe(50);
    expect(percentile(sorted, 95)).toBe(95);
    expect(percentile(sorted, 99)).toBe(99);
    expect(percentile([1, 10], 50)).toBe(1);
    expect(percentile([1, 10], 51)).toBe(10);
  });

  it("is the maximum at p100 and the minimum at p0, and NaN without samples", () => {
    expect(percentile(sorted, 100)).toBe(100);
    expect(percentile(sorted, 0)).toBe(1);
    expect(percentile([], 50)).toBeNaN();
  });

  it("with few samples, p95 and p99 are the slowest one", () => {
    const fifteen = Array.from({ length: 15 }, (_, i) => i + 1);
    expect(percentile(fifteen, 95)).toBe(15);
    expect(percentile(fifteen, 99)).toBe(15);
  });
});

describe("summarize", () => {
  it("sorts, then reports count, percentiles, min, max and mean rounded to µs", () => {
    const s = summarize([3, 1, 2, 4.00049, 10]);
    expect(s).toEqual({
      samples: 5,
      p50Ms: 3,
      p95Ms: 10,
      p99Ms: 10,
      minMs: 1,
      maxMs: 10,
      meanMs: 4,
    });
  });

  it("leaves its input unsorted", () => {
    const values = [3, 1, 2];
    summarize(values);
    expect(values).toEqual([3, 1, 2]);
  });

  it("gives NaN figures for no samples instead of throwing", () => {
    const s = summarize([]);
    expect(s.samples).toBe(0);
    expect(s.p50Ms).toBeNaN();
    expect(s.meanMs).toBeNaN();
  });
});

describe("median and round", () => {
  it("median is the nearest-rank p50 of unsorted values", () => {
    expect(median([9, 1, 5])).toBe(5);
    expect(median([4, 1, 3, 2])).toBe(2);
  });

  it("rounds to three decimals by default, or as asked", () => {
    expect(round(0.123456)).toBe(0.123);
    expect(round(417.6, 0)).toBe(418);
    expect(round(1.25, 1)).toBe(1.3);
  });
});
