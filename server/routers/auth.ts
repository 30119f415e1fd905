import { TRPCError } from "@trpc/server";
import { z } from "zod";
import {
  AuthError,
  type AuthErrorCode,
  authenticate,
  checkToken,
  register,
  requestPasswordReset,
  resendVerification,
  resetPassword,
  verifyEmail,
} from "../auth/accounts";
import { RateLimitError } from "../auth/rate-limit";
import {
  emailOnlySchema,
  loginSchema,
  registerSchema,
  resetPasswordSchema,
  tokenSchema,
} from "../auth/schemas";
import { deleteSession, deleteUserSessions } from "../auth/sessions";
import { MailDeliveryError } from "../mail/mailer";
import { type Context, publicProcedure, router, sessionProcedure } from "../trpc";

const AUTH_ERROR_CODE: Record<AuthErrorCode, TRPCError["code"]> = {
  INVALID_CREDENTIALS: "UNAUTHORIZED",
  EMAIL_NOT_VERIFIED: "FORBIDDEN",
  TOKEN_INVALID: "BAD_REQUEST",
  TOKEN_EXPIRED: "BAD_REQUEST",
  TOKEN_USED: "BAD_REQUEST",
  OAUTH_EMAIL_UNVERIFIED: "FORBIDDEN",
};

/** Turns the expected refusals of the auth services into tRPC errors at the edge. */
async function edge<T>(work: () => Promise<T>): Promise<T> {
  try {
    return await work();
  } catch (error) {
    if (error instanceof AuthError) {
      throw new TRPCError({
        code: AUTH_ERROR_CODE[error.code],
        message: error.message,
        cause: error,
      });
    }
    if (error instanceof RateLimitError) {
      throw new TRPCError({ code: "TOO_MANY_REQUESTS", message: error.message, cause: error });
    }
    if (error instanceof MailDeliveryError) {
      // Whatever was stored stays (an unverified account can ask for a new link later);
      // the provider's reason is for the log, not the visitor.
      throw new TRPCError({
        code: "SERVICE_UNAVAILABLE",
        message: "We could not send the email just now. Try again in a few minutes.",
        cause: error,
      });
    }
    throw error;
  }
}

function deps(ctx: Context) {
  return { db: ctx.services.db, mailer: ctx.services.mailer, origin: ctx.origin };
}

const SAME_ANSWER = "If an account exists for that address, we have sent it an email.";

export const authRouter = router({
  // The caller, signed in by session or API key (programs use it to learn their user id).
  me: publicProcedure.query(({ ctx }) => ctx.session?.user ?? ctx.apiKeyUser ?? null),

  providers: publicProcedure.query(({ ctx }) => ({
    github: Boolean(ctx.services.config.oauth.github),
    google: Boolean(ctx.services.config.oauth.google),
  })),

  register: publicProcedure.input(registerSchema).mutation(({ ctx, input }) =>
    edge(async () => {
      await ctx.services.rateLimiter.consume("register", ctx.ip, input.email);
      await register(deps(ctx), input);
      return {
        message: `We sent a verification link to ${input.email}. Open it to finish creating your account.`,
      };
    }),
  ),

  resendVerification: publicProcedure.input(emailOnlySchema).mutation(({ ctx, input }) =>
    edge(async () => {
      await ctx.services.rateLimiter.consume("resend", ctx.ip, input.email);
      await resendVerification(deps(ctx), input.email);
      return { message: SAME_ANSWER };
    }),
  ),

  verifyEmail: publicProcedure.input(z.object({ token: tokenSchema })).mutation(({ ctx, input }) =>
    edge(async () => {
      const user = await verifyEmail(ctx.services.db, input.token);
      return { email: user.email };
    }),
  ),

  login: publicProcedure.input(loginSchema).mutation(({ ctx, input }) =>
    edge(async () => {
      const limiter = ctx.services.rateLimiter;
      await limiter.consume("login", ctx.ip, input.email);
      const user = await authenticate(ctx.services.db, input);
      await limiter.reset("login", input.email);
      await ctx.signIn(user.id);
      return { user };
    }),
  ),

  logout: publicProcedure.mutation(async ({ ctx }) => {
    if (ctx.session) await deleteSession(ctx.services.db, ctx.session.id);
    await ctx.clearSessionCookie();
    return { ok: true as const };
  }),

  requestPasswordReset: publicProcedure.input(emailOnlySchema).mutation(({ ctx, input }) =>
    edge(async () => {
      await ctx.services.rateLimiter.consume("reset", ctx.ip, input.email);
      await requestPasswordReset(deps(ctx), input.email);
      return { message: SAME_ANSWER };
    }),
  ),

  checkResetToken: publicProcedure.input(z.object({ token: tokenSchema })).query(({ ctx, input }) =>
    edge(async () => {
      await checkToken(ctx.services.db, input.token, "RESET_PASSWORD");
      return { ok: true as const };
    }),
  ),

  resetPassword: publicProcedure.input(resetPasswordSchema).mutation(({ ctx, input }) =>
    edge(async () => {
      await ctx.services.rateLimiter.consume("reset", ctx.ip);
      const user = await resetPassword(ctx.services.db, input);
      // The link proved the mailbox: a login flood against this address (which
      // locks it from every IP for the window) no longer holds its owner out.
      await ctx.services.rateLimiter.reset("login", user.email);
      // Every session ended, this browser's included: it logs in with the new password.
      await ctx.clearSessionCookie();
      return { email: user.email };
    }),
  ),

  listSessions: sessionProcedure.query(async ({ ctx }) => {
    const sessions = await ctx.services.db.session.findMany({
      where: { userId: ctx.user.id, expiresAt: { gt: new Date() } },
      select: {
        id: true,
        createdAt: true,
        lastSeenAt: true,
        userAgent: true,
        ip: true,
        expiresAt: true,
      },
      orderBy: { lastSeenAt: "desc" },
    });
    return sessions.map((s) => ({ ...s, current: s.id === ctx.session.id }));
  }),

  revokeSession: sessionProcedure
    .input(z.object({ id: z.string().min(1).max(100) }))
    .mutation(async ({ ctx, input }) => {
      // Scoped to the caller's own sessions: another user's id simply matches nothing.
      const { count } = await ctx.services.db.session.deleteMany({
        where: { id: input.id, userId: ctx.user.id },
      });
      if (count === 0) throw new TRPCError({ code: "NOT_FOUND", message: "No such session." });
      if (input.id === ctx.session.id) await ctx.clearSessionCookie();
      return { ok: true as const };
    }),

  revokeOtherSessions: sessionProcedure.mutation(async ({ ctx }) => {
    const count = await deleteUserSessions(ctx.services.db, ctx.user.id, {
      except: ctx.session.id,
    });
    return { revoked: count };
  }),
});
