import { createHash } from "node:crypto";
import { describe, expect, it } from "vitest";
import { hashToken, randomToken } from "./tokens";

describe("tokens", () => {
  it("are 256 random bits, URL-safe, and never repeat", () => {
    const tokens = Array.from({ length: 2_000 }, () => randomToken());
    for (const token of tokens) expect(token).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(new Set(tokens).size).toBe(tokens.length);
    expect(randomToken(16)).toMatch(/^[A-Za-z0-9_-]{22}$/);
  });

  it("hash to a stable sha256 that differs from the token", () => {
    const token = randomToken();
    const hash = hashToken(token);
    expect(hash).toMatch(/^[0-9a-f]{64}$/);
    expect(hashToken(token)).toBe(hash);
    expect(hash).toBe(createHash("sha256").update(token).digest("hex"));
    expect(hash).not.toContain(token);
    // The SHA-256 test vector, so the algorithm cannot silently change.
    expect(hashToken("abc")).toBe(
      "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad",
    );
    // One character apart: unrelated hashes.
    const other = `${token.slice(0, -1)}${token.endsWith("A") ? "B" : "A"}`;
    expect(hashToken(other)).not.toBe(hash);
  });
});
