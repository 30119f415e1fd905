import { createPool, type Pool } from "generic-pool";
import type { Instance, StartKind } from "../types";

export class ConcurrencyLimitError extends Error {}

/** Who waits for an instance: a caller on the line is served before queued (async) work. */
export type CallPriority = "sync" | "async";
const PRIORITY: Record<CallPriority, number> = { sync: 0, async: 1 };

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
 * What generic-pool holds: an instance, or the error a failed provisioning
 * ended with. generic-pool keeps a request waiting when its factory rejects
 * and creates again at once, so a function whose code cannot load (or an
 * engine that cannot boot) would be re-provisioned in a loop until the request
 * timed out. A failure is therefore handed out like a resource, to the request
 * that caused it, and destroyed there.
 */
type Slot = PooledInstance | { failed: Error };

/**
 * The specialized instances of one function version on one engine, kept by
 * generic-pool: min = the function's warm minimum, max = its concurrency, idle
 * ones removed after the TTL. An instance serves one call at a time; a failed
 * one is destroyed, never released.
 */
export class FunctionPool {
  private readonly pool: Pool<Slot>;
  private failures = 0;
  /** How long one generic-pool request may wait; a call waits in such slices (see acquire). */
  private readonly sliceMs: number;
  lastUsedAt = performance.now();

  constructor(private readonly options: FunctionPoolOptions) {
    this.sliceMs = Math.max(100, options.queueTimeoutMs);
    this.pool = createPool<Slot>(
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
            options.onError(error);
            return { failed: error instanceof Error ? error : new Error(String(error)) };
          }
        },
        destroy: async (slot) => {
          if (!("failed" in slot)) await options.destroy(slot);
        },
      },
      {
        min: options.min,
        max: options.max,
        // Most recently used first: a few instances stay hot and the rest age out.
        fifo: false,
        idleTimeoutMillis: options.idleTtlMs,
        evictionRunIntervalMillis: Math.max(1000, Math.min(options.idleTtlMs / 4, 30_000)),
        // Short, so a request whose call gave up (429) does not linger and hold up a drain.
        acquireTimeoutMillis: this.sliceMs,
        priorityRange: 2,
      },
    );
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

  /**
   * An instance for one call: an idle one at once, else a new one, else wait
   * (bounded) for one to free. A call over the concurrency (every instance
   * exists or is being made, none idle) waits `queueTimeoutMs`; one that
   * starts a boot may wait for it too. The wait is made of short generic-pool
   * requests, renewed until the call's own limit. Waiting sync calls get a
   * freed instance before waiting async ones.
   */
  async acquire(priority: CallPriority = "sync"): Promise<PooledInstance> {
    const queued = this.pool.available === 0 && this.pool.size >= this.pool.max;
    const limit = queued
      ? this.options.queueTimeoutMs
      : this.options.bootTimeoutMs + this.options.queueTimeoutMs;
    const deadline = performance.now() + limit;
    const overLimit = () =>
      new ConcurrencyLimitError(`All ${this.pool.max} instances stayed busy for ${limit} ms`);
    if (queued && limit === 0) throw overLimit();
    for (;;) {
      let slot: Slot;
      try {
        slot = await this.pool.acquire(PRIORITY[priority]);
      } catch (error) {
        if ((error as Error).name !== "TimeoutError") {
          // The pool drains (the function changed) while this call waited for a turn.
          throw new ConcurrencyLimitError(`The function changed while this call waited; try again`);
        }
        if (performance.now() >= deadline) throw overLimit();
        continue;
      }
      if ("failed" in slot) {
        void this.pool.destroy(slot);
        throw slot.failed;
      }
      return slot;
    }
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
    // A call may take the idle instance first; then there is nothing to evict here.
    const slot = await this.pool.acquire().catch(() => null);
    if (!slot) return false;
    await this.pool.destroy(slot);
    return !("failed" in slot);
  }

  /**
   * The engine is gone: nothing new is made or handed out, idle instances
   * are destroyed now and busy ones when their call ends (or times out).
   */
  async purge() {
    const drained = this.pool.drain();
    await this.pool.clear();
    await drained;
    await this.pool.clear();
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
