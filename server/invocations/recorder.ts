import type { Prisma } from "@prisma/client";
import type { Database } from "../db/client";
import { BUCKET_COUNT, BUCKETS_PER_DOUBLING, HISTOGRAM_FLOOR_MS } from "./histogram";

export type InvocationRecord = Prisma.InvocationCreateManyInput;

/** How much of each stream a record keeps (the caller received all of it). */
export const RECORDED_OUTPUT_CHARS = 4096;

/**
 * Writes invocation records in batches, off the request path: a call only
 * pushes to an array. Flushes every `intervalMs` or at `batchSize`; a failed
 * write is retried with the rows kept; `close()` writes everything left, so
 * a clean shutdown loses nothing.
 */
export class InvocationRecorder {
  private queue: InvocationRecord[] = [];
  private flushing: Promise<void> | null = null;
  private timer: NodeJS.Timeout | null = null;
  private failures = 0;
  private closed = false;
  /** Rows written since start, for the benchmark and metrics. */
  written = 0;

  constructor(
    private readonly db: Database,
    private readonly log: (line: string) => void,
    private readonly options = { intervalMs: 200, batchSize: 1000 },
  ) {}

  get pending() {
    return this.queue.length;
  }

  record(row: InvocationRecord) {
    this.queue.push({
      ...row,
      // Set here, not by the database, so a batch's rows keep their call times.
      createdAt: row.createdAt ?? new Date(),
      stdout: clip(row.stdout ?? ""),
      stderr: clip(row.stderr ?? ""),
      error: row.error ? row.error.slice(0, 1000) : row.error,
    });
    if (this.queue.length >= this.options.batchSize) void this.flush();
    else this.schedule();
  }

  private schedule() {
    if (this.timer || this.closed) return;
    const delay = this.options.intervalMs * 2 ** Math.min(this.failures, 5);
    this.timer = setTimeout(() => {
      this.timer = null;
      void this.flush();
    }, delay);
    this.timer.unref();
  }

  /** Writes what is queued; concurrent calls share one write at a time. */
  async flush(): Promise<void> {
    while (this.flushing) await this.flushing;
    if (this.queue.length === 0) return;
    const batch = this.queue.splice(0, this.options.batchSize);
    this.flushing = (async () => {
      try {
        this.written += await writeBatch(this.db, batch);
        this.failures = 0;
      } catch (error) {
        this.failures += 1;
        // Keep the rows, in order, for the next attempt.
        this.queue.unshift(...batch);
        this.log(
          `Writing ${batch.length} invocation records failed (will retry): ${(error as Error).message}`,
        );
      } finally {
        this.flushing = null;
      }
    })();
    await this.flushing;
    if (this.queue.length > 0) this.schedule();
  }

  /** Flushes until empty (or until writes keep failing for `timeoutMs`). */
  async close(timeoutMs = 10_000) {
    this.closed = true;
    if (this.timer) clearTimeout(this.timer);
    const deadline = Date.now() + timeoutMs;
    while (this.queue.length > 0 || this.flushing) {
      await this.flush();
      if (this.failures > 0) {
        if (Date.now() > deadline) {
          this.log(`Gave up writing ${this.queue.length} invocation records at shutdown`);
          return;
        }
        await new Promise((r) => setTimeout(r, 200));
      }
    }
  }
}

/**
 * One statement: insert the rows (a retried batch skips those already in) and
 * add exactly the inserted ones to the per-minute latency rollups, so charts
 * and records can never disagree.
 */
async function writeBatch(db: Database, batch: InvocationRecord[]): Promise<number> {
  const json = JSON.stringify(batch);
  const [row] = await db.$queryRaw<Array<{ inserted: number }>>`
    WITH input AS (
      SELECT * FROM jsonb_to_recordset(${json}::jsonb) AS r(
        id text, "functionId" text, "userId" text, "versionNumber" int, engine "EngineKind",
        start "StartKind", "bootMode" "BootMode", status int, timeout boolean, error text, "durationMs" float8,
        "queueMs" float8, "startMs" float8, "execMs" float8, "totalMs" float8,
        stdout text, stderr text, "createdAt" timestamptz, async boolean, "queueWaitMs" float8, "asyncId" text)
    ), inserted AS (
      INSERT INTO "Invocation" (id, "functionId", "userId", "versionNumber", engine, start, "bootMode", status,
        timeout, error, "durationMs", "queueMs", "startMs", "execMs", "totalMs", stdout, stderr, "createdAt",
        async, "queueWaitMs", "asyncId")
      SELECT id, "functionId", "userId", "versionNumber", engine, start, "bootMode", status,
        coalesce(timeout, false), error, "durationMs", "queueMs", "startMs", "execMs", "totalMs",
        coalesce(stdout, ''), coalesce(stderr, ''), "createdAt" AT TIME ZONE 'UTC',
        coalesce(async, false), "queueWaitMs", "asyncId"
      FROM input
      ON CONFLICT (id) DO NOTHING
      RETURNING "userId", "functionId", engine, start, status, "totalMs", "createdAt"
    ), rolled AS (
      INSERT INTO "InvocationRollup" ("userId", "functionId", engine, start, minute, bucket, calls, errors, "sumMs")
      SELECT "userId", "functionId", engine, start, date_trunc('minute', "createdAt"),
        -- Same buckets as server/invocations/histogram.ts (bucketOf).
        CASE WHEN "totalMs" > ${HISTOGRAM_FLOOR_MS}
          THEN least(${BUCKET_COUNT - 1}, floor(log(2, ("totalMs" / ${HISTOGRAM_FLOOR_MS})::numeric) * ${BUCKETS_PER_DOUBLING}))::int
          ELSE 0 END,
        count(*)::int, (count(*) FILTER (WHERE status <> 0))::int, sum("totalMs")
      FROM inserted
      GROUP BY 1, 2, 3, 4, 5, 6
      ON CONFLICT ("userId", "functionId", engine, start, minute, bucket) DO UPDATE SET
        calls = "InvocationRollup".calls + EXCLUDED.calls,
        errors = "InvocationRollup".errors + EXCLUDED.errors,
        "sumMs" = "InvocationRollup"."sumMs" + EXCLUDED."sumMs"
    )
    SELECT count(*)::int AS inserted FROM inserted`;
  return row?.inserted ?? 0;
}

function clip(text: string) {
  return text.length > RECORDED_OUTPUT_CHARS
    ? `${text.slice(0, RECORDED_OUTPUT_CHARS)}\n…[${text.length - RECORDED_OUTPUT_CHARS} more characters not recorded]`
    : text;
}
