import { createHash } from "node:crypto";
import type { EventEmitter } from "node:events";
import pg from "pg";
import type PgBoss from "pg-boss";
import { Counter, Gauge, type Registry } from "prom-client";
import type { RunnerManager } from "../../runners/manager";
import type { EngineName } from "../../runners/types";
import type { Config } from "../config/config";
import type { Database } from "../db/client";
import type { FunctionDirectory, InvocableFunction } from "../invocations/function-directory";
import type { InvocationRecorder } from "../invocations/recorder";
import type { FunctionEvents } from "../services";
import { type EnqueueResult, Enqueuer } from "./enqueuer";
import { BOSS_SCHEMA, INVOCATION_QUEUE, startQueue } from "./queue";
import { type ScheduleRow, Scheduler } from "./scheduler";
import { createWakeSignal, notifyStatement, type WakeSignal } from "./wake-signal";
import { AsyncWorker } from "./worker";

export interface AsyncCall {
  fn: InvocableFunction;
  engine: EngineName;
  event: unknown;
  args: string[];
  idempotencyKey?: string;
  scheduleId?: string;
  tickAt?: Date;
}

/** Hash of what an idempotency key stands for: the same key must mean the same request. */
export function requestHash(engine: string, args: string[], event: unknown) {
  return createHash("sha256")
    .update(JSON.stringify([engine, args, event]))
    .digest("hex");
}

export interface AsyncDeps {
  config: Config;
  db: Database;
  databaseUrl: string;
  runners: RunnerManager;
  directory: FunctionDirectory;
  recorder: InvocationRecorder;
  functionEvents: EventEmitter<FunctionEvents>;
  registry: Registry;
  log: (line: string) => void;
}

/**
 * Asynchronous invocations and schedules, per server process: the queue
 * (pg-boss), the batching enqueuer, a worker, the scheduler and the wake-up
 * signal between processes. Nothing here is state another process needs:
 * the database holds it all.
 */
export class AsyncInvocations {
  private constructor(
    private readonly deps: AsyncDeps,
    private readonly pool: pg.Pool,
    private readonly boss: PgBoss,
    private readonly wake: WakeSignal,
    private readonly enqueuer: Enqueuer,
    readonly worker: AsyncWorker,
    private readonly scheduler: Scheduler,
  ) {}

  static async start(deps: AsyncDeps): Promise<AsyncInvocations> {
    const { config, log } = deps;
    const pool = new pg.Pool({
      connectionString: deps.databaseUrl,
      max: 8,
      application_name: "cloudless-async",
    });
    pool.on("error", (error) => log(`[async] database: ${error.message}`));
    const boss = await startQueue(
      {
        databaseUrl: deps.databaseUrl,
        maintenanceIntervalSeconds: Math.max(1, Math.min(30, config.async.runGraceSeconds)),
      },
      log,
    );
    const outcomes = new Counter({
      name: "cloudless_async_attempts_total",
      help: "Async call attempts by what followed: succeeded, failed, retry, dead, put-back (function busy)",
      labelNames: ["outcome", "engine"],
      registers: [deps.registry],
    });
    const worker = new AsyncWorker(
      {
        pool,
        boss,
        runners: deps.runners,
        directory: deps.directory,
        recorder: deps.recorder,
        log,
        onAttempt: (outcome, engine) => outcomes.inc({ outcome, engine }),
      },
      { concurrency: config.async.concurrency, pollMs: 1000, putBackMs: 250 },
    );
    const enqueuer = new Enqueuer(pool, boss, {
      maxQueuedPerUser: config.async.maxQueuedPerUser,
      onQueued: () => worker.wake(),
    });
    const wake = createWakeSignal(deps.databaseUrl, log);
    let service: AsyncInvocations | undefined;
    const scheduler = new Scheduler(deps.db, (row, tickAt) => service!.fireTick(row, tickAt), log);
    service = new AsyncInvocations(deps, pool, boss, wake, enqueuer, worker, scheduler);

    new Gauge({
      name: "cloudless_async_queue_depth",
      help: "Async calls by state (queued, running), over all users",
      labelNames: ["state"],
      registers: [deps.registry],
      async collect() {
        const rows = await pool.query<{ state: string; n: number }>(
          `SELECT state::text, count(*)::int AS n FROM "AsyncInvocation"
           WHERE state IN ('queued', 'running') GROUP BY 1`,
        );
        this.reset();
        this.set({ state: "queued" }, 0);
        this.set({ state: "running" }, 0);
        for (const row of rows.rows) this.set({ state: row.state }, row.n);
      },
    });

    wake.on("message", (message) => {
      if (message.kind === "jobs") worker.wake();
      else void scheduler.reload();
    });
    deps.functionEvents.on("changed", (functionId) => void service.onFunctionChanged(functionId));
    try {
      await wake.start();
      worker.start();
    } catch (error) {
      await service.close();
      throw error;
    }
    return service;
  }

