import type { Prisma } from "@prisma/client";
import type { Database } from "../db/client";
import { isDatabaseUnavailable } from "../db/unavailable";
import { BUCKET_COUNT, BUCKETS_PER_DOUBLING, HISTOGRAM_FLOOR_MS } from "./histogram";
import type { RecordJournal, Segment } from "./journal";

export type InvocationRecord = Prisma.InvocationCreateManyInput;

/** How much of each stream a record keeps (the caller received all of it). */
export const RECORDED_OUTPUT_CHARS = 4096;

export interface RecorderOptions {
  intervalMs: number;
  batchSize: number;
  /**
   * Records waiting for the database (in memory, and in the journal) may
   * take this many bytes of JSON; past it, new records are dropped and
   * counted. This is the buffer that carries a database outage.
   */
  maxPendingBytes: number;
}

const DEFAULTS: RecorderOptions = {
  intervalMs: 200,
  batchSize: 1000,
  maxPendingBytes: 128 * 1024 * 1024,
};

interface Pending {
  /** The record as JSON: what the journal holds and the batch insert reads. */
  json: string;
  segment: Segment | null;
}

/**
 * Writes invocation records in batches, off the request path: a call
 * appends one JSON line to the journal (see journal.ts) and queues it.
 * Flushes every `intervalMs` or at `batchSize`; a failed write is retried
 * with the rows kept (backing off up to 32 intervals while the database is
 * away); `close()` writes everything left; what a killed process left in the
 * journal is written at the next start (`replayJournal`).
 */
export class InvocationRecorder {
  private queue: Pending[] = [];
  /** The batch being written, still pending until its insert commits. */
  private inFlight = 0;
  private queuedBytes = 0;
  private flushing: Promise<void> | null = null;
  private timer: NodeJS.Timeout | null = null;
  private failures = 0;
  private closed = false;
  private lastDropLog = 0;
  private readonly options: RecorderOptions;
  /** Rows written since start, for the benchmark and metrics. */
  written = 0;
  /** Records refused because the buffer was full (the database away too long). */
  dropped = 0;

  constructor(
    private readonly db: Database,
    private readonly log: (line: string) => void,
    options: Partial<RecorderOptions> = {},
    private readonly journal: RecordJournal | null = null,
  ) {
    this.options = { ...DEFAULTS, ...options };
  }

  /** Records not yet in the database (queued or in the batch being written). */
  get pending() {
    return this.queue.length + this.inFlight;
  }

  get pendingBytes() {
    return this.queuedBytes;
  }

  /** Queues one record; it is in the journal when this returns (unless the buffer is full). */
  record(row: InvocationRecord) {
    const json = JSON.stringify({
      ...row,
      // Set here, not by the database, so a batch's rows keep their call times.
      createdAt: row.createdAt ?? new Date(),
      stdout: storable(clip(row.stdout ?? "")),
      stderr: storable(clip(row.stderr ?? "")),
      error: row.error ? storable(row.error.slice(0, 1000)) : row.error,
    });
    if (this.queuedBytes + json.length > this.options.maxPendingBytes) {
      this.drop();
      return;
    }
    const segment = this.journal ? this.journal.append(json) : null;
    this.enqueue({ json, segment });
  }

  /** Queues what dead processes left in the journal; returns how many records. */
  replayJournal(): number {
    if (!this.journal) return 0;
    let count = 0;
    for (const { segment, lines } of this.journal.replay()) {
      for (const json of lines) this.enqueue({ json, segment });
      count += lines.length;
    }
    if (count > 0) this.log(`Replaying ${count} invocation record(s) left by an earlier process`);
    return count;
  }

  private enqueue(item: Pending) {
    this.queue.push(item);
    this.queuedBytes += item.json.length;
    // A full batch goes at once, unless writes are failing: then the backoff decides.
    if (this.queue.length >= this.options.batchSize && this.failures === 0) void this.flush();
    else this.schedule();
  }

  private drop() {
    this.dropped += 1;
    const now = Date.now();
    if (now - this.lastDropLog > 10_000) {
      this.lastDropLog = now;
      this.log(
        `Invocation records are being dropped: ${this.pending} wait for the database (${this.queuedBytes} bytes, the limit); ${this.dropped} dropped so far`,
      );
    }
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
    // New records go to a new journal file, so this batch's file can be deleted once written.
    this.journal?.rotate();
    this.inFlight = batch.length;
    this.flushing = (async () => {
      try {
        this.written += await writeBatch(this.db, `[${batch.map((p) => p.json).join(",")}]`);
        this.failures = 0;
        for (const item of batch) {
          this.queuedBytes -= item.json.length;
          if (item.segment) this.journal?.written(item.segment, 1);
        }
      } catch (error) {
        this.failures += 1;
        // Keep the rows, in order, for the next attempt.
        this.queue.unshift(...batch);
        if (this.failures === 1 || this.failures % 10 === 0) {
          this.log(
            `Writing ${batch.length} invocation records failed (will retry; ${this.queue.length} waiting): ${
              isDatabaseUnavailable(error)
                ? "the database is unreachable"
                : (error as Error).message.trim()
            }`,
          );
        }
      } finally {
        this.inFlight = 0;
        this.flushing = null;
      }
    })();
    await this.flushing;
    if (this.queue.length > 0) this.schedule();
  }

  /**
   * Flushes until empty (or until writes keep failing for `timeoutMs`: what
   * is left stays in the journal for the next start).
   */
  async close(timeoutMs = 10_000) {
    this.closed = true;
    if (this.timer) clearTimeout(this.timer);
    const deadline = Date.now() + timeoutMs;
    while (this.queue.length > 0 || this.flushing) {
      await this.flush();
      if (this.failures > 0) {
        if (Date.now() > deadline) {
          this.log(
            `Gave up writing ${this.queue.length} invocation records at shutdown; the journal keeps them for the next start`,
          );
          break;
        }
        await new Promise((r) => setTimeout(r, 200));
      }
    }
    this.journal?.close();
  }
}

/**
 * One statement: insert the rows (a retried batch skips those already in, and
 * those whose function is gone; one deleted while this runs fails the batch
 * once, and the retry leaves it out) and
 * add exactly the inserted ones to the per-minute latency rollups, so charts
 * and records can never disagree.
 */
async function writeBatch(db: Database, json: string): Promise<number> {
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
      -- A function (or its user) deleted after the call: its record goes with
      -- it, instead of failing, again and again, the batch of everyone's records.
      WHERE EXISTS (SELECT 1 FROM "Function" f WHERE f.id = input."functionId" AND f."userId" = input."userId")
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

/**
 * PostgreSQL text cannot hold NUL: one function printing a NUL byte must not
 * fail the batch of everyone's records, so it is stored as U+FFFD (the
 * response itself carries it as \u0000).
 */
function storable(text: string) {
  return text.includes("\u0000") ? text.replaceAll("\u0000", "\uFFFD") : text;
}

function clip(text: string) {
  return text.length > RECORDED_OUTPUT_CHARS
    ? `${text.slice(0, RECORDED_OUTPUT_CHARS)}\n…[${text.length - RECORDED_OUTPUT_CHARS} more characters not recorded]`
    : text;
}
