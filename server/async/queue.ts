import pg from "pg";
import PgBoss from "pg-boss";

/** The one queue of invocations, and where jobs whose last attempt was lost go. */
export const INVOCATION_QUEUE = "invocations";
export const DEAD_LETTER_QUEUE = "invocations-dead";
export const BOSS_SCHEMA = "pgboss";

export interface QueueOptions {
  databaseUrl: string;
  /** Past a job's own expiry, how often pg-boss looks for claimed jobs whose server died. */
  maintenanceIntervalSeconds: number;
}

/**
 * pg-boss on the platform's own PostgreSQL (schema `pgboss`, created and
 * migrated by pg-boss at start). Only its queue, locking, retries and expiry
 * are used: cron (minute resolution, one per name) and its polling workers
 * are not (see docs/decisions/0012-async-queue.md).
 */
export async function startQueue(options: QueueOptions, log: (line: string) => void) {
  const boss = new PgBoss({
    connectionString: options.databaseUrl,
    schema: BOSS_SCHEMA,
    application_name: "cloudless-queue",
    max: 4,
    // Our schedules are computed by ./scheduler.ts, to the second.
    schedule: false,
    maintenanceIntervalSeconds: options.maintenanceIntervalSeconds,
  });
  boss.on("error", (error: Error) => log(`[queue] ${error.message}`));
  // Nodes starting together on a new database would deadlock in pg-boss's
  // create_queue: one sets the queue up at a time.
  const setup = new pg.Client({ connectionString: options.databaseUrl });
  await setup.connect();
  try {
    await setup.query("SELECT pg_advisory_lock(hashtextextended('cloudless-queue-setup', 0))");
    await boss.start();
    await createQueues(boss);
  } finally {
    await setup.end().catch(() => {});
  }
  return boss;
}

/** Idempotent (pg-boss's create_queue does nothing for an existing queue). */
export async function createQueues(boss: PgBoss) {
  await boss.createQueue(DEAD_LETTER_QUEUE);
  await boss.createQueue(INVOCATION_QUEUE, {
    name: INVOCATION_QUEUE,
    // Exponential with jitter: delay·2^n/2 · (1 + random) seconds (pg-boss failJobs).
    retryBackoff: true,
    retryDelay: 1,
    deadLetter: DEAD_LETTER_QUEUE,
  });
}

/** What pg-boss's `db` option wants: its statements run on our transaction's client. */
export function bossExecutor(client: pg.PoolClient | pg.Pool) {
  return { executeSql: (text: string, values?: unknown[]) => client.query(text, values) };
}

/** Runs `work` in one transaction on a pooled client. */
export async function inTransaction<T>(
  pool: pg.Pool,
  work: (client: pg.PoolClient) => Promise<T>,
): Promise<T> {
  const client = await pool.connect();
  try {
    await client.query("BEGIN");
    const result = await work(client);
    await client.query("COMMIT");
    return result;
  } catch (error) {
    await client.query("ROLLBACK").catch(() => {});
    throw error;
  } finally {
    client.release();
  }
}
