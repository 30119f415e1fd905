import { createHash, randomBytes } from "node:crypto";

/** A random secret for links, cookies and keys: 256 bits, URL-safe. */
export function randomToken(bytes = 32): string {
  return randomBytes(bytes).toString("base64url");
}

/** Tokens are stored only as their sha256, so a database leak reveals no usable secret. */
export function hashToken(token: string): string {
  return createHash("sha256").update(token).digest("hex");
}
