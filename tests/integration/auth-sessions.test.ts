import { createCookie } from "@remix-run/node";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { SESSION_COOKIE } from "../../server/auth/cookie";
import { hashToken, randomToken } from "../../server/auth/tokens";
import type { Services } from "../../server/services";
import { startTestServices } from "../helpers/app";
import { CallerClient, trpcError } from "../helpers/caller";
import { latestLink } from "../helpers/mail";

// Sessions through the procedures: what the cookie holds, what the database
// keeps, and who may end which session.

const PASSWORD = "correct-horse-9";

let env: Awaited<ReturnType<typeof startTestServices>>;
let services: Services;
let db: Services["db"];

beforeAll(async () => {
  env = await startTestServices({
    AUTH_RATE_LIMIT_PER_IP: "1000",
    AUTH_RATE_LIMIT_PER_EMAIL: "1000",
  });
  services = env.services;
  db = services.db;
  for (const email of ["ada@example.com", "bob@example.com"]) {
    const anyone = new CallerClient(services);
    await anyone.run((c) =>
      c.auth.register({ name: email.split("@")[0], email, password: PASSWORD }),
    );
    const { token } = await latestLink(db, email, "/verify");
    await anyone.run((c) => c.auth.verifyEmail({ token }));
  }
});
afterAll(() => env?.close());

async function signIn(email: string, userAgent = "Mozilla/5.0 (X11; Linux x86_64) Firefox/130.0") {
  const browser = new CallerClient(services, { userAgent });
  await browser.run((c) => c.auth.login({ email, password: PASSWORD }));
  expect(browser.cookie).not.toBeNull();
  return browser;
}

/** A cookie with one character changed, inside the value (before the signature) or inside the signature. */
function tampered(cookieValue: string, where: "value" | "signature"): string {
  const decoded = decodeURIComponent(cookieValue);
  const dot = decoded.lastIndexOf(".");
  // A middle character of each part carries all six of its bits (the last one may not).
  const index =
    where === "value" ? Math.floor(dot / 2) : dot + 1 + Math.floor((decoded.length - dot) / 2);
  const swapped = decoded[index] === "A" ? "B" : "A";
  return encodeURIComponent(`${decoded.slice(0, index)}${swapped}${decoded.slice(index + 1)}`);
}

function withCookie(value: string | null) {
  const browser = new CallerClient(services);
  browser.cookie = value === null ? null : `${SESSION_COOKIE}=${value}`;
  return browser;
}

describe("the session cookie", () => {
  it("holds only a random token, whose sha256 is all the database keeps", async () => {
    const browser = await signIn("ada@example.com");
    const token = await services.sessionCookie.parse(browser.cookie);
    expect(token).toMatch(/^[A-Za-z0-9_-]{43}$/);
    // The signed payload is that token and nothing else: no user id, no email.
    const [payload] = decodeURIComponent(browser.cookieValue!).split(".");
    expect(Buffer.from(payload, "base64").toString("utf8")).toBe(JSON.stringify(token));

    const user = await db.user.findUniqueOrThrow({ where: { email: "ada@example.com" } });
    const rows = await db.session.findMany({ where: { userId: user.id } });
    expect(rows.map((r) => r.tokenHash)).toContain(hashToken(token));
    const everything = JSON.stringify(await db.$queryRawUnsafe('SELECT * FROM "Session"'));
    expect(everything).not.toContain(token);
    expect(everything).not.toContain(decodeURIComponent(browser.cookieValue!).split(".")[1]);
  });

  it.each(["value", "signature"] as const)(
    "is ignored when a character of its %s is changed",
    async (where) => {
      const browser = await signIn("ada@example.com");
      expect(await withCookie(browser.cookieValue).run((c) => c.auth.me())).not.toBeNull();
      const forged = withCookie(tampered(browser.cookieValue!, where));
      expect(await forged.run((c) => c.auth.me())).toBeNull();
      expect((await trpcError(forged.run((c) => c.auth.listSessions()))).code).toBe("UNAUTHORIZED");
    },
  );

  it("is ignored when signed with another secret, or when its token matches no session", async () => {
    const browser = await signIn("ada@example.com");
    const token = await services.sessionCookie.parse(browser.cookie);
    const otherSecret = createCookie(SESSION_COOKIE, { secrets: ["x".repeat(32)] });
    const foreign = (await otherSecret.serialize(token)).split(";")[0].split("=")[1];
    expect(await withCookie(foreign).run((c) => c.auth.me())).toBeNull();
    // Properly signed, but a token we never issued.
    const unknown = (await services.sessionCookie.serialize(randomToken()))
      .split(";")[0]
      .split("=")[1];
    expect(await withCookie(unknown).run((c) => c.auth.me())).toBeNull();
    for (const junk of ["", "garbage", "%E0%A4%A", "a.b.c"]) {
      expect(await withCookie(junk).run((c) => c.auth.me())).toBeNull();
    }
  });

  it("stops working when the session expires, and the expired row goes", async () => {
    const browser = await signIn("ada@example.com");
    const token = await services.sessionCookie.parse(browser.cookie);
    await db.session.update({
      where: { tokenHash: hashToken(token) },
      data: { expiresAt: new Date(Date.now() - 1_000) },
    });
    expect(await browser.run((c) => c.auth.me())).toBeNull();
    expect(await db.session.count({ where: { tokenHash: hashToken(token) } })).toBe(0);
  });
});

