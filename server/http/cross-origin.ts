import type { IncomingHttpHeaders } from "node:http";

const SAFE_METHODS = new Set(["GET", "HEAD", "OPTIONS"]);

/**
 * CSRF protection for every browser form post and tRPC mutation, decided from
 * the headers browsers attach to every request (Fetch Metadata, then Origin),
 * the way Go's http.CrossOriginProtection does: a state-changing request that a
 * browser sent from another site is refused. Requests with neither header come
 * from non-browser clients, which carry no ambient cookies to abuse; API-key
 * requests are not cookie-authenticated at all. See docs/decisions/0003-csrf.md.
 */
export function isCrossOriginRequest(
  method: string,
  headers: IncomingHttpHeaders,
  trustedOrigins: readonly string[],
): boolean {
  if (SAFE_METHODS.has(method.toUpperCase())) return false;
  return isCrossSiteRequest(headers, trustedOrigins);
}

/**
 * Whether a browser sent this request from another site, whatever its method:
 * for requests that act even when they are GETs (a cookie-authenticated
 * function call, see docs/decisions/0011-cross-tenant-access.md).
 */
export function isCrossSiteRequest(
  headers: IncomingHttpHeaders,
  trustedOrigins: readonly string[],
): boolean {
  const fetchSite = headers["sec-fetch-site"];
  if (typeof fetchSite === "string") return fetchSite !== "same-origin" && fetchSite !== "none";
  const origin = headers.origin;
  if (!origin) return false;
  if (origin === "null") return true;
  const host = headers.host;
  try {
    const parsed = new URL(origin);
    if (host && parsed.host === host) return false;
    return !trustedOrigins.includes(parsed.origin);
  } catch {
    return true;
  }
}
