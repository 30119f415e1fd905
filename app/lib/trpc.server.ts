import type { AppLoadContext } from "@remix-run/node";
import { TRPCError } from "@trpc/server";

/**
 * A tRPC caller for a Remix loader or action: the same procedures that
 * programs call over HTTP, with the request's session. `headers` collects
 * Set-Cookie from procedures; pass it on the response. The caller comes from
 * the server process through the load context (see server/http/load-context.ts).
 */
export async function serverCaller(request: Request, context: AppLoadContext) {
  const headers = new Headers();
  const ctx = await context.api
    .createContext(
      context.services,
      { url: request.url, headers: request.headers, ip: context.clientIp },
      headers,
    )
    .catch((error: unknown) => {
      // The database is down: the error page says so, with 503 rather than 500.
      if (error instanceof TRPCError && error.code === "SERVICE_UNAVAILABLE") {
        throw new Response(error.message, { status: 503, statusText: error.message });
      }
      throw error;
    });
  return { caller: context.api.createCaller(ctx), headers, session: ctx.session };
}