describe("managing sessions", () => {
  it("lists the user's own live sessions, marking the current one, without secrets", async () => {
    const ada = await signIn("ada@example.com", "Mozilla/5.0 (Macintosh; Mac OS X 14) Safari/605");
    const other = await signIn("ada@example.com", "curl/8.5");
    await signIn("bob@example.com");
    const sessions = await ada.run((c) => c.auth.listSessions());
    const adaId = (await db.user.findUniqueOrThrow({ where: { email: "ada@example.com" } })).id;
    expect(sessions).toHaveLength(await db.session.count({ where: { userId: adaId } }));
    expect(sessions.filter((s) => s.current)).toHaveLength(1);
    const current = sessions.find((s) => s.current)!;
    expect(current.userAgent).toBe("Mozilla/5.0 (Macintosh; Mac OS X 14) Safari/605");
    expect(current.ip).toBe(ada.ip);
    expect(sessions.some((s) => s.userAgent === "curl/8.5" && !s.current)).toBe(true);
    for (const s of sessions) {
      expect(Object.keys(s).sort()).toEqual([
        "createdAt",
        "current",
        "expiresAt",
        "id",
        "ip",
        "lastSeenAt",
        "userAgent",
      ]);
    }
    expect(JSON.stringify(sessions)).not.toContain(
      String(await services.sessionCookie.parse(other.cookie)),
    );
  });

  it("revokes one of the user's sessions, and refuses another user's as not found", async () => {
    const ada = await signIn("ada@example.com");
    const adaPhone = await signIn("ada@example.com");
    const bob = await signIn("bob@example.com");
    const phoneId = (await adaPhone.run((c) => c.auth.listSessions())).find((s) => s.current)!.id;

    // Bob cannot end Ada's session, and cannot learn that it exists.
    const refused = await trpcError(bob.run((c) => c.auth.revokeSession({ id: phoneId })));
    const missing = await trpcError(
      bob.run((c) => c.auth.revokeSession({ id: "no-such-session" })),
    );
    expect([refused.code, refused.message]).toEqual(["NOT_FOUND", "No such session."]);
    expect([missing.code, missing.message]).toEqual([refused.code, refused.message]);
    expect(await adaPhone.run((c) => c.auth.me())).toMatchObject({ email: "ada@example.com" });

    expect(await ada.run((c) => c.auth.revokeSession({ id: phoneId }))).toEqual({ ok: true });
    expect(await adaPhone.run((c) => c.auth.me())).toBeNull();
    expect(await ada.run((c) => c.auth.me())).toMatchObject({ email: "ada@example.com" });
    expect(ada.cookie).not.toBeNull();
    expect(await bob.run((c) => c.auth.me())).toMatchObject({ email: "bob@example.com" });
  });

  it("revoking the current session signs this browser out", async () => {
    const ada = await signIn("ada@example.com");
    const id = (await ada.run((c) => c.auth.listSessions())).find((s) => s.current)!.id;
    await ada.run((c) => c.auth.revokeSession({ id }));
    expect(ada.cookie).toBeNull();
    expect(await db.session.count({ where: { id } })).toBe(0);
  });

  it("revokes every other session of the user, and only those", async () => {
    const keep = await signIn("ada@example.com");
    const others = [await signIn("ada@example.com"), await signIn("ada@example.com")];
    const bob = await signIn("bob@example.com");
    const adaId = (await db.user.findUniqueOrThrow({ where: { email: "ada@example.com" } })).id;
    const before = await db.session.count({ where: { userId: adaId } });

    expect(await keep.run((c) => c.auth.revokeOtherSessions())).toEqual({ revoked: before - 1 });
    for (const other of others) expect(await other.run((c) => c.auth.me())).toBeNull();
    expect(await keep.run((c) => c.auth.me())).toMatchObject({ email: "ada@example.com" });
    expect(await bob.run((c) => c.auth.me())).toMatchObject({ email: "bob@example.com" });
    expect(await keep.run((c) => c.auth.listSessions())).toHaveLength(1);
  });

  it("needs a session for all of it", async () => {
    const anonymous = new CallerClient(services);
    for (const call of [
      () => anonymous.run((c) => c.auth.listSessions()),
      () => anonymous.run((c) => c.auth.revokeSession({ id: "x" })),
      () => anonymous.run((c) => c.auth.revokeOtherSessions()),
    ]) {
      const error = await trpcError(call());
      expect(error.code).toBe("UNAUTHORIZED");
      expect(error.message).toMatch(/^Sign in/);
    }
    // Logging out without a session is harmless.
    expect(await anonymous.run((c) => c.auth.logout())).toEqual({ ok: true });
  });
});