  /** Queues one call of `fn` (the active version is resolved when it runs). */
  enqueue(call: AsyncCall): Promise<EnqueueResult> {
    const { fn } = call;
    return this.enqueuer.enqueue({
      userId: fn.target.userId,
      functionId: fn.target.functionId,
      engine: call.engine,
      event: call.event,
      args: call.args,
      retries: fn.asyncRetries,
      // Boot, wait for a turn, run: past that the server holding it is taken to be gone.
      expireInSeconds:
        fn.target.timeoutSeconds +
        Math.ceil(this.deps.config.runners.bootTimeoutMs / 1000) +
        this.deps.config.async.runGraceSeconds,
      idempotencyKey: call.idempotencyKey,
      bodyHash: call.idempotencyKey ? requestHash(call.engine, call.args, call.event) : undefined,
      scheduleId: call.scheduleId,
      tickAt: call.tickAt,
    });
  }

  private async fireTick(row: ScheduleRow, tickAt: Date) {
    const fn = await this.deps.directory.findById(row.functionId);
    if (!fn) return;
    const event = row.event ?? {};
    await this.enqueue({
      fn,
      engine: row.engine,
      event,
      args: [],
      scheduleId: row.id,
      tickAt,
    });
  }

  /** Tells every process (this one included) that schedules changed. */
  async schedulesChanged(functionId?: string) {
    const [sql, values] = notifyStatement({ kind: "schedules", functionId });
    await this.pool.query(sql, values);
  }

  private async onFunctionChanged(functionId: string) {
    try {
      const exists = await this.deps.db.function.count({ where: { id: functionId } });
      if (exists > 0) return;
      // Deleted: its rows went with it (cascade); its queued jobs go too.
      await this.pool.query(
        `DELETE FROM ${BOSS_SCHEMA}.job WHERE name = $1 AND data->>'functionId' = $2 AND state < 'active'`,
        [INVOCATION_QUEUE, functionId],
      );
      await this.schedulesChanged(functionId);
    } catch (error) {
      this.deps.log(`[async] cleanup of function ${functionId}: ${(error as Error).message}`);
    }
  }

  /** Queued, running and dead calls of a user (the dashboard). */
  async counts(userId: string) {
    const rows = await this.deps.db.asyncInvocation.groupBy({
      by: ["state"],
      where: { userId, state: { in: ["queued", "running", "dead"] } },
      _count: { _all: true },
    });
    const count = (state: string) => rows.find((r) => r.state === state)?._count._all ?? 0;
    return { queued: count("queued"), running: count("running"), dead: count("dead") };
  }

  async close() {
    this.scheduler.stop();
    await this.wake.close();
    await this.worker.stop();
    await this.boss.stop({ graceful: false, close: true, wait: true }).catch(() => {});
    await this.pool.end().catch(() => {});
  }

  /** Reads schedules now (after start; later changes arrive through the wake-up signal). */
  loadSchedules() {
    return this.scheduler.reload();
  }
}
