import type { IncomingMessage } from "node:http";
import { ApiKeyCache } from "../auth/api-key-cache";
import { findApiKeyUser } from "../auth/api-keys";
import { findSession } from "../auth/sessions";
import type { Services } from "../services";

/**
 * How long the raw routes trust a key they looked up (a revoke through this
 * server clears it at once; past it, a known-good key still works while the
 * database is unreachable: see ApiKeyCache).
 */
export const API_KEY_CACHE_MS = 10_000;

export interface RequestAuth {
  userId: string | null;
  viaCookie: boolean;
  error?: string;
}

/** Who sent a raw node:http request: an API key (Bearer), or the session cookie. */
export function createRequestAuthenticator(services: Services) {
  const keyCache = new ApiKeyCache(
    async (key) => (await findApiKeyUser(services.db, key))?.id ?? null,
    services.apiKeyEvents,
    API_KEY_CACHE_MS,
  );

  return async function authenticate(req: IncomingMessage): Promise<RequestAuth> {
    const header = req.headers.authorization;
    if (header) {
      const [scheme, key] = header.split(" ", 2);
      if (scheme?.toLowerCase() !== "bearer" || !key) {
        return { userId: null, viaCookie: false, error: "Use Authorization: Bearer <API key>" };
      }
      const userId = await keyCache.userIdFor(key);
      return userId
        ? { userId, viaCookie: false }
        : { userId: null, viaCookie: false, error: "Invalid or revoked API key" };
    }
    const token = await services.sessionCookie.parse(req.headers.cookie ?? null);
    if (typeof token !== "string") return { userId: null, viaCookie: false };
    const session = await findSession(services.db, token);
    return { userId: session?.user.id ?? null, viaCookie: Boolean(session) };
  };
}
