import type pg from "pg";
import type PgBoss from "pg-boss";
import {
  CapacityError,
  ConcurrencyLimitError,
  EngineUnavailableError,
  type InvokeOutcome,
  type RunnerManager,
} from "../../runners/manager";
import type { EngineName } from "../../runners/types";
import type { FunctionDirectory } from "../invocations/function-directory";
import type { InvocationRecorder } from "../invocations/recorder";
import { bossExecutor, DEAD_LETTER_QUEUE, INVOCATION_QUEUE, inTransaction } from "./queue";
import { type AttemptOutcome, type NextStep, nextStep } from "./retry-policy";

export interface JobData {
  invocationId: string;
  functionId: string;
}

type Job = PgBoss.JobWithMetadata<JobData>;

export interface WorkerOptions {
  /** Jobs this process runs at once. */
  concurrency: number;
  /** Fetch anyway this often, in case a wake-up signal was lost. */
  pollMs: number;
  /** A job put back because its function was at its concurrency waits this long. */
  putBackMs: number;
}

export interface WorkerDeps {
  pool: pg.Pool;
  boss: PgBoss;
  runners: RunnerManager;
  directory: FunctionDirectory;
  recorder: InvocationRecorder;
  log: (line: string) => void;
  /** An attempt ended (for metrics). */
  onAttempt(step: NextStep | "put-back", engine: EngineName): void;
}

interface ClaimedRow {
  functionId: string;
  userId: string;
  engine: EngineName;
  event: unknown;
  args: string[];
  attempts: number;
  queuedAt: Date;
}

const FINAL: ReadonlySet<NextStep> = new Set(["succeeded", "failed", "dead"]);

/**
 * Runs queued invocations in this process: fetches as many jobs as it has
 * free slots (pg-boss's `FOR UPDATE SKIP LOCKED`, so several processes share
 * one queue), and hands each to the same runner manager and pools as a sync
 * call, at a lower priority than waiting sync calls. Sleeps until a wake-up
 * (a local enqueue, or LISTEN/NOTIFY from another process) or the poll.
 */
export class AsyncWorker {
  private inFlight = 0;
  private stopped = false;
  private woken = false;
  private maybeMore = true;
  private wakeSleeper: (() => void) | null = null;
  private loopDone: Promise<void> | null = null;
  private readonly active = new Set<Promise<void>>();

  constructor(
    private readonly deps: WorkerDeps,
    private readonly options: WorkerOptions,
  ) {}

  get running() {
    return this.inFlight;
  }

  start() {
    if (this.options.concurrency === 0) return;
    this.loopDone = this.loop();
  }

  /** New work may be waiting: fetch now instead of at the next poll. */
  wake() {
    this.maybeMore = true;
    this.woken = true;
    this.wakeSleeper?.();
  }

  /** Stops fetching and waits for the jobs in progress. */
  async stop() {
    this.stopped = true;
    this.wakeSleeper?.();
    await this.loopDone;
    await Promise.allSettled([...this.active]);
  }

  private async loop() {
    let lastDeadLetterCheck = 0;
    while (!this.stopped) {
      const free = this.options.concurrency - this.inFlight;
      let fetched = 0;
      if (free > 0 && this.maybeMore) {
        this.woken = false;
        try {
          const jobs = await this.deps.boss.fetch<JobData>(INVOCATION_QUEUE, {
            batchSize: free,
            includeMetadata: true,
          });
          fetched = jobs.length;
          for (const job of jobs) this.track(this.run(job));
          // A full batch: there may be more. Fewer: the queue is empty until a wake-up.
          this.maybeMore = fetched === free;
        } catch (error) {
          this.deps.log(`[async] fetch failed: ${(error as Error).message}`);
        }
      }
      if (Date.now() - lastDeadLetterCheck >= this.options.pollMs) {
        lastDeadLetterCheck = Date.now();
        await this.settleDeadLetters().catch((error) =>
          this.deps.log(`[async] dead letters: ${(error as Error).message}`),
        );
      }
      if (this.stopped) break;
      if (fetched > 0 && this.maybeMore && this.inFlight < this.options.concurrency) continue;
      await this.sleep();
    }
  }

