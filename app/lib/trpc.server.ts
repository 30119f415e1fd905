import type { AppLoadContext } from "@remix-run/node";
import { createCaller } from "../../server/root";
import { createContext } from "../../server/trpc";

/**
 * A tRPC caller for a Remix loader or action: the same procedures that
 * programs call over HTTP, with the request's session. `headers` collects
 * Set-Cookie from procedures; pass it on the response.
 */
export async function serverCaller(request: Request, context: AppLoadContext) {
  const headers = new Headers();
  const ctx = await createContext(
    context.services,
    { url: request.url, headers: request.headers, ip: context.clientIp },
    headers,
  );
  return { caller: createCaller(ctx), headers, session: ctx.session };
}
