import { createCookie } from "@remix-run/node";

/** Long enough for a provider login with two-factor, short enough to be worthless later. */
export const FLOW_TTL_SECONDS = 10 * 60;

/**
 * remix-auth-oauth2 keeps state and PKCE verifier in a cookie named
 * `<name>:<random id>` (one per attempt, so several tabs can sign in at
 * once). Scoped to /auth/<provider>, the browser sends it only to that
 * provider's start and callback URLs, not with every page.
 */
export function stateCookieOptions(provider: string, secure: boolean) {
  return {
    name: `cl_oauth_${provider}`,
    path: `/auth/${provider}`,
    httpOnly: true as const,
    sameSite: "Lax" as const,
    maxAge: FLOW_TTL_SECONDS,
    // The library's cookie type takes `secure: true` or nothing.
    ...(secure ? { secure: true as const } : {}),
  };
}

/**
 * Set-Cookie headers that delete the state cookie(s) holding `state`: a state
 * is good for one callback, whatever its outcome. Other attempts (other tabs)
 * keep theirs. The library never deletes them itself.
 */
export function expireStateCookies(
  provider: string,
  cookieHeader: string | null,
  state: string,
  secure: boolean,
): string[] {
  const { name, path } = stateCookieOptions(provider, secure);
  const expired: string[] = [];
  for (const pair of (cookieHeader ?? "").split(";")) {
    const eq = pair.indexOf("=");
    if (eq < 0) continue;
    const cookieName = pair.slice(0, eq).trim();
    if (!cookieName.startsWith(`${name}:`)) continue;
    const value = pair
      .slice(eq + 1)
      .trim()
      .replace(/^"|"$/g, "");
    if (new URLSearchParams(value).get("state") !== state) continue;
    expired.push(
      `${cookieName}=; Path=${path}; Max-Age=0; HttpOnly; SameSite=Lax${secure ? "; Secure" : ""}`,
    );
  }
  return expired;
}

/**
 * Where to go after signing in, remembered across the trip to the provider.
 * Signed, so nobody can plant a destination in someone else's browser.
 */
export function createNextCookie(secret: string) {
  return createCookie("cl_oauth_next", {
    httpOnly: true,
    sameSite: "lax",
    path: "/auth",
    maxAge: FLOW_TTL_SECONDS,
    secrets: [secret],
  });
}
