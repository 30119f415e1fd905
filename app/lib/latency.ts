/**
 * Shaping the latency aggregations (server/invocations/stats.ts) for pages:
 * time ranges, one row per chart point, and the comparisons the latency page
 * calls out. Pure, so the server's render and the browser's agree.
 */

export type EngineName = "docker" | "nanos";
export type StartKind = "cold" | "prewarm" | "warm";

export const ENGINES: readonly EngineName[] = ["docker", "nanos"];
export const START_KINDS: readonly StartKind[] = ["cold", "prewarm", "warm"];

export const ENGINE_NAMES: Record<EngineName, string> = { docker: "Docker", nanos: "Nanos" };
export const START_NAMES: Record<StartKind, string> = {
  cold: "Cold",
  prewarm: "Prewarm",
  warm: "Warm",
};
/** What each start kind means, for tooltips and legends. */
export const START_HINTS: Record<StartKind, string> = {
  cold: "a new instance was booted for the call",
  prewarm: "a generic prewarmed instance was given the code",
  warm: "an idle instance of this function was reused",
};

export interface PercentileRow {
  engine: EngineName;
  start: StartKind;
  calls: number;
  errors: number;
  p50: number;
  p95: number;
  p99: number;
  mean: number;
}

export interface SeriesRow {
  bucket: Date | string;
  engine: EngineName;
  start: StartKind;
  calls: number;
  p50: number;
  p95: number;
}

const HOUR = 3_600_000;
const DAY = 24 * HOUR;

/**
 * The ranges the pages offer. `buckets` keeps every chart near a hundred
 * points: a minute each over an hour, 15 minutes over a day, 2 hours over a
 * week, 6 hours over a month.
 */
export const RANGES = {
  "1h": { label: "hour", short: "1 h", ms: HOUR, buckets: 60 },
  "24h": { label: "24 hours", short: "24 h", ms: DAY, buckets: 96 },
  "7d": { label: "7 days", short: "7 d", ms: 7 * DAY, buckets: 84 },
  "30d": { label: "30 days", short: "30 d", ms: 30 * DAY, buckets: 120 },
} as const;
export type RangeKey = keyof typeof RANGES;
export const DEFAULT_RANGE: RangeKey = "24h";

export function parseRange(value: string | null | undefined): RangeKey {
  return value && Object.hasOwn(RANGES, value) ? (value as RangeKey) : DEFAULT_RANGE;
}

/** "0.42 ms", "4.2 ms", "123 ms", "1.23 s": about three significant figures. */
export function formatMs(ms: number | null | undefined): string {
  if (ms === null || ms === undefined || !Number.isFinite(ms)) return "—";
  if (ms >= 1000) return `${(ms / 1000).toFixed(ms >= 10_000 ? 1 : 2)} s`;
  if (ms >= 100) return `${Math.round(ms)} ms`;
  if (ms >= 10) return `${ms.toFixed(1)} ms`;
  return `${ms.toFixed(2)} ms`;
}

/** "3.1%", "0%", "<0.1%". */
export function formatPercent(fraction: number): string {
  if (fraction === 0) return "0%";
  if (fraction < 0.001) return "<0.1%";
  return `${(fraction * 100).toFixed(fraction < 0.1 ? 1 : 0)}%`;
}

/** "42×", "1.3×". */
export function formatRatio(ratio: number): string {
  return `${ratio >= 10 ? Math.round(ratio) : ratio.toFixed(1)}×`;
}

export function seriesKey(engine: EngineName, start: StartKind): string {
  return `${engine}-${start}`;
}

export function seriesLabel(engine: EngineName, start: StartKind): string {
  return `${ENGINE_NAMES[engine]} · ${START_NAMES[start].toLowerCase()}`;
}

export type SeriesPoint = { t: number } & Record<string, number | undefined>;

/**
 * One point per time bucket with `<engine>-<start>-p50` / `-p95` values, in
 * time order, and the engine × start pairs that have data (in a fixed order,
 * so colours and legends do not move between ranges).
 */
export function pivotSeries(rows: SeriesRow[]): {
  points: SeriesPoint[];
  series: Array<{ engine: EngineName; start: StartKind; key: string; calls: number }>;
} {
  const byTime = new Map<number, SeriesPoint>();
  const calls = new Map<string, number>();
  for (const row of rows) {
    const t = new Date(row.bucket).getTime();
    const point = byTime.get(t) ?? { t };
    const key = seriesKey(row.engine, row.start);
    point[`${key}-p50`] = row.p50;
    point[`${key}-p95`] = row.p95;
    point[`${key}-calls`] = row.calls;
    byTime.set(t, point);
    calls.set(key, (calls.get(key) ?? 0) + row.calls);
  }
  const series = ENGINES.flatMap((engine) =>
    START_KINDS.map((start) => ({
      engine,
      start,
      key: seriesKey(engine, start),
      calls: calls.get(seriesKey(engine, start)) ?? 0,
    })),
  ).filter((s) => s.calls > 0);
  return { points: [...byTime.values()].sort((a, b) => a.t - b.t), series };
}

/** Rows in the table's order: by engine, then cold, prewarm, warm. */
export function sortPercentiles<T extends Pick<PercentileRow, "engine" | "start">>(rows: T[]): T[] {
  const rank = (r: T) => ENGINES.indexOf(r.engine) * 10 + START_KINDS.indexOf(r.start);
  return [...rows].sort((a, b) => rank(a) - rank(b));
}

export interface Comparison {
  /** What is compared, e.g. "Docker: cold vs warm". */
  label: string;
  slow: { name: string; p50: number; calls: number };
  fast: { name: string; p50: number; calls: number };
  /** slow.p50 / fast.p50 (≥ 1 unless the "slow" side was faster). */
  ratio: number;
}

