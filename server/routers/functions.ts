import { TRPCError } from "@trpc/server";
import { z } from "zod";
import {
  codeUploadSchema,
  createFunctionSchema,
  functionNameSchema,
  updateSettingsSchema,
} from "../functions/schemas";
import {
  createFunction,
  deleteFunction,
  FunctionError,
  type FunctionErrorCode,
  getCode,
  getFunction,
  getFunctionByName,
  listFunctions,
  listVersions,
  rollback,
  updateSettings,
  uploadVersion,
} from "../functions/service";
import { CheckerUnavailableError } from "../functions/syntax-check";
import { StorageError } from "../storage/code-store";
import { type Context, protectedProcedure, router } from "../trpc";

const idInput = z.object({ id: z.string().min(1).max(64) });

const CODES: Record<FunctionErrorCode, TRPCError["code"]> = {
  NOT_FOUND: "NOT_FOUND",
  CONFLICT: "CONFLICT",
  BAD_REQUEST: "BAD_REQUEST",
  PAYLOAD_TOO_LARGE: "PAYLOAD_TOO_LARGE",
};

/** Expected refusals become tRPC errors here, at the edge. */
async function edge<T>(work: () => Promise<T>): Promise<T> {
  try {
    return await work();
  } catch (error) {
    if (error instanceof FunctionError) {
      throw new TRPCError({ code: CODES[error.code], message: error.message, cause: error });
    }
    if (error instanceof StorageError || error instanceof CheckerUnavailableError) {
      throw new TRPCError({ code: "SERVICE_UNAVAILABLE", message: error.message, cause: error });
    }
    throw error;
  }
}

function deps(ctx: Context) {
  const { db, codeStore, config, functionEvents } = ctx.services;
  return { db, codeStore, config: config.functions, events: functionEvents };
}

export const functionsRouter = router({
  /** With each function's runtime version, calls so far and last call time. */
  list: protectedProcedure.query(({ ctx }) =>
    listFunctions(ctx.services.db, ctx.services.config, ctx.user.id),
  ),

  get: protectedProcedure
    .input(idInput)
    .query(({ ctx, input }) => edge(() => getFunction(ctx.services.db, ctx.user.id, input.id))),

  getByName: protectedProcedure
    .input(z.object({ name: functionNameSchema }))
    .query(({ ctx, input }) =>
      edge(() => getFunctionByName(ctx.services.db, ctx.user.id, input.name)),
    ),

  create: protectedProcedure
    .input(createFunctionSchema)
    .mutation(({ ctx, input }) => edge(() => createFunction(deps(ctx), ctx.user.id, input))),

  updateSettings: protectedProcedure
    .input(idInput.extend({ settings: updateSettingsSchema }))
    .mutation(({ ctx, input }) =>
      edge(() => updateSettings(deps(ctx), ctx.user.id, input.id, input.settings)),
    ),

  /** New code, and optionally new settings with it (a deploy): both apply, or neither. */
  uploadCode: protectedProcedure
    .input(
      idInput.extend(codeUploadSchema.shape).extend({ settings: updateSettingsSchema.optional() }),
    )
    .mutation(({ ctx, input }) =>
      edge(() => uploadVersion(deps(ctx), ctx.user.id, input.id, input)),
    ),

  listVersions: protectedProcedure
    .input(idInput)
    .query(({ ctx, input }) => edge(() => listVersions(ctx.services.db, ctx.user.id, input.id))),

  rollback: protectedProcedure
    .input(idInput.extend({ version: z.number().int().min(1) }))
    .mutation(({ ctx, input }) =>
      edge(() => rollback(deps(ctx), ctx.user.id, input.id, input.version)),
    ),

  getCode: protectedProcedure
    .input(idInput.extend({ version: z.number().int().min(1).optional() }))
    .query(({ ctx, input }) =>
      edge(() => getCode(deps(ctx), ctx.user.id, input.id, input.version)),
    ),

  delete: protectedProcedure
    .input(idInput)
    .mutation(({ ctx, input }) => edge(() => deleteFunction(deps(ctx), ctx.user.id, input.id))),
});
