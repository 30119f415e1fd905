import { describe, expect, it } from "vitest";
import { isPlatformFailure, nextStep } from "./retry-policy";

const ok = { status: 0, timeout: false, error: null };
const userError = { status: 1, timeout: false, error: "ValueError: bad" };

describe("retry policy", () => {
  it("treats crash, timeout, OOM and an unavailable engine as the platform's failure", () => {
    expect(isPlatformFailure({ status: 1, timeout: false, error: "instance crashed" })).toBe(true);
    expect(isPlatformFailure({ status: 124, timeout: true, error: "timeout" })).toBe(true);
    expect(isPlatformFailure({ status: 137, timeout: false, error: "out of memory" })).toBe(true);
    expect(
      isPlatformFailure({ status: 503, timeout: false, error: "x", engineUnavailable: true }),
    ).toBe(true);
    expect(isPlatformFailure(userError)).toBe(false);
    expect(isPlatformFailure({ status: 3, timeout: false, error: null })).toBe(false);
  });

  it("retries platform failures while attempts remain, then declares the call dead", () => {
    const crash = { status: 1, timeout: false, error: "instance crashed" };
    expect(nextStep(crash, { retryOnError: false, attemptsLeft: true })).toBe("retry");
    expect(nextStep(crash, { retryOnError: false, attemptsLeft: false })).toBe("dead");
  });

  it("does not retry a clean non-zero exit unless the function asks", () => {
    expect(nextStep(userError, { retryOnError: false, attemptsLeft: true })).toBe("failed");
    expect(nextStep(userError, { retryOnError: true, attemptsLeft: true })).toBe("retry");
    expect(nextStep(userError, { retryOnError: true, attemptsLeft: false })).toBe("dead");
  });

  it("a clean exit succeeds whatever remains", () => {
    expect(nextStep(ok, { retryOnError: true, attemptsLeft: false })).toBe("succeeded");
  });
});
