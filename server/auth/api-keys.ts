import { randomBytes, timingSafeEqual } from "node:crypto";
import type { Prisma } from "@prisma/client";
import type { Database } from "../db/client";
import { type SessionUser, sessionUserSelect } from "./sessions";
import { hashToken, randomToken } from "./tokens";

/**
 * API keys look like `cl_<prefix>_<secret>`. The prefix (public, unique)
 * finds the row; only the sha256 of the whole key is stored and compared.
 */
const KEY_PATTERN = /^cl_([a-z0-9]{12})_([A-Za-z0-9_-]{43})$/;
// lastUsedAt is written at most this often, so API traffic does not write on every call.
const TOUCH_INTERVAL_MS = 60_000;

/** What is ever shown of a key: never its hash. */
export const apiKeySelect = {
  id: true,
  name: true,
  prefix: true,
  createdAt: true,
  lastUsedAt: true,
} satisfies Prisma.ApiKeySelect;

export async function createApiKey(db: Database, userId: string, name: string) {
  const prefix = randomPrefix();
  const key = `cl_${prefix}_${randomToken(32)}`;
  const record = await db.apiKey.create({
    data: { userId, name, prefix, keyHash: hashToken(key) },
    select: apiKeySelect,
  });
  return { key, record };
}

export function isApiKeyFormat(value: string): boolean {
  return KEY_PATTERN.test(value);
}

/** The key's owner, or null for a malformed, unknown or revoked (deleted) key. */
export async function findApiKeyUser(db: Database, key: string): Promise<SessionUser | null> {
  const match = KEY_PATTERN.exec(key);
  if (!match) return null;
  const row = await db.apiKey.findUnique({
    where: { prefix: match[1] },
    select: { id: true, keyHash: true, lastUsedAt: true, user: { select: sessionUserSelect } },
  });
  if (!row) return null;
  const expected = Buffer.from(row.keyHash, "hex");
  const actual = Buffer.from(hashToken(key), "hex");
  if (expected.length !== actual.length || !timingSafeEqual(expected, actual)) return null;
  if (!row.lastUsedAt || Date.now() - row.lastUsedAt.getTime() > TOUCH_INTERVAL_MS) {
    await db.apiKey.updateMany({ where: { id: row.id }, data: { lastUsedAt: new Date() } });
  }
  return row.user;
}

function randomPrefix(): string {
  const alphabet = "abcdefghijklmnopqrstuvwxyz0123456789";
  return Array.from(randomBytes(12), (b) => alphabet[b % alphabet.length]).join("");
}
