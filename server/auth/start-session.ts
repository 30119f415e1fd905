import type { Database } from "../db/client";
import type { SessionCookie } from "./cookie";
import { createSession } from "./sessions";

export interface StartSessionDeps {
  db: Database;
  sessionCookie: SessionCookie;
  config: { sessionTtlDays: number };
}

/**
 * Signs a user in: a new session row and the Set-Cookie header carrying its
 * token. Password login (through the tRPC context) and OAuth both come here,
 * so every way in makes the same session and the same cookie.
 */
export async function startSession(
  deps: StartSessionDeps,
  input: { userId: string; userAgent: string | null; ip: string | null; secure: boolean },
): Promise<string> {
  const { token } = await createSession(deps.db, {
    userId: input.userId,
    ttlDays: deps.config.sessionTtlDays,
    userAgent: input.userAgent,
    ip: input.ip,
  });
  return deps.sessionCookie.serialize(token, { secure: input.secure });
}
