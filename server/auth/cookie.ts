import { createCookie } from "@remix-run/node";

export const SESSION_COOKIE = "cl_session";

/**
 * The session cookie holds only the random session token, signed with the
 * session secret so a tampered value is rejected before any database lookup.
 */
export function createSessionCookie(options: { secret: string; ttlDays: number }) {
  return createCookie(SESSION_COOKIE, {
    httpOnly: true,
    sameSite: "lax",
    path: "/",
    secrets: [options.secret],
    maxAge: options.ttlDays * 86_400,
  });
}

export type SessionCookie = ReturnType<typeof createSessionCookie>;

/**
 * Secure when the browser reached us over https: directly, through a trusted
 * proxy, or because the public BASE_URL is https (a TLS-terminating proxy that
 * does not send X-Forwarded-Proto still serves the site over https).
 */
export function isSecureRequest(
  url: string,
  headers: Headers,
  config: { trustProxy: boolean; baseUrl?: string },
): boolean {
  if (url.startsWith("https:") || config.baseUrl?.startsWith("https:")) return true;
  return config.trustProxy && headers.get("x-forwarded-proto")?.split(",")[0]?.trim() === "https";
}
