import type { IncomingMessage } from "node:http";
import { findApiKeyUser } from "../auth/api-keys";
import { findSession } from "../auth/sessions";
import type { Services } from "../services";

// API key → user id, briefly: a warm call should not wait on the database for auth.
const API_KEY_CACHE_MS = 10_000;

export interface RequestAuth {
  userId: string | null;
  viaCookie: boolean;
  error?: string;
}

/** Who sent a raw node:http request: an API key (Bearer), or the session cookie. */
export function createRequestAuthenticator(services: Services) {
  const keyCache = new Map<string, { userId: string | null; until: number }>();
  services.apiKeyEvents.on("revoked", () => keyCache.clear());

  return async function authenticate(req: IncomingMessage): Promise<RequestAuth> {
    const header = req.headers.authorization;
    if (header) {
      const [scheme, key] = header.split(" ", 2);
      if (scheme?.toLowerCase() !== "bearer" || !key) {
        return { userId: null, viaCookie: false, error: "Use Authorization: Bearer <API key>" };
      }
      const cached = keyCache.get(key);
      if (cached && cached.until > Date.now()) {
        return cached.userId
          ? { userId: cached.userId, viaCookie: false }
          : { userId: null, viaCookie: false, error: "Invalid or revoked API key" };
      }
      const user = await findApiKeyUser(services.db, key);
      keyCache.set(key, { userId: user?.id ?? null, until: Date.now() + API_KEY_CACHE_MS });
      if (keyCache.size > 10_000) keyCache.clear();
      return user
        ? { userId: user.id, viaCookie: false }
        : { userId: null, viaCookie: false, error: "Invalid or revoked API key" };
    }
    const token = await services.sessionCookie.parse(req.headers.cookie ?? null);
    if (typeof token !== "string") return { userId: null, viaCookie: false };
    const session = await findSession(services.db, token);
    return { userId: session?.user.id ?? null, viaCookie: Boolean(session) };
  };
}