  private track(work: Promise<void>) {
    this.inFlight += 1;
    this.active.add(work);
    void work.finally(() => {
      this.inFlight -= 1;
      this.active.delete(work);
      // A slot freed: fetch again if the last fetch filled every slot.
      if (this.maybeMore) this.wakeSleeper?.();
    });
  }

  private sleep() {
    if (this.woken) {
      this.woken = false;
      return Promise.resolve();
    }
    return new Promise<void>((resolve) => {
      const timer = setTimeout(done, this.options.pollMs);
      const self = this;
      function done() {
        clearTimeout(timer);
        self.wakeSleeper = null;
        // The poll: look again even without a signal (one may have been lost).
        self.maybeMore = true;
        resolve();
      }
      this.wakeSleeper = done;
    });
  }

  private async run(job: Job) {
    try {
      await this.attempt(job);
    } catch (error) {
      // Our own failure (database down, say): leave the job to pg-boss's expiry and retry.
      this.deps.log(`[async ${job.data.invocationId}] ${(error as Error).stack ?? error}`);
    }
  }

  private async attempt(job: Job) {
    const { pool, boss, runners, directory } = this.deps;
    const { invocationId } = job.data;
    const startedAt = Date.now();
    const claimed = await pool.query<ClaimedRow>(
      `UPDATE "AsyncInvocation" SET state = 'running', attempts = attempts + 1,
         "startedAt" = coalesce("startedAt", now() AT TIME ZONE 'UTC')
       WHERE id = $1 AND state IN ('queued', 'running')
       RETURNING "functionId", "userId", engine::text AS engine, event, args, attempts,
         "queuedAt" AT TIME ZONE 'UTC' AS "queuedAt"`,
      [invocationId],
    );
    const row = claimed.rows[0];
    if (!row) {
      // Finished already (a job run again after a crash) or deleted with its function.
      await boss.complete(INVOCATION_QUEUE, job.id);
      return;
    }
    const fn = await directory.findById(row.functionId);
    if (!fn) {
      await this.finish(job, row, "failed", {
        status: 1,
        timeout: false,
        error: "The function was deleted or has no active version",
      });
      return;
    }
    const attemptId = row.attempts === 1 ? invocationId : `${invocationId}-${row.attempts}`;
    // Enqueue (or, for a retry, the moment it became due) → start.
    const dueAt = Math.max(job.createdOn.getTime(), job.startAfter.getTime());
    const queueWaitMs = Math.max(0, startedAt - dueAt);
    let outcome: InvokeOutcome | null = null;
    let failure: AttemptOutcome | null = null;
    try {
      outcome = await runners.invoke(
        row.engine,
        fn.target,
        { invocationId: attemptId, args: row.args, event: row.event },
        "async",
      );
    } catch (error) {
      if (error instanceof ConcurrencyLimitError) return this.putBack(job, row.engine);
      const unavailable = error instanceof EngineUnavailableError || error instanceof CapacityError;
      if (!unavailable) this.deps.log(`[async ${invocationId}] ${(error as Error).stack ?? error}`);
      failure = {
        status: 503,
        timeout: false,
        error: unavailable
          ? `The ${row.engine} engine is unavailable: ${(error as Error).message}`
          : "The call failed inside Cloudless",
        engineUnavailable: true,
      };
    }
    if (outcome) {
      this.deps.recorder.record({
        id: attemptId,
        functionId: fn.target.functionId,
        userId: fn.target.userId,
        versionNumber: fn.target.versionNumber,
        engine: row.engine,
        start: outcome.start,
        bootMode: outcome.bootMode,
        status: outcome.status,
        timeout: outcome.timeout,
        error: outcome.error,
        durationMs: outcome.durationMs,
        ...outcome.timings,
        stdout: outcome.stdout,
        stderr: outcome.stderr,
        async: true,
        queueWaitMs,
        asyncId: invocationId,
      });
    }
    const result = outcome ?? failure!;
    const step = nextStep(result, {
      retryOnError: fn.retryOnError,
      attemptsLeft: job.retryCount < job.retryLimit,
    });
    await this.finish(job, row, step, result, outcome, {
      attemptId: outcome ? attemptId : null,
      versionNumber: fn.target.versionNumber,
      queueWaitMs,
    });
  }

