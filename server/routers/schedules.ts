import type { Prisma } from "@prisma/client";
import { TRPCError } from "@trpc/server";
import { z } from "zod";
import { checkCron } from "../async/cron";
import { scheduleInputSchema } from "../async/schedule-schemas";
import { type Context, protectedProcedure, router } from "../trpc";

const idInput = z.object({ id: z.string().min(1).max(64) });

const scheduleSelect = {
  id: true,
  functionId: true,
  cron: true,
  timezone: true,
  event: true,
  engine: true,
  enabled: true,
  createdAt: true,
  updatedAt: true,
} satisfies Prisma.ScheduleSelect;

/** The function must be the caller's: other users' ids are "not found". */
async function ownFunction(ctx: Context & { user: { id: string } }, functionId: string) {
  const fn = await ctx.services.db.function.findFirst({
    where: { id: functionId, userId: ctx.user.id },
    select: { id: true },
  });
  if (!fn) throw new TRPCError({ code: "NOT_FOUND", message: "No such function." });
}

async function ownSchedule(ctx: Context & { user: { id: string } }, id: string) {
  const row = await ctx.services.db.schedule.findFirst({
    where: { id, userId: ctx.user.id },
    select: { id: true, functionId: true },
  });
  if (!row) throw new TRPCError({ code: "NOT_FOUND", message: "No such schedule." });
  return row;
}

export const schedulesRouter = router({
  /** A function's schedules with their next three runs and the last run's outcome. */
  list: protectedProcedure
    .input(z.object({ functionId: z.string().min(1).max(64) }))
    .query(async ({ ctx, input }) => {
      await ownFunction(ctx, input.functionId);
      const { db } = ctx.services;
      const rows = await db.schedule.findMany({
        where: { functionId: input.functionId, userId: ctx.user.id },
        orderBy: { createdAt: "asc" },
        select: scheduleSelect,
      });
      return Promise.all(
        rows.map(async (row) => {
          const check = checkCron(row.cron, row.timezone);
          const [lastRun, runs] = await Promise.all([
            db.asyncInvocation.findFirst({
              where: { scheduleId: row.id },
              orderBy: { tickAt: "desc" },
              select: {
                id: true,
                state: true,
                status: true,
                tickAt: true,
                finishedAt: true,
                lastInvocationId: true,
              },
            }),
            db.asyncInvocation.count({ where: { scheduleId: row.id } }),
          ]);
          return {
            ...row,
            nextRuns: row.enabled && check.ok ? check.nextRuns : [],
            lastRun,
            runs,
          };
        }),
      );
    }),

  create: protectedProcedure.input(scheduleInputSchema).mutation(async ({ ctx, input }) => {
    await ownFunction(ctx, input.functionId);
    const limit = ctx.services.config.invocations.maxBodyBytes;
    if (Buffer.byteLength(JSON.stringify(input.event)) > limit) {
      throw new TRPCError({
        code: "PAYLOAD_TOO_LARGE",
        message: `The event is over ${limit} bytes`,
      });
    }
    const row = await ctx.services.db.schedule.create({
      data: {
        functionId: input.functionId,
        userId: ctx.user.id,
        cron: input.cron.split(/\s+/).join(" "),
        timezone: input.timezone,
        event: input.event as Prisma.InputJsonValue,
        engine: input.engine,
        enabled: input.enabled,
      },
      select: scheduleSelect,
    });
    await ctx.services.asyncCalls.schedulesChanged(input.functionId);
    return row;
  }),

  /** Pause (false) or resume (true). */
  setEnabled: protectedProcedure
    .input(idInput.extend({ enabled: z.boolean() }))
    .mutation(async ({ ctx, input }) => {
      const own = await ownSchedule(ctx, input.id);
      const row = await ctx.services.db.schedule.update({
        where: { id: own.id },
        data: { enabled: input.enabled },
        select: scheduleSelect,
      });
      await ctx.services.asyncCalls.schedulesChanged(own.functionId);
      return row;
    }),

  delete: protectedProcedure.input(idInput).mutation(async ({ ctx, input }) => {
    const own = await ownSchedule(ctx, input.id);
    await ctx.services.db.schedule.delete({ where: { id: own.id } });
    await ctx.services.asyncCalls.schedulesChanged(own.functionId);
    return { id: own.id };
  }),
});
