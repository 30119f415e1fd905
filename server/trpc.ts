import { initTRPC, TRPCError } from "@trpc/server";
import { ZodError, z } from "zod";
import { isSecureRequest } from "./auth/cookie";
import { type CurrentSession, findSession } from "./auth/sessions";
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
  ip: string;
  userAgent: string | null;
  /** Origin for links in emails: BASE_URL when configured, else this request's. */
  origin: string;
  /** Set-Cookie and other headers the procedure wants on the response. */
  resHeaders: Headers;
  setSessionCookie(token: string): Promise<void>;
  clearSessionCookie(): Promise<void>;
}

/** Builds the context from a request: resolves the session cookie to a user. */
export async function createContext(
  services: Services,
  request: RequestInfo,
  resHeaders: Headers,
): Promise<Context> {
  const { sessionCookie, config } = services;
  const token = await sessionCookie.parse(request.headers.get("cookie"));
  const session = typeof token === "string" ? await findSession(services.db, token) : null;
  const secure = isSecureRequest(request.url, request.headers, config.trustProxy);
  return {
    services,
    session,
    ip: request.ip,
    userAgent: request.headers.get("user-agent"),
    origin: config.baseUrl ?? new URL(request.url).origin,
    resHeaders,
    async setSessionCookie(value) {
      resHeaders.append("Set-Cookie", await sessionCookie.serialize(value, { secure }));
    },
    async clearSessionCookie() {
      resHeaders.append("Set-Cookie", await sessionCookie.serialize("", { secure, maxAge: 0 }));
    },
  };
}

const t = initTRPC.context<Context>().create({
  // Never send stack traces to clients, whatever NODE_ENV says.
  isDev: false,
  errorFormatter({ shape, error }) {
    return {
      ...shape,
      data: {
        ...shape.data,
        // Field errors from zod input validation, keyed by field, for forms and clients.
        fieldErrors:
          error.cause instanceof ZodError ? z.flattenError(error.cause).fieldErrors : undefined,
      },
    };
  },
});

export const router = t.router;
export const createCallerFactory = t.createCallerFactory;
export const publicProcedure = t.procedure;

/** Requires a signed-in user; narrows `ctx.session` and adds `ctx.user`. */
export const protectedProcedure = t.procedure.use(({ ctx, next }) => {
  if (!ctx.session) throw new TRPCError({ code: "UNAUTHORIZED", message: "Sign in first." });
  return next({ ctx: { ...ctx, session: ctx.session, user: ctx.session.user } });
});
