import type { Prisma } from "@prisma/client";
import type { Database } from "../db/client";

/** What the status endpoint and procedures show of an async call: never another user's. */
export const asyncSelect = {
  id: true,
  functionId: true,
  engine: true,
  state: true,
  attempts: true,
  maxAttempts: true,
  scheduleId: true,
  queuedAt: true,
  startedAt: true,
  finishedAt: true,
  lastInvocationId: true,
  versionNumber: true,
  status: true,
  result: true,
  stdout: true,
  stderr: true,
  error: true,
  timeout: true,
  durationMs: true,
  start: true,
  timings: true,
  function: { select: { name: true, handler: true } },
} satisfies Prisma.AsyncInvocationSelect;

export type AsyncRow = Prisma.AsyncInvocationGetPayload<{ select: typeof asyncSelect }>;

/** The fields a sync call answers (status, stdout, result, …) plus the call's state and attempts. */
export function asyncView(row: AsyncRow) {
  return {
    invocationId: row.id,
    state: row.state,
    functionId: row.functionId,
    function: row.function,
    engine: row.engine,
    attempts: row.attempts,
    maxAttempts: row.maxAttempts,
    scheduleId: row.scheduleId,
    queuedAt: row.queuedAt,
    startedAt: row.startedAt,
    finishedAt: row.finishedAt,
    /** The Invocation record of the last attempt that ran (the call log's id). */
    lastInvocationId: row.lastInvocationId,
    version: row.versionNumber,
    status: row.status,
    result: row.result,
    stdout: row.stdout,
    stderr: row.stderr,
    error: row.error,
    timeout: row.timeout,
    durationMs: row.durationMs,
    start: row.start,
    timings: row.timings as {
      queueMs: number;
      startMs: number;
      execMs: number;
      totalMs: number;
      queueWaitMs: number;
    } | null,
  };
}

export type AsyncInvocationView = ReturnType<typeof asyncView>;

export async function findAsyncInvocation(db: Database, userId: string, id: string) {
  const row = await db.asyncInvocation.findFirst({ where: { id, userId }, select: asyncSelect });
  return row ? asyncView(row) : null;
}
