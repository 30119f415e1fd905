import { RateLimiterMemory, RateLimiterRes } from "rate-limiter-flexible";

export type RateLimitedAction = "login" | "register" | "resend" | "reset";

export class RateLimitError extends Error {
  constructor(readonly retryAfterSeconds: number) {
    super(`Too many attempts. Try again in ${formatWait(retryAfterSeconds)}.`);
  }
}

/**
 * Per-IP and per-email budgets for the auth actions that attackers hammer.
 * In memory: Cloudless runs as one process per host.
 */
export class AuthRateLimiter {
  private readonly byIp: RateLimiterMemory;
  private readonly byEmail: RateLimiterMemory;

  constructor(options: { perIp: number; perEmail: number; windowSeconds: number }) {
    this.byIp = new RateLimiterMemory({
      keyPrefix: "ip",
      points: options.perIp,
      duration: options.windowSeconds,
    });
    this.byEmail = new RateLimiterMemory({
      keyPrefix: "email",
      points: options.perEmail,
      duration: options.windowSeconds,
    });
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

function formatWait(seconds: number): string {
  if (seconds < 90) return `${seconds} seconds`;
  return `${Math.ceil(seconds / 60)} minutes`;
}
