import type { Prisma } from "@prisma/client";
import { TRPCError } from "@trpc/server";
import { z } from "zod";
import { findAsyncInvocation } from "../async/view";
import { callCounts, latencyPercentiles, latencySeries } from "../invocations/stats";
import { protectedProcedure, router } from "../trpc";

const DAY_MS = 86_400_000;

const rangeInput = z
  .object({
    from: z.coerce.date().optional(),
    to: z.coerce.date().optional(),
    functionId: z.string().min(1).max(64).optional(),
  })
  .refine((r) => !r.from || !r.to || r.from < r.to, { message: "from must be before to" })
  .refine((r) => !r.from || !r.to || r.to.getTime() - r.from.getTime() <= 366 * DAY_MS, {
    message: "At most a year at a time",
  });

function range(userId: string, input: z.infer<typeof rangeInput>) {
  const to = input.to ?? new Date();
  return {
    userId,
    from: input.from ?? new Date(to.getTime() - DAY_MS),
    to,
    functionId: input.functionId,
  };
}

/** A call as lists show it: never another user's (every query is scoped by userId). */
const listSelect = {
  id: true,
  functionId: true,
  versionNumber: true,
  engine: true,
  start: true,
  /** Nanos: whether the call's instance was booted or restored from a snapshot. */
  bootMode: true,
  status: true,
  timeout: true,
  error: true,
  durationMs: true,
  totalMs: true,
  /** Run from the queue (async call or schedule), with its enqueue → start wait. */
  async: true,
  queueWaitMs: true,
  asyncId: true,
  createdAt: true,
  function: { select: { name: true, handler: true } },
} satisfies Prisma.InvocationSelect;

/** A call with its timing breakdown and recorded output, for a function's log. */
const logSelect = {
  ...listSelect,
  queueMs: true,
  startMs: true,
  execMs: true,
  stdout: true,
  stderr: true,
} satisfies Prisma.InvocationSelect;

export const invocationsRouter = router({
  /** Functions, calls and error rate over the last 24 hours, and the engines' state. */
  summary: protectedProcedure.query(async ({ ctx }) => {
    const { db, runners } = ctx.services;
    const [functions, counts, queue] = await Promise.all([
      db.function.count({ where: { userId: ctx.user.id } }),
      callCounts(db, range(ctx.user.id, {})),
      ctx.services.asyncCalls.counts(ctx.user.id),
    ]);
    const stats = runners.stats();
    return {
      functions,
      calls24h: counts.calls,
      errors24h: counts.errors,
      errorRate24h: counts.calls === 0 ? 0 : counts.errors / counts.calls,
      /** Async calls now queued or running, and those that ended dead (all time). */
      async: queue,
      engines: (["docker", "nanos"] as const).map((engine) => ({
        engine,
        status: runners.engineStatus(engine),
        runtimes: stats.instances.filter((r) => r.engine === engine),
      })),
    };
  }),

  /** Newest calls first, paged by cursor (the last id of the previous page). */
  list: protectedProcedure
    .input(
      z.object({
        functionId: z.string().min(1).max(64).optional(),
        limit: z.number().int().min(1).max(100).default(20),
        cursor: z.string().min(1).max(64).optional(),
      }),
    )
    .query(async ({ ctx, input }) => {
      const rows = await ctx.services.db.invocation.findMany({
        where: {
          userId: ctx.user.id,
          ...(input.functionId ? { functionId: input.functionId } : {}),
        },
        orderBy: [{ createdAt: "desc" }, { id: "desc" }],
        take: input.limit + 1,
        ...(input.cursor ? { cursor: { id: input.cursor }, skip: 1 } : {}),
        select: listSelect,
      });
      const more = rows.length > input.limit;
      const items = more ? rows.slice(0, input.limit) : rows;
      return { items, nextCursor: more ? items[items.length - 1]!.id : null };
    }),

  /**
   * One function's newest calls with their recorded output (a few KiB per
   * stream, see RECORDED_OUTPUT_CHARS), paged like `list`: the function page's log.
   */
  logs: protectedProcedure
    .input(
      z.object({
        functionId: z.string().min(1).max(64),
        limit: z.number().int().min(1).max(50).default(10),
        cursor: z.string().min(1).max(64).optional(),
      }),
    )
    .query(async ({ ctx, input }) => {
      const rows = await ctx.services.db.invocation.findMany({
        where: { userId: ctx.user.id, functionId: input.functionId },
        orderBy: [{ createdAt: "desc" }, { id: "desc" }],
        take: input.limit + 1,
        ...(input.cursor ? { cursor: { id: input.cursor }, skip: 1 } : {}),
        select: logSelect,
      });
      const more = rows.length > input.limit;
      const items = more ? rows.slice(0, input.limit) : rows;
      return { items, nextCursor: more ? items[items.length - 1]!.id : null };
    }),

  /** One call with its (recorded) output. */
  get: protectedProcedure
    .input(z.object({ id: z.string().min(1).max(64) }))
    .query(async ({ ctx, input }) => {
      const row = await ctx.services.db.invocation.findFirst({
        where: { id: input.id, userId: ctx.user.id },
        select: logSelect,
      });
      if (!row) throw new TRPCError({ code: "NOT_FOUND", message: "No such call." });
      return row;
    }),

  /** An async call: state, attempts, timestamps and the last outcome (as GET /api/invocations/{id}). */
  getAsync: protectedProcedure
    .input(z.object({ id: z.string().min(1).max(64) }))
    .query(async ({ ctx, input }) => {
      const view = await findAsyncInvocation(ctx.services.db, ctx.user.id, input.id);
      if (!view) throw new TRPCError({ code: "NOT_FOUND", message: "No such async call." });
      return view;
    }),

  percentiles: protectedProcedure
    .input(rangeInput)
    .query(({ ctx, input }) => latencyPercentiles(ctx.services.db, range(ctx.user.id, input))),

  series: protectedProcedure
    .input(rangeInput.and(z.object({ buckets: z.number().int().min(2).max(500).default(60) })))
    .query(({ ctx, input }) =>
      latencySeries(ctx.services.db, range(ctx.user.id, input), input.buckets),
    ),
});
