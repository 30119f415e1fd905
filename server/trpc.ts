import { initTRPC, TRPCError } from "@trpc/server";
import { findApiKeyUser } from "./auth/api-keys";
import { isSecureRequest } from "./auth/cookie";
import { type CurrentSession, findSession, type SessionUser } from "./auth/sessions";
import { startSession } from "./auth/start-session";
import { databaseUnavailableError, isDatabaseUnavailable } from "./db/unavailable";
import { fieldErrorsOf } from "./field-errors";
import type { Services } from "./services";

export interface RequestInfo {
  /** Full request URL, as the browser or client sent it. */
  url: string;
  headers: Headers;
  /** Client address (the socket's, or X-Forwarded-For behind a trusted proxy). */
  ip: string;
}

export interface Context {
  services: Services;
  session: CurrentSession | null;
  /** The owner of the request's API key (`Authorization: Bearer cl_…`), for programs. */
  apiKeyUser: SessionUser | null;
  /** Why the request's credentials were refused (bad or revoked API key). */
  authError: string | null;
  ip: string;
  userAgent: string | null;
  /** Origin for links in emails: BASE_URL when configured, else this request's. */
  origin: string;
  /** Set-Cookie and other headers the procedure wants on the response. */
  resHeaders: Headers;
  /** Starts a session for the user and sets its cookie on the response. */
  signIn(userId: string): Promise<void>;
  clearSessionCookie(): Promise<void>;
}

/** Builds the context from a request: resolves the session cookie to a user. */
export async function createContext(
  services: Services,
  request: RequestInfo,
  resHeaders: Headers,
): Promise<Context> {
  try {
    return await buildContext(services, request, resHeaders);
  } catch (error) {
    // Resolving the session or API key needs the database: without it, 503 (not 500).
    if (isDatabaseUnavailable(error)) throw databaseUnavailableError(error);
    throw error;
  }
}

async function buildContext(
  services: Services,
  request: RequestInfo,
  resHeaders: Headers,
): Promise<Context> {
  const { sessionCookie, config } = services;
  const token = await sessionCookie.parse(request.headers.get("cookie"));
  const session = typeof token === "string" ? await findSession(services.db, token) : null;
  const secure = isSecureRequest(request.url, request.headers, config);
  const { apiKeyUser, authError } = await resolveApiKey(services, request.headers);
  return {
    services,
    session,
    apiKeyUser,
    authError,
    ip: request.ip,
    userAgent: request.headers.get("user-agent"),
    origin: config.baseUrl ?? new URL(request.url).origin,
    resHeaders,
    async signIn(userId) {
      const cookie = await startSession(services, {
        userId,
        userAgent: request.headers.get("user-agent"),
        ip: request.ip,
        secure,
      });
      resHeaders.append("Set-Cookie", cookie);
    },
    async clearSessionCookie() {
      resHeaders.append("Set-Cookie", await sessionCookie.serialize("", { secure, maxAge: 0 }));
    },
  };
}

/** API keys authenticate programs; a bad key is an error, never a silent fallback to anonymous. */
async function resolveApiKey(services: Services, headers: Headers) {
  const header = headers.get("authorization");
  if (!header) return { apiKeyUser: null, authError: null };
  const [scheme, key] = header.split(" ", 2);
  if (scheme?.toLowerCase() !== "bearer" || !key) {
    return { apiKeyUser: null, authError: "Use Authorization: Bearer <API key>" };
  }
  const apiKeyUser = await findApiKeyUser(services.db, key.trim());
  return apiKeyUser
    ? { apiKeyUser, authError: null }
    : { apiKeyUser: null, authError: "Invalid or revoked API key" };
}

const t = initTRPC.context<Context>().create({
  // Never send stack traces to clients, whatever NODE_ENV says.
  isDev: false,
  errorFormatter({ shape, error }) {
    return {
      ...shape,
      // An unexpected failure's own message can carry internals (Prisma quotes the
      // failing call, drivers name hosts and ports): clients get a fixed sentence,
      // the log gets the real error (see the HTTP server's onError).
      message:
        error.code === "INTERNAL_SERVER_ERROR"
          ? "Something went wrong on our side. Try again in a moment."
          : shape.message,
      data: {
        ...shape.data,
        // Field errors keyed by field, for forms and clients: from zod input
        // validation, or from a service refusal that names its field.
        fieldErrors: fieldErrorsOf(error.cause),
      },
    };
  },
});

export const router = t.router;
export const createCallerFactory = t.createCallerFactory;
/** Every procedure: an unreachable database is a 503 with a sentence, not a 500. */
export const publicProcedure = t.procedure.use(async ({ next }) => {
  const result = await next();
  if (
    !result.ok &&
    result.error.code === "INTERNAL_SERVER_ERROR" &&
    isDatabaseUnavailable(result.error.cause)
  ) {
    throw databaseUnavailableError(result.error.cause);
  }
  return result;
});

/** Requires a user, signed in by session cookie or API key; narrows `ctx.user`. */
export const protectedProcedure = publicProcedure.use(({ ctx, next }) => {
  if (ctx.authError) throw new TRPCError({ code: "UNAUTHORIZED", message: ctx.authError });
  const user = ctx.session?.user ?? ctx.apiKeyUser;
  if (!user) throw new TRPCError({ code: "UNAUTHORIZED", message: "Sign in first." });
  return next({ ctx: { ...ctx, user } });
});

/** Requires a browser session (managing sessions is not something an API key may do). */
export const sessionProcedure = publicProcedure.use(({ ctx, next }) => {
  if (!ctx.session) {
    throw new TRPCError({ code: "UNAUTHORIZED", message: "Sign in with a browser session first." });
  }
  return next({ ctx: { ...ctx, session: ctx.session, user: ctx.session.user } });
});
