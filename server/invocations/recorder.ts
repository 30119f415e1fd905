import type { Prisma } from "@prisma/client";
import type { Database } from "../db/client";

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
        const { count } = await this.db.invocation.createMany({
          data: batch,
          skipDuplicates: true,
        });
        this.written += count;
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

function clip(text: string) {
  return text.length > RECORDED_OUTPUT_CHARS
    ? `${text.slice(0, RECORDED_OUTPUT_CHARS)}\n…[${text.length - RECORDED_OUTPUT_CHARS} more characters not recorded]`
    : text;
}
