import { createHmac, timingSafeEqual } from "node:crypto";

/**
 * The sign-in failure shown on /login travels in the URL (so it survives the
 * redirect and can be tested), signed with the session secret: a crafted link
 * cannot put words of its own on our login page.
 */
export function loginErrorUrl(secret: string, message: string): string {
  const query = new URLSearchParams({ error: message, sig: sign(secret, message) });
  return `/login?${query}`;
}

/** The message of a signed /login URL, or undefined when it is missing or forged. */
export function readLoginError(secret: string, url: URL): string | undefined {
  const message = url.searchParams.get("error");
  const sig = url.searchParams.get("sig");
  if (!message || !sig || message.length > 500) return undefined;
  const expected = Buffer.from(sign(secret, message));
  const given = Buffer.from(sig);
  return expected.length === given.length && timingSafeEqual(expected, given) ? message : undefined;
}

function sign(secret: string, message: string) {
  return createHmac("sha256", secret).update(`login-error:${message}`).digest("base64url");
}
