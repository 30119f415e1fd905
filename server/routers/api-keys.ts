import { TRPCError } from "@trpc/server";
import { z } from "zod";
import { apiKeySelect, createApiKey } from "../auth/api-keys";
import { protectedProcedure, router, sessionProcedure } from "../trpc";

export const apiKeyNameSchema = z
  .string({ error: "Name the key" })
  .trim()
  .min(1, "Name the key")
  .max(100, "Names are at most 100 characters");

export const apiKeysRouter = router({
  list: protectedProcedure.query(({ ctx }) =>
    ctx.services.db.apiKey.findMany({
      where: { userId: ctx.user.id },
      select: apiKeySelect,
      orderBy: { createdAt: "desc" },
    }),
  ),

  /**
   * The secret is in this answer only; afterwards just its prefix is shown.
   * Creating and revoking keys needs a browser session: a leaked key must not
   * be able to mint a replacement that outlives its own revocation, nor
   * revoke the owner's other keys.
   */
  create: sessionProcedure
    .input(z.object({ name: apiKeyNameSchema }))
    .mutation(({ ctx, input }) => createApiKey(ctx.services.db, ctx.user.id, input.name)),

  revoke: sessionProcedure
    .input(z.object({ id: z.string().min(1).max(64) }))
    .mutation(async ({ ctx, input }) => {
      const { count } = await ctx.services.db.apiKey.deleteMany({
        where: { id: input.id, userId: ctx.user.id },
      });
      if (count === 0) throw new TRPCError({ code: "NOT_FOUND", message: "No such API key." });
      ctx.services.apiKeyEvents.emit("revoked", input.id);
      return { ok: true as const };
    }),
});
