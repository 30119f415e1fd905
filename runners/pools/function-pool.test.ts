import { afterEach, describe, expect, it } from "vitest";
import type { Instance } from "../types";
import { ConcurrencyLimitError, FunctionPool, type PooledInstance } from "./function-pool";

// The pool around generic-pool, with instances faked: what is provisioned,
// when, and how calls wait or are refused.

const pools: FunctionPool[] = [];
// Every test releases what it acquired: a drain waits for calls in progress.
afterEach(async () => {
  await Promise.all(pools.splice(0).map((p) => p.drain()));
});

class LoadError extends Error {
  name = "FunctionLoadError";
}

function pooled(id: number): PooledInstance {
  const now = performance.now();
  return {
    instance: { id: `i${id}` } as unknown as Instance,
    origin: "cold",
    readyAt: now,
    lastUsedAt: now,
    calls: 0,
  };
}

function makePool(
  provision: () => Promise<PooledInstance>,
  options: { min?: number; max?: number; queueTimeoutMs?: number } = {},
) {
  const destroyed: string[] = [];
  const pool = new FunctionPool({
    min: options.min ?? 0,
    max: options.max ?? 2,
    idleTtlMs: 60_000,
    queueTimeoutMs: options.queueTimeoutMs ?? 100,
    bootTimeoutMs: 1000,
    provision,
    destroy: async (p) => {
      destroyed.push(p.instance.id);
    },
    onError: () => {},
  });
  pools.push(pool);
  return { pool, destroyed };
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe("function pool", () => {
  it("provisions once per call, and reuses a released instance", async () => {
    let made = 0;
    const { pool } = makePool(async () => pooled(++made));
    const first = await pool.acquire();
    pool.release(first);
    const second = await pool.acquire();
    expect(second).toBe(first);
    expect(made).toBe(1);
    pool.release(second);
  });

  it("fails a call whose code cannot load with that error, without provisioning again in a loop", async () => {
    let attempts = 0;
    const { pool } = makePool(async () => {
      attempts += 1;
      throw new LoadError("SyntaxError: bad");
    });
    await expect(pool.acquire()).rejects.toThrow("SyntaxError: bad");
    await sleep(300);
    expect(attempts).toBe(1);
    await expect(pool.acquire()).rejects.toBeInstanceOf(LoadError);
    await sleep(100);
    expect(attempts).toBe(2);
    expect(pool.stats.size).toBe(0);
  });

  it("fails a call whose boot failed, once, and backs off before the next boot", async () => {
    let attempts = 0;
    const { pool } = makePool(async () => {
      attempts += 1;
      throw new Error("engine down");
    });
    await expect(pool.acquire()).rejects.toThrow("engine down");
    await sleep(200);
    expect(attempts).toBe(1);
    const started = performance.now();
    await expect(pool.acquire()).rejects.toThrow("engine down");
    expect(performance.now() - started).toBeGreaterThanOrEqual(90); // 50 ms × 2^1
  });

  it("refuses a call over the concurrency after the queue timeout, and does not hold up a drain", async () => {
    const { pool, destroyed } = makePool(async () => pooled(1), { max: 1, queueTimeoutMs: 150 });
    const busy = await pool.acquire();
    const started = performance.now();
    await expect(pool.acquire()).rejects.toBeInstanceOf(ConcurrencyLimitError);
    expect(performance.now() - started).toBeGreaterThanOrEqual(140);
    expect(performance.now() - started).toBeLessThan(1000);
    pool.release(busy);
    const draining = performance.now();
    await pool.drain();
    expect(performance.now() - draining).toBeLessThan(100);
    expect(destroyed).toEqual(["i1"]);
  });

  it("gives a waiting call the instance another call releases", async () => {
    const { pool } = makePool(async () => pooled(1), { max: 1, queueTimeoutMs: 500 });
    const busy = await pool.acquire();
    const waiting = pool.acquire();
    setTimeout(() => pool.release(busy), 50);
    expect(await waiting).toBe(busy);
    pool.release(busy);
  });

  it("waits for a boot longer than the queue timeout when the call started it", async () => {
    const { pool } = makePool(
      async () => {
        await sleep(350);
        return pooled(1);
      },
      { queueTimeoutMs: 100 },
    );
    const instance = await pool.acquire();
    expect(instance.instance.id).toBe("i1");
    pool.release(instance);
  });

  it("boots the warm minimum before any call", async () => {
    let made = 0;
    const { pool } = makePool(async () => pooled(++made), { min: 1 });
    await sleep(50);
    expect(made).toBe(1);
    expect(pool.stats.available).toBe(1);
    pool.release(await pool.acquire());
    expect(made).toBe(1);
  });
});
