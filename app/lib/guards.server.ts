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

const NEXT_BASE = "http://next.invalid";

/**
 * Only same-site relative paths, so ?next= cannot redirect off-site. The value
 * is read the way a browser reads a Location header (tabs and newlines
 * dropped, backslashes as slashes), so "/\t/evil.com" or "/\\evil.com" cannot
 * turn into "//evil.com"; what comes back is that normalised path (with no
 * character a header cannot hold).
 */
export function safeNext(value: string | null | undefined, fallback = "/user"): string {
  if (!value?.startsWith("/")) return fallback;
  let url: URL;
  try {
    url = new URL(value, NEXT_BASE);
  } catch {
    return fallback;
  }
  // The normalised path itself must not read as "//host" ("/..//evil.com" becomes that).
  if (url.origin !== NEXT_BASE || url.pathname.startsWith("//")) return fallback;
  return `${url.pathname}${url.search}${url.hash}`;
}
