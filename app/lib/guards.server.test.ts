import { describe, expect, it } from "vitest";
import { safeNext } from "./guards.server";

describe("safeNext", () => {
  it("keeps same-site paths, with their query and hash", () => {
    expect(safeNext("/user")).toBe("/user");
    expect(safeNext("/user/settings?tab=sessions#list")).toBe("/user/settings?tab=sessions#list");
  });

  it("falls back when there is nothing to go back to", () => {
    expect(safeNext(null)).toBe("/user");
    expect(safeNext(undefined)).toBe("/user");
    expect(safeNext("")).toBe("/user");
    expect(safeNext("user")).toBe("/user");
    expect(safeNext(null, "/elsewhere")).toBe("/elsewhere");
  });

  it.each([
    "//evil.com",
    "//evil.com/user",
    "/\\evil.com",
    "/\\/evil.com",
    "https://evil.com",
    "http:evil.com",
    "javascript:alert(1)",
    // Browsers drop tabs and newlines from a Location, which would leave "//evil.com".
    "/\t/evil.com",
    "/\n/evil.com",
    "/..//evil.com",
  ])("never leaves the site for %j", (attempt) => {
    const next = safeNext(attempt);
    // Where a browser would really go from our origin with this as the Location.
    const landing = new URL(next, "https://cloudless.example.com");
    expect(landing.origin).toBe("https://cloudless.example.com");
    expect(next.startsWith("/")).toBe(true);
    expect(next).not.toMatch(/^\/[/\\]/);
    expect(next).not.toMatch(/[\t\r\n]/);
  });
});
