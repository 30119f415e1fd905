import { Prisma } from "@prisma/client";
import type { Database } from "../db/client";
import { BUCKETS_PER_DOUBLING, HISTOGRAM_FLOOR_MS } from "./histogram";

/**
 * Chart aggregations, computed by PostgreSQL from the per-minute latency
 * histograms (InvocationRollup) that the recorder writes with each batch: a
 * day of a million calls is a few thousand rows, so every query stays in
 * milliseconds. Percentiles are read from the histogram with geometric
 * interpolation inside the bucket: within HISTOGRAM_RELATIVE_ERROR (~9%,
 * typically far less) of the exact value; counts and means are exact.
 */
export interface StatsRange {
  userId: string;
  from: Date;
  to: Date;
  functionId?: string;
}

export interface PercentileRow {
  engine: "docker" | "nanos";
  start: "cold" | "prewarm" | "warm";
  calls: number;
  errors: number;
  p50: number;
  p95: number;
  p99: number;
  mean: number;
}

export interface SeriesRow {
  bucket: Date;
  engine: "docker" | "nanos";
  start: "cold" | "prewarm" | "warm";
  calls: number;
  p50: number;
  p95: number;
}

// Minutes are whole: a range is widened to the minutes it touches.
function where(range: StatsRange) {
  return Prisma.sql`"userId" = ${range.userId}
    AND minute >= date_trunc('minute', ${range.from}::timestamp) AND minute < ${range.to}::timestamp
    ${range.functionId ? Prisma.sql`AND "functionId" = ${range.functionId}` : Prisma.empty}`;
}

/** The q-quantile of a histogram group: first bucket whose running count reaches q·total, interpolated. */
function quantile(q: number) {
  return Prisma.sql`(array_agg(
      ${HISTOGRAM_FLOOR_MS}::float8 * power(2, (bucket + greatest(0, least(1, (${q} * total - (cum - n)) / n))) / ${BUCKETS_PER_DOUBLING}::float8)
      ORDER BY bucket) FILTER (WHERE cum >= ${q} * total))[1]`;
}

function histogramQuery(range: StatsRange, groupBy: Prisma.Sql) {
  return Prisma.sql`
    WITH h AS (
      SELECT ${groupBy} AS grp, engine::text AS engine, start::text AS start, bucket,
        sum(calls)::float8 AS n, sum(errors)::int AS errs, sum("sumMs") AS s
      FROM "InvocationRollup"
      WHERE ${where(range)}
      GROUP BY 1, 2, 3, 4
    ), c AS (
      SELECT *,
        sum(n) OVER (PARTITION BY grp, engine, start ORDER BY bucket) AS cum,
        sum(n) OVER (PARTITION BY grp, engine, start) AS total
      FROM h
    )
    SELECT grp, engine, start, max(total)::int AS calls, sum(errs)::int AS errors,
      sum(s) / max(total) AS mean,
      ${quantile(0.5)} AS p50, ${quantile(0.95)} AS p95, ${quantile(0.99)} AS p99
    FROM c
    GROUP BY grp, engine, start
    ORDER BY grp, engine, start`;
}

/** p50/p95/p99, mean, calls and errors per engine × start kind over the range. */
export async function latencyPercentiles(
  db: Database,
  range: StatsRange,
): Promise<PercentileRow[]> {
  const rows = await db.$queryRaw<Array<PercentileRow & { grp: number }>>(
    histogramQuery(range, Prisma.sql`0`),
  );
  return rows.map(({ grp: _, ...row }) => row);
}

/** Latency over time in about `buckets` slices (whole minutes), per engine × start kind. */
export async function latencySeries(
  db: Database,
  range: StatsRange,
  buckets = 60,
): Promise<{ bucketSeconds: number; rows: SeriesRow[] }> {
  const span = Math.max(60, (range.to.getTime() - range.from.getTime()) / 1000);
  const bucketSeconds = Math.max(60, Math.ceil(span / buckets / 60) * 60);
  const group = Prisma.sql`to_timestamp(floor(extract(epoch FROM minute) / ${bucketSeconds}) * ${bucketSeconds})`;
  const rows = await db.$queryRaw<Array<PercentileRow & { grp: Date }>>(
    histogramQuery(range, group),
  );
  return {
    bucketSeconds,
    rows: rows.map((r) => ({
      bucket: r.grp,
      engine: r.engine,
      start: r.start,
      calls: r.calls,
      p50: r.p50,
      p95: r.p95,
    })),
  };
}

/** Calls and failures (status ≠ 0) in the range. */
export async function callCounts(db: Database, range: StatsRange) {
  const [row] = await db.$queryRaw<Array<{ calls: number; errors: number }>>`
    SELECT coalesce(sum(calls), 0)::int AS calls, coalesce(sum(errors), 0)::int AS errors
    FROM "InvocationRollup" WHERE ${where(range)}`;
  return { calls: row?.calls ?? 0, errors: row?.errors ?? 0 };
}
