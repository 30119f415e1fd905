import type { EventEmitter } from "node:events";
import { isDatabaseUnavailable } from "../db/unavailable";
import type { ApiKeyEvents } from "../services";

/** Resolves a full API key to its owner's id, or null for a malformed, unknown or revoked key. */
export type ApiKeyLookup = (key: string) => Promise<string | null>;

/**
 * API key → user id for the invocation route, briefly: a warm call should not
 * wait on the database for auth. A revoke through this process clears it at
 * once; a key deleted any other way (another process, straight in the
 * database) is refused at the latest `ttlMs` after its deletion. A known-good
 * key keeps working past its TTL while the database is unreachable (revoking
 * a key needs the database too, so nothing is revoked meanwhile).
 */
export class ApiKeyCache {
  private readonly entries = new Map<string, { userId: string | null; until: number }>();
  // Bumped by every revoke: a lookup in flight across one must not store what
  // it read before the key was deleted, or the key would live on here for a
  // whole TTL after its revocation.
  private generation = 0;

  constructor(
    private readonly lookup: ApiKeyLookup,
    events: EventEmitter<ApiKeyEvents>,
    private readonly ttlMs: number,
    private readonly maxEntries = 10_000,
  ) {
    events.on("revoked", () => {
      this.generation += 1;
      this.entries.clear();
    });
  }

  async userIdFor(key: string): Promise<string | null> {
    const now = Date.now();
    const cached = this.entries.get(key);
    if (cached && cached.until > now) return cached.userId;
    const generation = this.generation;
    let userId: string | null;
    try {
      userId = await this.lookup(key);
    } catch (error) {
      if (cached?.userId && isDatabaseUnavailable(error)) return cached.userId;
      throw error;
    }
    if (generation === this.generation) {
      if (this.entries.size >= this.maxEntries) this.entries.clear();
      // Counted from before the read, so the TTL bounds how stale an answer can be.
      this.entries.set(key, { userId, until: now + this.ttlMs });
    }
    return userId;
  }
}