/**
 * The pairs worth a sentence: per engine, cold and prewarm against warm; per
 * start kind, Nanos against Docker. A pair is left out when a side has no calls.
 */
export function comparisons(rows: PercentileRow[]): {
  startKinds: Comparison[];
  engines: Comparison[];
} {
  const find = (engine: EngineName, start: StartKind) =>
    rows.find((r) => r.engine === engine && r.start === start && r.calls > 0);
  const startKinds: Comparison[] = [];
  for (const engine of ENGINES) {
    const warm = find(engine, "warm");
    if (!warm) continue;
    for (const start of ["cold", "prewarm"] as const) {
      const other = find(engine, start);
      if (!other) continue;
      startKinds.push({
        label: `${ENGINE_NAMES[engine]}: ${start} vs warm`,
        slow: { name: START_NAMES[start], p50: other.p50, calls: other.calls },
        // Mid-sentence: "Cold is 42× slower than warm".
        fast: { name: "warm", p50: warm.p50, calls: warm.calls },
        ratio: other.p50 / warm.p50,
      });
    }
  }
  const engines: Comparison[] = [];
  for (const start of START_KINDS) {
    const docker = find("docker", start);
    const nanos = find("nanos", start);
    if (!docker || !nanos) continue;
    engines.push({
      label: `${START_NAMES[start]} starts: Nanos vs Docker`,
      slow: { name: "Nanos", p50: nanos.p50, calls: nanos.calls },
      fast: { name: "Docker", p50: docker.p50, calls: docker.calls },
      ratio: nanos.p50 / docker.p50,
    });
  }
  return { startKinds, engines };
}

/** A sentence for a comparison, the right way round: "Cold is 42× slower than warm at p50". */
export function describeComparison(c: Comparison): string {
  if (c.ratio >= 1) {
    return `${c.slow.name} is ${formatRatio(c.ratio)} slower than ${c.fast.name} at p50 (${formatMs(c.slow.p50)} vs ${formatMs(c.fast.p50)})`;
  }
  return `${c.slow.name} is ${formatRatio(1 / c.ratio)} faster than ${c.fast.name} at p50 (${formatMs(c.slow.p50)} vs ${formatMs(c.fast.p50)})`;
}

/** "0.5 ms", "20 ms", "1 s": short labels for round axis values. */
export function formatAxisMs(ms: number): string {
  if (ms >= 1000) return `${Number((ms / 1000).toPrecision(3))} s`;
  return `${Number(ms.toPrecision(3))} ms`;
}

/** The 1–2–5 steps of each decade, from 0.01 ms up. */
function steps(from: number, to: number): number[] {
  const out: number[] = [];
  for (let exp = Math.floor(Math.log10(from)); exp <= Math.ceil(Math.log10(to)); exp++) {
    for (const m of [1, 2, 5]) out.push(Number((m * 10 ** exp).toPrecision(1)));
  }
  return out;
}

/**
 * A log axis from a round value below the lowest point to one above the
 * highest, with a little room at both ends, and ticks at 1, 2 and 5 of each
 * decade (only the powers of ten when many decades are shown): latencies span
 * fractions of a millisecond (warm) to seconds (cold), which a linear axis flattens.
 */
export function logAxis(values: number[]): { domain: [number, number]; ticks: number[] } {
  const positive = values.filter((v) => Number.isFinite(v) && v > 0);
  if (positive.length === 0) return { domain: [1, 1000], ticks: [1, 10, 100, 1000] };
  const min = Math.max(0.01, Math.min(...positive) / 1.15);
  const max = Math.max(...positive) * 1.15;
  const all = steps(min, max);
  const lo = [...all].reverse().find((v) => v <= min) ?? all[0]!;
  const hi = all.find((v) => v >= max && v > lo) ?? all[all.length - 1]!;
  const inside = all.filter((v) => v >= lo && v <= hi);
  const decades = Math.log10(hi / lo);
  const ticks = decades > 2.5 ? inside.filter((v) => /^1/.test(v.toExponential())) : inside;
  return { domain: [lo, hi], ticks: ticks.length >= 2 ? ticks : inside };
}

const TICK_STEPS_MS = [
  5 * 60_000,
  10 * 60_000,
  15 * 60_000,
  30 * 60_000,
  HOUR,
  2 * HOUR,
  3 * HOUR,
  4 * HOUR,
  6 * HOUR,
  12 * HOUR,
  DAY,
  2 * DAY,
  5 * DAY,
  7 * DAY,
];

/** Round times (every 10 minutes, 4 hours, a day …) across a range: about `count` of them, in UTC. */
export function timeTicks(from: number, to: number, count = 6): number[] {
  const span = Math.max(1, to - from);
  const step =
    TICK_STEPS_MS.find((s) => span / s <= count) ?? TICK_STEPS_MS[TICK_STEPS_MS.length - 1]!;
  const ticks: number[] = [];
  for (let t = Math.ceil(from / step) * step; t <= to; t += step) ticks.push(t);
  return ticks;
}

const MONTHS = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];

/** Axis labels in UTC, like every date on the site: "14:05" over a day, "3 Mar" beyond. */
export function formatTick(t: number, rangeMs: number): string {
  const d = new Date(t);
  const hm = `${String(d.getUTCHours()).padStart(2, "0")}:${String(d.getUTCMinutes()).padStart(2, "0")}`;
  if (rangeMs <= DAY) return hm;
  return `${d.getUTCDate()} ${MONTHS[d.getUTCMonth()]}`;
}
