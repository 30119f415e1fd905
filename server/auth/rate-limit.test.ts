import { describe, expect, it } from "vitest";
import { AuthRateLimiter, RateLimitError } from "./rate-limit";

async function attempts(work: () => Promise<void>, count: number): Promise<Array<"ok" | number>> {
  const results: Array<"ok" | number> = [];
  for (let i = 0; i < count; i++) {
    try {
      await work();
      results.push("ok");
    } catch (error) {
      if (!(error instanceof RateLimitError)) throw error;
      results.push(error.retryAfterSeconds);
    }
  }
  return results;
}

describe("AuthRateLimiter", () => {
  it("allows perEmail attempts per address, then says how long to wait", async () => {
    const limiter = new AuthRateLimiter({ perIp: 100, perEmail: 3, windowSeconds: 600 });
    const results = await attempts(() => limiter.consume("login", "10.0.0.1", "a@example.com"), 5);
    expect(results.slice(0, 3)).toEqual(["ok", "ok", "ok"]);
    expect(results[3]).toBeGreaterThan(590);
    expect(results[3]).toBeLessThanOrEqual(600);
    await expect(limiter.consume("login", "10.0.0.2", "A@Example.com")).rejects.toThrow(
      "Too many attempts. Try again in 10 minutes.",
    );
    // Other addresses and other actions have budgets of their own.
    await expect(limiter.consume("login", "10.0.0.1", "b@example.com")).resolves.toBeUndefined();
    await expect(limiter.consume("reset", "10.0.0.1", "a@example.com")).resolves.toBeUndefined();
  });

  it("allows perIp attempts per address whatever the emails", async () => {
    const limiter = new AuthRateLimiter({ perIp: 4, perEmail: 100, windowSeconds: 60 });
    const results = await attempts(
      async () => limiter.consume("register", "10.0.0.9", `u${Math.random()}@example.com`),
      6,
    );
    expect(results.filter((r) => r === "ok")).toHaveLength(4);
    expect(results.slice(4)).toEqual([expect.any(Number), expect.any(Number)]);
    await expect(
      limiter.consume("register", "10.0.0.10", "x@example.com"),
    ).resolves.toBeUndefined();
  });

  it("forgets an address's failures after a success", async () => {
    const limiter = new AuthRateLimiter({ perIp: 100, perEmail: 2, windowSeconds: 60 });
    await limiter.consume("login", "10.0.0.1", "a@example.com");
    await limiter.consume("login", "10.0.0.1", "a@example.com");
    await limiter.reset("login", "A@example.com");
    expect(await attempts(() => limiter.consume("login", "10.0.0.1", "a@example.com"), 3)).toEqual([
      "ok",
      "ok",
      expect.any(Number),
    ]);
  });
});
