import { randomUUID } from "node:crypto";
import type pg from "pg";
import type PgBoss from "pg-boss";
import type { EngineName } from "../../runners/types";
import { bossExecutor, INVOCATION_QUEUE, inTransaction } from "./queue";
import { notifyStatement } from "./wake-signal";

/** One async call to queue. */
export interface EnqueueRequest {
  userId: string;
  functionId: string;
  engine: EngineName;
  event: unknown;
  args: string[];
  /** The function's retries at enqueue time (attempts = retries + 1). */
  retries: number;
  /** How long one attempt may hold the job before another server may take it over. */
  expireInSeconds: number;
  idempotencyKey?: string;
  /** Hash of what was asked (engine, args, event), compared on a repeated key. */
  bodyHash?: string;
  scheduleId?: string;
  /** The schedule tick this run is for (unique per schedule). */
  tickAt?: Date;
}

export type EnqueueResult =
  | { kind: "queued"; id: string }
  /** The idempotency key was used within 24 h for the same request: that call. */
  | { kind: "repeat"; id: string; state: string }
  /** The idempotency key was used within 24 h for a different request. */
  | { kind: "key-conflict"; id: string }
  | { kind: "over-cap"; limit: number }
  /** Another process already queued this schedule tick. */
  | { kind: "tick-taken" };

interface Pending {
  request: EnqueueRequest;
  resolve(result: EnqueueResult): void;
  reject(error: unknown): void;
}

const MAX_BATCH = 500;
export const IDEMPOTENCY_HOURS = 24;

/**
 * Queues async calls. Concurrent requests are grouped: while one transaction
 * commits, the next requests gather and go together in the next one (a few
 * statements for the whole group), and each caller is answered only after
 * its rows are committed, so an accepted 202 survives a crash right after.
 *
 * The per-user cap and idempotency keys are checked under a per-user
 * transaction-level advisory lock, so concurrent batches (in this or any
 * other server process) for one user run one after another: the count they
 * see is exact, and two repeats of one key cannot both be queued (the unique
 * index on (userId, idempotencyKey) backs that up).
 */
export class Enqueuer {
  private waiting: Pending[] = [];
  private running = false;

  constructor(
    private readonly pool: pg.Pool,
    private readonly boss: PgBoss,
    private readonly options: { maxQueuedPerUser: number; onQueued(): void },
  ) {}

  enqueue(request: EnqueueRequest): Promise<EnqueueResult> {
    return new Promise((resolve, reject) => {
      this.waiting.push({ request, resolve, reject });
      if (!this.running) void this.drain();
    });
  }

  private async drain() {
    this.running = true;
    try {
      while (this.waiting.length > 0) {
        const batch = this.waiting.splice(0, MAX_BATCH);
        try {
          const results = await this.write(batch.map((p) => p.request));
          for (const [i, p] of batch.entries()) p.resolve(results[i]!);
        } catch (error) {
          if (batch.length === 1) {
            batch[0]!.reject(error);
            continue;
          }
          // One bad request (say, its function deleted meanwhile) must not fail the others.
          for (const pending of batch) {
            await this.write([pending.request]).then(
              ([result]) => pending.resolve(result!),
              (e) => pending.reject(e),
            );
          }
        }
      }
    } finally {
      this.running = false;
    }
  }

