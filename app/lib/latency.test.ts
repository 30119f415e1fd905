import { describe, expect, it } from "vitest";
import {
  comparisons,
  describeComparison,
  formatAxisMs,
  formatMs,
  logAxis,
  type PercentileRow,
  parseRange,
  pivotSeries,
  timeTicks,
} from "./latency";

const row = (
  engine: PercentileRow["engine"],
  start: PercentileRow["start"],
  p50: number,
  calls = 10,
): PercentileRow => ({
  engine,
  start,
  calls,
  errors: 0,
  p50,
  p95: p50 * 2,
  p99: p50 * 3,
  mean: p50,
});

describe("latency shaping", () => {
  it("formats milliseconds to about three figures", () => {
    expect([0.421, 4.2, 42.25, 420.4, 1234, 12_345].map(formatMs)).toEqual([
      "0.42 ms",
      "4.20 ms",
      "42.3 ms",
      "420 ms",
      "1.23 s",
      "12.3 s",
    ]);
    expect([0.5, 20, 1000, 2000].map(formatAxisMs)).toEqual(["0.5 ms", "20 ms", "1 s", "2 s"]);
  });

  it("takes only the offered ranges from the URL", () => {
    expect(parseRange("7d")).toBe("7d");
    expect(parseRange("toString")).toBe("24h");
    expect(parseRange(null)).toBe("24h");
  });

  it("puts one point per bucket, and lists only the series with calls, in a fixed order", () => {
    const t0 = new Date("2026-03-04T05:00:00Z");
    const t1 = new Date("2026-03-04T05:15:00Z");
    const { points, series } = pivotSeries([
      { bucket: t1, engine: "docker", start: "warm", calls: 3, p50: 1, p95: 2 },
      { bucket: t0, engine: "nanos", start: "cold", calls: 1, p50: 300, p95: 310 },
      { bucket: t0, engine: "docker", start: "warm", calls: 2, p50: 1.5, p95: 2.5 },
    ]);
    expect(points).toEqual([
      {
        t: t0.getTime(),
        "nanos-cold-p50": 300,
        "nanos-cold-p95": 310,
        "nanos-cold-calls": 1,
        "docker-warm-p50": 1.5,
        "docker-warm-p95": 2.5,
        "docker-warm-calls": 2,
      },
      { t: t1.getTime(), "docker-warm-p50": 1, "docker-warm-p95": 2, "docker-warm-calls": 3 },
    ]);
    expect(series.map((s) => [s.key, s.calls])).toEqual([
      ["docker-warm", 5],
      ["nanos-cold", 1],
    ]);
  });

  it("compares cold and prewarm with warm per engine, and Nanos with Docker per start kind", () => {
    const { startKinds, engines } = comparisons([
      row("docker", "cold", 400),
      row("docker", "warm", 2),
      row("nanos", "warm", 1),
      row("nanos", "prewarm", 30, 0),
    ]);
    expect(startKinds.map((c) => [c.label, c.ratio])).toEqual([["Docker: cold vs warm", 200]]);
    expect(engines.map((c) => [c.label, c.ratio])).toEqual([["Warm starts: Nanos vs Docker", 0.5]]);
    expect(describeComparison(startKinds[0]!)).toBe(
      "Cold is 200× slower than warm at p50 (400 ms vs 2.00 ms)",
    );
    expect(describeComparison(engines[0]!)).toBe(
      "Nanos is 2.0× faster than Docker at p50 (1.00 ms vs 2.00 ms)",
    );
  });

  it("frames values on a log axis with room at both ends", () => {
    expect(logAxis([1.03, 36])).toEqual({ domain: [0.5, 50], ticks: [0.5, 1, 2, 5, 10, 20, 50] });
    expect(logAxis([0.4, 2500]).ticks).toEqual([1, 10, 100, 1000]);
    expect(logAxis([0.4, 2500]).domain).toEqual([0.2, 5000]);
    expect(logAxis([]).domain).toEqual([1, 1000]);
  });

  it("puts time ticks on round UTC times", () => {
    const to = Date.parse("2026-03-04T13:37:00Z");
    const ticks = timeTicks(to - 86_400_000, to);
    expect(ticks.map((t) => new Date(t).toISOString().slice(11, 16))).toEqual([
      "16:00",
      "20:00",
      "00:00",
      "04:00",
      "08:00",
      "12:00",
    ]);
  });
});
