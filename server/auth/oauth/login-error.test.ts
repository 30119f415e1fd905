import { describe, expect, it } from "vitest";
import { loginErrorUrl, readLoginError } from "./login-error";

describe("signed login errors", () => {
  const secret = "s".repeat(40);

  it("round-trips a message through the URL", () => {
    const url = new URL(
      loginErrorUrl(secret, "Signing in with GitHub was cancelled."),
      "http://a.test",
    );
    expect(url.pathname).toBe("/login");
    expect(readLoginError(secret, url)).toBe("Signing in with GitHub was cancelled.");
  });

  it("shows nothing for a crafted, altered or foreign-secret link", () => {
    const crafted = new URL("http://a.test/login?error=Call%20us%20now&sig=abc");
    expect(readLoginError(secret, crafted)).toBeUndefined();
    const real = new URL(loginErrorUrl(secret, "cancelled"), "http://a.test");
    real.searchParams.set("error", "cancelled, now call us");
    expect(readLoginError(secret, real)).toBeUndefined();
    const other = new URL(loginErrorUrl("o".repeat(40), "cancelled"), "http://a.test");
    expect(readLoginError(secret, other)).toBeUndefined();
    expect(readLoginError(secret, new URL("http://a.test/login?error=x"))).toBeUndefined();
  });
});