  private async write(requests: EnqueueRequest[]): Promise<EnqueueResult[]> {
    const queued = await inTransaction(this.pool, async (client) => {
      const users = [...new Set(requests.map((r) => r.userId))].sort();
      await client.query(
        `SELECT pg_advisory_xact_lock(hashtextextended('cloudless-async:' || u, 0))
         FROM (SELECT unnest($1::text[]) AS u ORDER BY 1) AS users`,
        [users],
      );
      const counts = new Map<string, number>();
      const { rows: countRows } = await client.query<{ userId: string; n: number }>(
        `SELECT "userId", count(*)::int AS n FROM "AsyncInvocation"
         WHERE "userId" = ANY($1::text[]) AND state IN ('queued', 'running') GROUP BY 1`,
        [users],
      );
      for (const row of countRows) counts.set(row.userId, row.n);

      const keyed = requests.filter((r) => r.idempotencyKey);
      const known = new Map<string, { id: string; bodyHash: string | null; state: string }>();
      if (keyed.length > 0) {
        const userIds = keyed.map((r) => r.userId);
        const keys = keyed.map((r) => r.idempotencyKey!);
        // A key is remembered for 24 hours; after that it may name a new call.
        await client.query(
          `UPDATE "AsyncInvocation" SET "idempotencyKey" = NULL
           WHERE ("userId", "idempotencyKey") IN (SELECT * FROM unnest($1::text[], $2::text[]))
             AND "queuedAt" < (now() AT TIME ZONE 'UTC') - interval '${IDEMPOTENCY_HOURS} hours'`,
          [userIds, keys],
        );
        const { rows } = await client.query<{
          id: string;
          userId: string;
          idempotencyKey: string;
          bodyHash: string | null;
          state: string;
        }>(
          `SELECT id, "userId", "idempotencyKey", "bodyHash", state::text FROM "AsyncInvocation"
           WHERE ("userId", "idempotencyKey") IN (SELECT * FROM unnest($1::text[], $2::text[]))`,
          [userIds, keys],
        );
        for (const row of rows) known.set(`${row.userId}\n${row.idempotencyKey}`, row);
      }

      const results: Array<EnqueueResult | { kind: "insert"; id: string }> = [];
      const inserts: Array<EnqueueRequest & { id: string }> = [];
      for (const request of requests) {
        const key = request.idempotencyKey && `${request.userId}\n${request.idempotencyKey}`;
        const earlier = key ? known.get(key) : undefined;
        if (earlier) {
          results.push(
            earlier.bodyHash === (request.bodyHash ?? null)
              ? { kind: "repeat", id: earlier.id, state: earlier.state }
              : { kind: "key-conflict", id: earlier.id },
          );
          continue;
        }
        const count = counts.get(request.userId) ?? 0;
        if (count >= this.options.maxQueuedPerUser) {
          results.push({ kind: "over-cap", limit: this.options.maxQueuedPerUser });
          continue;
        }
        counts.set(request.userId, count + 1);
        const id = randomUUID();
        // A second request with the same key in this batch repeats this one.
        if (key) known.set(key, { id, bodyHash: request.bodyHash ?? null, state: "queued" });
        inserts.push({ ...request, id });
        results.push({ kind: "insert", id });
      }
      if (inserts.length === 0) return results as EnqueueResult[];

      const { rows: inserted } = await client.query<{ id: string }>(
        `INSERT INTO "AsyncInvocation" (id, "functionId", "userId", engine, event, args, "maxAttempts",
           "idempotencyKey", "bodyHash", "scheduleId", "tickAt", "queuedAt")
         SELECT id, "functionId", "userId", engine::"EngineKind", event, args, "maxAttempts",
           "idempotencyKey", "bodyHash", "scheduleId", "tickAt" AT TIME ZONE 'UTC', now() AT TIME ZONE 'UTC'
         FROM jsonb_to_recordset($1::jsonb) AS r(id text, "functionId" text, "userId" text, engine text,
           event jsonb, args jsonb, "maxAttempts" int, "idempotencyKey" text, "bodyHash" text,
           "scheduleId" text, "tickAt" timestamptz)
         -- A schedule tick another process queued first: (scheduleId, tickAt) is unique.
         ON CONFLICT DO NOTHING
         RETURNING id`,
        [
          JSON.stringify(
            inserts.map((r) => ({
              id: r.id,
              functionId: r.functionId,
              userId: r.userId,
              engine: r.engine,
              event: r.event ?? null,
              args: r.args,
              maxAttempts: r.retries + 1,
              idempotencyKey: r.idempotencyKey ?? null,
              bodyHash: r.bodyHash ?? null,
              scheduleId: r.scheduleId ?? null,
              tickAt: r.tickAt?.toISOString() ?? null,
            })),
          ),
        ],
      );
      const insertedIds = new Set(inserted.map((r) => r.id));
      const jobs = inserts
        .filter((r) => insertedIds.has(r.id))
        .map((r) => ({
          // The first job's id is the invocation's: one id to follow in both tables.
          id: r.id,
          name: INVOCATION_QUEUE,
          data: { invocationId: r.id, functionId: r.functionId },
          retryLimit: r.retries,
          expireInSeconds: r.expireInSeconds,
        }));
      if (jobs.length > 0) {
        await this.boss.insert(jobs, { db: bossExecutor(client) });
        await client.query(...notifyStatement({ kind: "jobs" }));
      }
      return results.map((r) =>
        r.kind === "insert"
          ? insertedIds.has(r.id)
            ? { kind: "queued", id: r.id }
            : { kind: "tick-taken" }
          : r,
      ) as EnqueueResult[];
    });
    if (queued.some((r) => r.kind === "queued")) this.options.onQueued();
    return queued;
  }
}
