import { type AppLoadContext, redirect } from "@remix-run/node";
import { serverCaller } from "./trpc.server";

/** The signed-in user's caller, or a redirect to /login that comes back here afterwards. */
export async function requireUser(request: Request, context: AppLoadContext) {
  const call = await serverCaller(request, context);
  if (!call.session) {
    const url = new URL(request.url);
    const next = `${url.pathname}${url.search}`;
    throw redirect(`/login?next=${encodeURIComponent(next)}`);
  }
  return { ...call, user: call.session.user, session: call.session };
}

/** Pages for signed-out visitors (login, register) send signed-in users to their dashboard. */
export async function requireAnonymous(request: Request, context: AppLoadContext) {
  const call = await serverCaller(request, context);
  if (call.session) throw redirect("/user");
  return call;
}

/** Only same-site relative paths, so ?next= cannot redirect off-site. */
export function safeNext(value: string | null | undefined, fallback = "/user"): string {
  if (!value?.startsWith("/") || value.startsWith("//") || value.startsWith("/\\")) {
    return fallback;
  }
  return value;
}
