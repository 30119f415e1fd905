import type { Database } from "../db/client";
import { hashToken, randomToken } from "./tokens";

/** Fields of a user that any signed-in code may see; never the password hash. */
export const sessionUserSelect = {
  id: true,
  email: true,
  name: true,
  emailVerifiedAt: true,
  createdAt: true,
} as const;

export interface SessionUser {
  id: string;
  email: string;
  name: string;
  emailVerifiedAt: Date | null;
  createdAt: Date;
}

export interface CurrentSession {
  id: string;
  user: SessionUser;
}

// lastSeenAt is refreshed at most this often, so reads do not become writes.
const TOUCH_INTERVAL_MS = 5 * 60_000;

export async function createSession(
  db: Database,
  input: { userId: string; ttlDays: number; userAgent?: string | null; ip?: string | null },
): Promise<{ token: string; expiresAt: Date }> {
  const token = randomToken();
  const expiresAt = new Date(Date.now() + input.ttlDays * 86_400_000);
  await db.session.create({
    data: {
      tokenHash: hashToken(token),
      userId: input.userId,
      expiresAt,
      userAgent: input.userAgent?.slice(0, 300) ?? null,
      ip: input.ip?.slice(0, 64) ?? null,
    },
  });
  return { token, expiresAt };
}

/** The session for a cookie token, or null when unknown, expired or malformed. */
export async function findSession(db: Database, token: string): Promise<CurrentSession | null> {
  if (!/^[A-Za-z0-9_-]{20,100}$/.test(token)) return null;
  const session = await db.session.findUnique({
    where: { tokenHash: hashToken(token) },
    select: { id: true, expiresAt: true, lastSeenAt: true, user: { select: sessionUserSelect } },
  });
  if (!session) return null;
  if (session.expiresAt.getTime() <= Date.now()) {
    await db.session.deleteMany({ where: { id: session.id } });
    return null;
  }
  if (Date.now() - session.lastSeenAt.getTime() > TOUCH_INTERVAL_MS) {
    await db.session.updateMany({ where: { id: session.id }, data: { lastSeenAt: new Date() } });
  }
  return { id: session.id, user: session.user };
}

export async function deleteSession(db: Database, sessionId: string): Promise<void> {
  await db.session.deleteMany({ where: { id: sessionId } });
}

export async function deleteUserSessions(
  db: Database,
  userId: string,
  options: { except?: string } = {},
): Promise<number> {
  const result = await db.session.deleteMany({
    where: { userId, ...(options.except ? { id: { not: options.except } } : {}) },
  });
  return result.count;
}
