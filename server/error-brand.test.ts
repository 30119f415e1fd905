import { describe, expect, it, vi } from "vitest";
import { AuthError } from "./auth/accounts";
import { RateLimitError } from "./auth/rate-limit";
import { MailDeliveryError } from "./mail/mailer";

// The Remix bundle and the server entry each load server/ (decision 0001); an
// error from one copy's services must still be recognised by the other's routers.
describe("errors shared between copies of server/ code", () => {
  it("are instanceof their class from another copy, and nothing else is", async () => {
    vi.resetModules();
    const copy = {
      ...(await import("./auth/accounts")),
      ...(await import("./auth/rate-limit")),
      ...(await import("./mail/mailer")),
    };
    expect(copy.RateLimitError).not.toBe(RateLimitError);

    const fromCopy = [
      [new copy.RateLimitError(60), RateLimitError],
      [new copy.MailDeliveryError("quota"), MailDeliveryError],
      [new copy.AuthError("TOKEN_USED", "used"), AuthError],
    ] as const;
    for (const [error, Class] of fromCopy) {
      expect(error instanceof Class).toBe(true);
      expect(error instanceof Error).toBe(true);
    }
    expect(new RateLimitError(1) instanceof copy.RateLimitError).toBe(true);
    // Brands do not leak between classes, and plain errors have none.
    expect(new copy.RateLimitError(1) instanceof MailDeliveryError).toBe(false);
    expect(new copy.AuthError("TOKEN_USED", "used") instanceof RateLimitError).toBe(false);
    for (const Class of [RateLimitError, MailDeliveryError, AuthError]) {
      expect(new Error("plain") instanceof Class).toBe(false);
      expect((null as unknown) instanceof Class).toBe(false);
      expect({ message: "look-alike" } instanceof Class).toBe(false);
    }
  });
});