  /** The call's row and the job change together, in one transaction. */
  private async finish(
    job: Job,
    row: ClaimedRow,
    step: NextStep,
    result: AttemptOutcome,
    outcome: InvokeOutcome | null = null,
    extra: { attemptId: string | null; versionNumber: number | null; queueWaitMs: number } = {
      attemptId: null,
      versionNumber: null,
      queueWaitMs: 0,
    },
  ) {
    const final = FINAL.has(step);
    await inTransaction(this.deps.pool, async (client) => {
      await client.query(
        `UPDATE "AsyncInvocation" SET state = $2::"AsyncState",
           "finishedAt" = CASE WHEN $3 THEN now() AT TIME ZONE 'UTC' ELSE NULL END,
           "lastInvocationId" = coalesce($4, "lastInvocationId"), "versionNumber" = coalesce($5, "versionNumber"),
           status = $6, result = $7::jsonb, stdout = $8, stderr = $9, error = $10, timeout = $11,
           "durationMs" = $12, start = $13::"StartKind", timings = $14::jsonb
         WHERE id = $1`,
        [
          job.data.invocationId,
          step === "retry" ? "queued" : step,
          final,
          extra.attemptId,
          extra.versionNumber,
          result.status,
          JSON.stringify(outcome?.result ?? null),
          outcome?.stdout ?? "",
          outcome?.stderr ?? "",
          result.error,
          result.timeout,
          outcome?.durationMs ?? 0,
          outcome?.start ?? null,
          outcome ? JSON.stringify({ ...outcome.timings, queueWaitMs: extra.queueWaitMs }) : null,
        ],
      );
      const db = bossExecutor(client);
      if (step === "retry" || step === "dead") {
        // pg-boss schedules the retry (exponential backoff with jitter) or marks it failed.
        await this.deps.boss.fail(INVOCATION_QUEUE, job.id, { error: result.error }, { db });
      } else {
        await this.deps.boss.complete(INVOCATION_QUEUE, job.id, {}, { db });
      }
    });
    this.deps.onAttempt(step, row.engine);
  }

  /**
   * The function is at its concurrency (its sync calls come first): the job
   * goes back for a moment without using up an attempt, so this slot can run
   * another function's job instead of waiting here.
   */
  private async putBack(job: Job, engine: EngineName) {
    await inTransaction(this.deps.pool, async (client) => {
      await client.query(
        `UPDATE "AsyncInvocation" SET state = 'queued', attempts = attempts - 1 WHERE id = $1`,
        [job.data.invocationId],
      );
      const db = bossExecutor(client);
      await this.deps.boss.insert(
        [
          {
            name: INVOCATION_QUEUE,
            data: job.data,
            startAfter: new Date(Date.now() + this.options.putBackMs).toISOString(),
            retryLimit: Math.max(0, job.retryLimit - job.retryCount),
            // pg-boss reads it as EXTRACT(epoch …): a numeric string such as "120.000000",
            // which its insert would refuse as an integer.
            expireInSeconds: Math.round(Number(job.expireInSeconds)),
          } as PgBoss.JobInsert,
        ],
        { db },
      );
      await this.deps.boss.complete(INVOCATION_QUEUE, job.id, {}, { db });
    });
    this.deps.onAttempt("put-back", engine);
  }

  /**
   * A job whose last attempt was lost (its server died and pg-boss expired it
   * with no retry left) arrives here: the call is dead.
   */
  private async settleDeadLetters() {
    const jobs = await this.deps.boss.fetch<JobData>(DEAD_LETTER_QUEUE, { batchSize: 50 });
    for (const job of jobs) {
      await inTransaction(this.deps.pool, async (client) => {
        await client.query(
          `UPDATE "AsyncInvocation" SET state = 'dead', "finishedAt" = now() AT TIME ZONE 'UTC',
             error = coalesce(error, 'The server running the last attempt stopped')
           WHERE id = $1 AND state IN ('queued', 'running')`,
          [job.data.invocationId],
        );
        await this.deps.boss.complete(
          DEAD_LETTER_QUEUE,
          job.id,
          {},
          {
            db: bossExecutor(client),
          },
        );
      });
    }
  }
}
