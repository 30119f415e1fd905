import {
  type RateLimiterAbstract,
  RateLimiterMemory,
  RateLimiterPrisma,
  RateLimiterRes,
} from "rate-limiter-flexible";
import type { Config } from "../config/config";
import type { Database } from "../db/client";

export type RateLimitedAction = "login" | "register" | "resend" | "reset";

export class RateLimitError extends Error {
  constructor(readonly retryAfterSeconds: number) {
    super(`Too many attempts. Try again in ${formatWait(retryAfterSeconds)}.`);
  }
}

/**
 * Per-IP and per-email budgets for the auth actions that attackers hammer.
 * With a database the budgets live in its AuthAttempt table, so every node
 * behind the balancer spends from the same budget; while the database is
 * unreachable each node falls back to a budget in its own memory (the
 * library's insurance limiter) rather than letting attempts through. Without
 * a database (unit tests) memory only.
 */
export class AuthRateLimiter {
  private readonly byIp: RateLimiterAbstract;
  private readonly byEmail: RateLimiterAbstract;

  constructor(limits: Config["rateLimit"], db?: Database) {
    this.byIp = limiter("ip", limits.perIp, limits.windowSeconds, db);
    this.byEmail = limiter("email", limits.perEmail, limits.windowSeconds, db);
  }

  /** Spends one attempt; throws RateLimitError when either budget is empty. */
  async consume(action: RateLimitedAction, ip: string, email?: string): Promise<void> {
    try {
      await this.byIp.consume(`${action}:${ip}`);
      if (email) await this.byEmail.consume(`${action}:${email.toLowerCase()}`);
    } catch (error) {
      if (error instanceof RateLimiterRes) {
        throw new RateLimitError(Math.max(1, Math.ceil(error.msBeforeNext / 1000)));
      }
      throw error;
    }
  }

  /** Forget failures for an email after a successful login. */
  async reset(action: RateLimitedAction, email: string): Promise<void> {
    await this.byEmail.delete(`${action}:${email.toLowerCase()}`);
  }
}

function limiter(keyPrefix: string, points: number, duration: number, db?: Database) {
  const memory = new RateLimiterMemory({ keyPrefix, points, duration });
  if (!db) return memory;
  return new RateLimiterPrisma({
    storeClient: db,
    // The client's property for model AuthAttempt.
    tableName: "authAttempt",
    keyPrefix,
    points,
    duration,
    insuranceLimiter: memory,
  });
}

function formatWait(seconds: number): string {
  if (seconds < 90) return `${seconds} seconds`;
  return `${Math.ceil(seconds / 60)} minutes`;
}
