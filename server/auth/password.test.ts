import { describe, expect, it } from "vitest";
import { hashPassword, verifyPassword } from "./password";
import { MAX_PASSWORD_LENGTH } from "./password-limits";

describe("password hashing", () => {
  it("hashes with a fresh salt and verifies only the right password", async () => {
    const [a, b] = await Promise.all([
      hashPassword("correct horse battery"),
      hashPassword("correct horse battery"),
    ]);
    expect(a).toMatch(/^scrypt\$32768\$8\$1\$[A-Za-z0-9_-]{22}\$[A-Za-z0-9_-]{43}$/);
    expect(a).not.toContain("correct horse");
    // Same password, different salt: equal hashes would let a leak show who shares a password.
    expect(a).not.toBe(b);
    expect(await verifyPassword("correct horse battery", a)).toBe(true);
    expect(await verifyPassword("correct horse battery", b)).toBe(true);
    expect(await verifyPassword("correct horse batterY", a)).toBe(false);
    expect(await verifyPassword("", a)).toBe(false);
  });

  it("refuses over-long passwords before any hashing, so a megabyte costs nothing", async () => {
    const started = performance.now();
    const stored = await hashPassword("x".repeat(16));
    const oneHashMs = performance.now() - started;

    const huge = "x".repeat(1024 * 1024);
    const refusedAt = performance.now();
    await expect(hashPassword(huge)).rejects.toThrow(RangeError);
    expect(await verifyPassword(huge, stored)).toBe(false);
    const refusalMs = performance.now() - refusedAt;
    // Both refusals together take far less than one hash: neither ran scrypt.
    expect(refusalMs).toBeLessThan(oneHashMs / 2);
  });

  it("accepts exactly the maximum length and refuses one more", async () => {
    const longest = "p".repeat(MAX_PASSWORD_LENGTH);
    const stored = await hashPassword(longest);
    expect(await verifyPassword(longest, stored)).toBe(true);
    await expect(hashPassword(`${longest}p`)).rejects.toThrow(/longer than 128/);
    expect(await verifyPassword(`${longest}p`, stored)).toBe(false);
  });

  it("normalises unicode, so the same password typed on another keyboard still matches", async () => {
    // "é" precomposed (U+00E9) versus "e" + combining acute (U+0301), as macOS input gives.
    const composed = "caf\u00e9 au lait";
    const decomposed = "cafe\u0301 au lait";
    expect(composed).not.toBe(decomposed);
    const stored = await hashPassword(composed);
    expect(await verifyPassword(decomposed, stored)).toBe(true);
    // NFKC also folds compatibility forms: the "ﬁ" ligature is "fi".
    expect(await verifyPassword("\ufb01ne wine here", await hashPassword("fine wine here"))).toBe(
      true,
    );
    // Different letters stay different.
    expect(await verifyPassword("cafe au lait", stored)).toBe(false);
  });

  it("treats a missing or foreign hash as a failed check, not an error", async () => {
    expect(await verifyPassword("whatever-password", null)).toBe(false);
    expect(await verifyPassword("whatever-password", "bcrypt$2b$10$abc")).toBe(false);
    expect(await verifyPassword("whatever-password", "scrypt$32768$8$1")).toBe(false);
  });
});
