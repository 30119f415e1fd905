import type { EventEmitter } from "node:events";
import type { FunctionTarget } from "../../runners/manager";
import type { Database } from "../db/client";
import type { FunctionEvents } from "../services";

export interface InvocableFunction {
  target: FunctionTarget;
  isPublic: boolean;
  /** Async calls: retries after a platform failure, and whether a non-zero exit is retried too. */
  asyncRetries: number;
  retryOnError: boolean;
}

/**
 * Resolves an invocation URL's `{userId}/{handler}` (or function name) to
 * what the runners need, cached in memory and dropped when the function
 * changes, so a warm call does not touch the database.
 */
export class FunctionDirectory {
  private readonly cache = new Map<string, InvocableFunction>();
  // Bumped on every change, so a lookup that raced a change is not cached stale.
  private generation = 0;

  constructor(
    private readonly db: Database,
    events: EventEmitter<FunctionEvents>,
  ) {
    events.on("changed", (functionId) => {
      this.generation += 1;
      for (const [key, entry] of this.cache) {
        if (entry.target.functionId === functionId) this.cache.delete(key);
      }
    });
  }

  /** Forgets every function (changes may have been missed: see server/cluster/bus.ts). */
  clear() {
    this.generation += 1;
    this.cache.clear();
  }

  find(userId: string, ref: string): Promise<InvocableFunction | null> {
    // Handlers always contain a dot and names never do.
    return this.lookup(
      `${userId}/${ref}`,
      ref.includes(".") ? { userId, handler: ref } : { userId, name: ref },
    );
  }

  /** By id, as queued work names it: its active version now, not when it was queued. */
  findById(functionId: string): Promise<InvocableFunction | null> {
    return this.lookup(`#${functionId}`, { id: functionId });
  }

  private async lookup(
    key: string,
    where: { userId: string; handler: string } | { userId: string; name: string } | { id: string },
  ): Promise<InvocableFunction | null> {
    const cached = this.cache.get(key);
    if (cached) return cached;
    const generation = this.generation;
    const row = await this.db.function.findFirst({
      where,
      select: {
        id: true,
        userId: true,
        runtime: true,
        style: true,
        handler: true,
        memoryMb: true,
        timeoutSeconds: true,
        maxConcurrency: true,
        minWarm: true,
        networkEnabled: true,
        isPublic: true,
        asyncRetries: true,
        retryOnError: true,
        env: true,
        activeVersion: { select: { id: true, number: true, sha256: true, s3Key: true } },
      },
    });
    if (!row?.activeVersion) return null;
    const extension = row.activeVersion.s3Key.split(".").pop();
    const entry: InvocableFunction = {
      isPublic: row.isPublic,
      asyncRetries: row.asyncRetries,
      retryOnError: row.retryOnError,
      target: {
        functionId: row.id,
        userId: row.userId,
        versionId: row.activeVersion.id,
        versionNumber: row.activeVersion.number,
        runtime: row.runtime,
        style: row.style,
        handler: row.handler,
        moduleFile: `${row.handler.split(".")[0]}.${extension}`,
        memoryMb: row.memoryMb,
        timeoutSeconds: row.timeoutSeconds,
        maxConcurrency: row.maxConcurrency,
        minWarm: row.minWarm,
        network: row.networkEnabled,
        env: (row.env ?? {}) as Record<string, string>,
        sha256: row.activeVersion.sha256,
        s3Key: row.activeVersion.s3Key,
      },
    };
    if (generation === this.generation) this.cache.set(key, entry);
    return entry;
  }
}
