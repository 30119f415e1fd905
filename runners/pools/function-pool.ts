import { createPool, type Pool } from "generic-pool";
import type { Instance, StartKind } from "../types";

export class ConcurrencyLimitError extends Error {}

/** A specialized instance with how it came to be, for the start kind of its first call. */
export interface PooledInstance {
  instance: Instance;
  /** prewarm (a generic instance specialized) or cold (booted for this function). */
  origin: Exclude<StartKind, "warm">;
  /** When it became ready to serve (performance.now()). */
  readyAt: number;
  /** When it last finished a call, for least-recently-used eviction. */
  lastUsedAt: number;
  calls: number;
  /** How long provisioning (boot and/or specialize) took. */
  provisionMs?: number;
}

export interface FunctionPoolOptions {
  min: number;
  max: number;
  idleTtlMs: number;
  /** How long a call may wait when every instance is busy, before ConcurrencyLimitError. */
  queueTimeoutMs: number;
  /** Upper bound for a call that waits on a boot. */
  bootTimeoutMs: number;
  /** Makes a specialized instance for this function version (prewarm or cold). */
  provision(): Promise<PooledInstance>;
  destroy(instance: PooledInstance): Promise<void>;
  onError(error: unknown): void;
}

/**
 * The specialized instances of one function version on one engine, kept by
 * generic-pool: min = the function's warm minimum, max = its concurrency, idle
 * ones removed after the TTL. An instance serves one call at a time; a failed
 * one is destroyed, never released.
 */
export class FunctionPool {
  private readonly pool: Pool<PooledInstance>;
  private readonly waiters: Array<(error: Error) => void> = [];
  private failures = 0;
  lastUsedAt = performance.now();

  constructor(private readonly options: FunctionPoolOptions) {
    this.pool = createPool<PooledInstance>(
      {
        create: async () => {
          // Back off after failed boots so a broken engine is not hammered in a loop.
          if (this.failures > 0) await sleep(Math.min(2000, 50 * 2 ** this.failures));
          try {
            const pooled = await options.provision();
            this.failures = 0;
            return pooled;
          } catch (error) {
            // User code that fails to load is not the engine's fault: no backoff for it.
            if ((error as Error).name !== "FunctionLoadError") this.failures += 1;
            throw error;
          }
        },
        destroy: (pooled) => options.destroy(pooled),
      },
      {
        min: options.min,
        max: options.max,
        // Most recently used first: a few instances stay hot and the rest age out.
        fifo: false,
        idleTimeoutMillis: options.idleTtlMs,
        evictionRunIntervalMillis: Math.max(1000, Math.min(options.idleTtlMs / 4, 30_000)),
        acquireTimeoutMillis: options.bootTimeoutMs + options.queueTimeoutMs,
      },
    );
    // A failed boot answers the oldest waiting call with its reason.
    this.pool.on("factoryCreateError", (error) => {
      this.waiters.shift()?.(error instanceof Error ? error : new Error(String(error)));
      options.onError(error);
    });
    this.pool.on("factoryDestroyError", (error) => options.onError(error));
  }

  get stats() {
    return {
      size: this.pool.size,
      available: this.pool.available,
      borrowed: this.pool.borrowed,
      pending: this.pool.pending,
      max: this.pool.max,
    };
  }

  /** An instance for one call: an idle one at once, else a new one, else wait (bounded) for one to free. */
  async acquire(): Promise<PooledInstance> {
    const queued = this.pool.available === 0 && this.pool.size + this.pool.pending >= this.pool.max;
    const limit = queued
      ? this.options.queueTimeoutMs
      : this.options.bootTimeoutMs + this.options.queueTimeoutMs;
    let settled = false;
    const acquired = this.pool.acquire();
    return new Promise<PooledInstance>((resolve, reject) => {
      const fail = (error: Error) => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        reject(error);
      };
      const timer = setTimeout(
        () =>
          fail(
            new ConcurrencyLimitError(`All ${this.pool.max} instances stayed busy for ${limit} ms`),
          ),
        limit,
      );
      this.waiters.push(fail);
      acquired.then(
        (pooled) => {
          const index = this.waiters.indexOf(fail);
          if (index >= 0) this.waiters.splice(index, 1);
          if (settled) {
            // The call already gave up; the instance goes back for the next one.
            void this.pool.release(pooled);
            return;
          }
          settled = true;
          clearTimeout(timer);
          resolve(pooled);
        },
        (error: Error) => {
          const index = this.waiters.indexOf(fail);
          if (index >= 0) this.waiters.splice(index, 1);
          fail(error.name === "TimeoutError" ? new ConcurrencyLimitError(error.message) : error);
        },
      );
    });
  }

  release(pooled: PooledInstance) {
    pooled.lastUsedAt = performance.now();
    this.lastUsedAt = pooled.lastUsedAt;
    return this.pool.release(pooled);
  }

  /** Removes an instance that timed out, crashed or failed: it never serves again. */
  destroy(pooled: PooledInstance) {
    return this.pool.destroy(pooled);
  }

  /** Evicts one idle instance (budget pressure); false when none is idle. */
  async evictIdle(): Promise<boolean> {
    if (this.pool.available === 0) return false;
    const pooled = await this.pool.acquire();
    await this.pool.destroy(pooled);
    return true;
  }

  /** Waits for calls in progress, then destroys every instance. */
  async drain() {
    await this.pool.drain();
    await this.pool.clear();
  }
}

function sleep(ms: number) {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
