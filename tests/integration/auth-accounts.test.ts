import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { hashToken, randomToken } from "../../server/auth/tokens";
import type { Services } from "../../server/services";
import { startTestServices } from "../helpers/app";
import { CallerClient, trpcError, withReadBarrier } from "../helpers/caller";
import { latestLink, outboxFor } from "../helpers/mail";

// Accounts through the procedures (createCaller), as the Remix pages use them.

const PASSWORD = "correct-horse-9";
const SAME_ANSWER = "If an account exists for that address, we have sent it an email.";

let env: Awaited<ReturnType<typeof startTestServices>>;
let services: Services;
let db: Services["db"];

beforeAll(async () => {
  // Rate limits have their own file; here they must not get in the way.
  env = await startTestServices({
    AUTH_RATE_LIMIT_PER_IP: "1000",
    AUTH_RATE_LIMIT_PER_EMAIL: "1000",
  });
  services = env.services;
  db = services.db;
});
afterAll(() => env?.close());

function client() {
  return new CallerClient(services);
}

async function register(email: string, password = PASSWORD, name = "Ada Lovelace") {
  return client().run((c) => c.auth.register({ name, email, password }));
}

async function registerVerified(email: string, password = PASSWORD) {
  await register(email, password);
  const { token } = await latestLink(db, email, "/verify");
  await client().run((c) => c.auth.verifyEmail({ token }));
}

async function loggedIn(email: string, password = PASSWORD) {
  const browser = client();
  await browser.run((c) => c.auth.login({ email, password }));
  return browser;
}

describe("register → verify → login → me → logout", () => {
  it("walks the whole way, storing only hashes", async () => {
    const answer = await register("Ada@Example.COM");
    expect(answer.message).toBe(
      "We sent a verification link to ada@example.com. Open it to finish creating your account.",
    );

    const user = await db.user.findUniqueOrThrow({ where: { email: "ada@example.com" } });
    expect(user.emailVerifiedAt).toBeNull();
    expect(user.passwordHash).toMatch(/^scrypt\$/);
    expect(user.passwordHash).not.toContain(PASSWORD);

    const [mail] = await outboxFor(db, "ada@example.com");
    expect(mail.subject).toBe("Verify your Cloudless email");
    const link = await latestLink(db, "ada@example.com", "/verify");
    expect(link.url).toBe(`http://cloudless.test/verify?token=${link.token}`);
    const stored = await db.userToken.findMany({ where: { userId: user.id } });
    expect(stored).toHaveLength(1);
    expect(stored[0]).toMatchObject({ kind: "VERIFY_EMAIL", tokenHash: hashToken(link.token) });
    expect(JSON.stringify(stored)).not.toContain(link.token);

    // Unverified: no session yet.
    const browser = client();
    expect(
      (
        await trpcError(
          browser.run((c) => c.auth.login({ email: "ada@example.com", password: PASSWORD })),
        )
      ).code,
    ).toBe("FORBIDDEN");

    expect(await browser.run((c) => c.auth.verifyEmail({ token: link.token }))).toEqual({
      email: "ada@example.com",
    });
    expect(
      (await db.user.findUniqueOrThrow({ where: { id: user.id } })).emailVerifiedAt,
    ).toBeInstanceOf(Date);

    const login = await browser.run((c) =>
      c.auth.login({ email: " ADA@example.com ", password: PASSWORD }),
    );
    expect(Object.keys(login.user).sort()).toEqual([
      "createdAt",
      "email",
      "emailVerifiedAt",
      "id",
      "name",
    ]);
    expect(browser.cookie).not.toBeNull();
    const me = await browser.run((c) => c.auth.me());
    expect(me).toMatchObject({ id: user.id, email: "ada@example.com", name: "Ada Lovelace" });
    expect(me).not.toHaveProperty("passwordHash");

    const oldCookie = browser.cookie;
    expect(await browser.run((c) => c.auth.logout())).toEqual({ ok: true });
    expect(browser.cookie).toBeNull();
    expect(await db.session.count({ where: { userId: user.id } })).toBe(0);
    // The old cookie is worth nothing once logged out.
    const replay = client();
    replay.cookie = oldCookie;
    expect(await replay.run((c) => c.auth.me())).toBeNull();
  });

  it("answers a wrong password and an unknown email alike", async () => {
    await registerVerified("grace@example.com");
    const wrong = await trpcError(
      client().run((c) =>
        c.auth.login({ email: "grace@example.com", password: "not-her-password" }),
      ),
    );
    const unknown = await trpcError(
      client().run((c) => c.auth.login({ email: "nobody@example.com", password: PASSWORD })),
    );
    expect([wrong.code, wrong.message]).toEqual(["UNAUTHORIZED", "Wrong email or password."]);
    expect([unknown.code, unknown.message]).toEqual([wrong.code, wrong.message]);
    expect(await db.session.count()).toBe(0);
  });
});

describe("unverified accounts", () => {
  it("are refused at login with a way to get a new link", async () => {
    await register("linus@example.com");
    const browser = client();
    const refusal = await trpcError(
      browser.run((c) => c.auth.login({ email: "linus@example.com", password: PASSWORD })),
    );
    expect(refusal.code).toBe("FORBIDDEN");
    expect(refusal.message).toBe(
      "Verify your email before logging in. We can send you a new verification link.",
    );
    expect(browser.cookie).toBeNull();
    expect(await db.session.count()).toBe(0);

    // The refusal comes only with the right password: otherwise it says nothing about the account.
    const wrong = await trpcError(
      browser.run((c) => c.auth.login({ email: "linus@example.com", password: "guessing-123" })),
    );
    expect(wrong.code).toBe("UNAUTHORIZED");

    const first = await latestLink(db, "linus@example.com", "/verify");
    expect(
      await browser.run((c) => c.auth.resendVerification({ email: "LINUS@example.com" })),
    ).toEqual({ message: SAME_ANSWER });
    const second = await latestLink(db, "linus@example.com", "/verify");
    expect(second.token).not.toBe(first.token);
    await browser.run((c) => c.auth.verifyEmail({ token: second.token }));
    await browser.run((c) => c.auth.login({ email: "linus@example.com", password: PASSWORD }));
    expect(await browser.run((c) => c.auth.me())).toMatchObject({ email: "linus@example.com" });
  });

  it("asking a new link for an unknown or verified address answers the same and sends nothing", async () => {
    await registerVerified("verified@example.com");
    const before = await db.outboxEmail.count();
    for (const email of ["verified@example.com", "unknown@example.com"]) {
      expect(await client().run((c) => c.auth.resendVerification({ email }))).toEqual({
        message: SAME_ANSWER,
      });
    }
    expect(await db.outboxEmail.count()).toBe(before);
  });
});

describe("registering an address twice", () => {
  it("answers like a first registration, keeps the one user, and sends its owner a notice", async () => {
    await registerVerified("dup@example.com");
    const original = await db.user.findUniqueOrThrow({ where: { email: "dup@example.com" } });
    const fresh = await register("fresh@example.com", "another-pass-1", "Mallory");
    const again = await register("DUP@example.com", "another-pass-1", "Mallory");
    expect(again.message).toBe(fresh.message.replace("fresh@example.com", "dup@example.com"));

    expect(await db.user.count({ where: { email: "dup@example.com" } })).toBe(1);
    const after = await db.user.findUniqueOrThrow({ where: { email: "dup@example.com" } });
    expect(after).toEqual(original);
    const mails = await outboxFor(db, "dup@example.com");
    expect(mails.map((m) => m.subject)).toEqual([
      "Verify your Cloudless email",
      "Someone tried to register with your email",
    ]);
    expect(mails[1].text).toContain("http://cloudless.test/forgot-password");
    // No new verification token for an account that is already verified.
    expect(await db.userToken.count({ where: { userId: original.id } })).toBe(1);
    // The owner's password still works; the second registrant's does not.
    await loggedIn("dup@example.com");
    const refused = await trpcError(
      client().run((c) => c.auth.login({ email: "dup@example.com", password: "another-pass-1" })),
    );
    expect(refused.code).toBe("UNAUTHORIZED");
  });

  it("sends a still-unverified account a fresh link instead", async () => {
    await register("pending@example.com");
    await register("pending@example.com");
    expect(await db.user.count({ where: { email: "pending@example.com" } })).toBe(1);
    const mails = await outboxFor(db, "pending@example.com");
    expect(mails.map((m) => m.subject)).toEqual([
      "Verify your Cloudless email",
      "Verify your Cloudless email",
    ]);
  });

  it("creates exactly one user when the same address registers several times at once", async () => {
    // All four read "no such user" before any of them inserts.
    const racing = withReadBarrier(services, "user", 4);
    const results = await Promise.allSettled(
      Array.from({ length: 4 }, () =>
        new CallerClient(racing).run((c) =>
          c.auth.register({ name: "Racer", email: "race@example.com", password: PASSWORD }),
        ),
      ),
    );
    // Every caller gets the normal answer: the losers cannot tell they lost.
    for (const result of results) {
      expect(result).toEqual({
        status: "fulfilled",
        value: {
          message:
            "We sent a verification link to race@example.com. Open it to finish creating your account.",
        },
      });
    }
    expect(await db.user.count({ where: { email: "race@example.com" } })).toBe(1);
    // The one account is whole: it verifies and logs in.
    const { token } = await latestLink(db, "race@example.com", "/verify");
    await client().run((c) => c.auth.verifyEmail({ token }));
    await loggedIn("race@example.com");
  });
});

describe("verification and reset tokens", () => {
  let userId: string;
  beforeAll(async () => {
    await register("tokens@example.com");
    userId = (await db.user.findUniqueOrThrow({ where: { email: "tokens@example.com" } })).id;
  });

  async function freshToken(kind: "VERIFY_EMAIL" | "RESET_PASSWORD", expiresInMs = 60_000) {
    const token = randomToken();
    await db.userToken.create({
      data: {
        tokenHash: hashToken(token),
        kind,
        userId,
        expiresAt: new Date(Date.now() + expiresInMs),
      },
    });
    return token;
  }

  const verify = (token: string) => client().run((c) => c.auth.verifyEmail({ token }));
  const reset = (token: string, password = "brand-new-pass-1") =>
    client().run((c) => c.auth.resetPassword({ token, password }));

  it("refuses an expired link", async () => {
    const { token } = await latestLink(db, "tokens@example.com", "/verify");
    await db.userToken.update({
      where: { tokenHash: hashToken(token) },
      data: { expiresAt: new Date(Date.now() - 1_000) },
    });
    const error = await trpcError(verify(token));
    expect([error.code, error.message]).toEqual([
      "BAD_REQUEST",
      "This link has expired. Ask for a new one.",
    ]);
    const resetToken = await freshToken("RESET_PASSWORD", -1_000);
    expect((await trpcError(reset(resetToken))).message).toBe(
      "This link has expired. Ask for a new one.",
    );
    expect(
      (await trpcError(client().run((c) => c.auth.checkResetToken({ token: resetToken })))).message,
    ).toBe("This link has expired. Ask for a new one.");
    expect((await db.user.findUniqueOrThrow({ where: { id: userId } })).emailVerifiedAt).toBeNull();
  });

  it("refuses a link used before", async () => {
    const token = await freshToken("VERIFY_EMAIL");
    await verify(token);
    const error = await trpcError(verify(token));
    expect([error.code, error.message]).toEqual([
      "BAD_REQUEST",
      "This link has already been used.",
    ]);
  });

  it("refuses a forged link and a link of the other kind", async () => {
    for (const call of [() => verify(randomToken()), () => reset(randomToken())]) {
      const error = await trpcError(call());
      expect([error.code, error.message]).toEqual(["BAD_REQUEST", "This link is not valid."]);
    }
    const verifyToken = await freshToken("VERIFY_EMAIL");
    const resetToken = await freshToken("RESET_PASSWORD");
    expect((await trpcError(reset(verifyToken))).message).toBe("This link is not valid.");
    expect((await trpcError(verify(resetToken))).message).toBe("This link is not valid.");
    expect(
      (await trpcError(client().run((c) => c.auth.checkResetToken({ token: verifyToken }))))
        .message,
    ).toBe("This link is not valid.");
    // The refusals used nothing up: both still work for what they are.
    await verify(verifyToken);
    await reset(resetToken);
  });

  it.each([
    ["too short", "abc"],
    ["too long", "a".repeat(500)],
    ["outside base64url", `${"a".repeat(30)}!$%`],
    ["empty", ""],
  ])("refuses a malformed token (%s) as bad input", async (_case, token) => {
    for (const call of [() => verify(token), () => reset(token)]) {
      const error = await trpcError(call());
      expect(error.code).toBe("BAD_REQUEST");
      expect(error.cause?.name).toBe("ZodError");
      expect(error.message).toContain("This link is not valid");
    }
  });

  it("lets exactly one of two simultaneous uses of a link through", async () => {
    // Both read the link as unused before either claims it.
    const verifyToken = await freshToken("VERIFY_EMAIL");
    const racingVerify = withReadBarrier(services, "userToken", 2);
    const verifies = await Promise.allSettled(
      [1, 2].map(() =>
        new CallerClient(racingVerify).run((c) => c.auth.verifyEmail({ token: verifyToken })),
      ),
    );
    expect(verifies.map((r) => r.status).sort()).toEqual(["fulfilled", "rejected"]);

    const resetToken = await freshToken("RESET_PASSWORD");
    const racingReset = withReadBarrier(services, "userToken", 2);
    const resets = await Promise.allSettled(
      ["first-new-pass-1", "second-new-pass-2"].map((password) =>
        new CallerClient(racingReset).run((c) =>
          c.auth.resetPassword({ token: resetToken, password }),
        ),
      ),
    );
    const won = resets.findIndex((r) => r.status === "fulfilled");
    expect(resets.filter((r) => r.status === "fulfilled")).toHaveLength(1);
    const lost = resets[1 - won];
    expect(lost.status === "rejected" && (lost.reason as Error).message).toBe(
      "This link has already been used.",
    );
    // The password is the winner's, not the loser's.
    const winner = won === 0 ? "first-new-pass-1" : "second-new-pass-2";
    const loser = won === 0 ? "second-new-pass-2" : "first-new-pass-1";
    await loggedIn("tokens@example.com", winner);
    expect(
      (
        await trpcError(
          client().run((c) => c.auth.login({ email: "tokens@example.com", password: loser })),
        )
      ).code,
    ).toBe("UNAUTHORIZED");
  });
});

describe("password reset", () => {
  it("sets the new password, ends every session, and retires the old password and links", async () => {
    await registerVerified("reset@example.com", "old-password-1");
    const laptop = await loggedIn("reset@example.com", "old-password-1");
    const phone = await loggedIn("reset@example.com", "old-password-1");
    const user = await db.user.findUniqueOrThrow({ where: { email: "reset@example.com" } });
    expect(await db.session.count({ where: { userId: user.id } })).toBe(2);

    const stranger = client();
    expect(
      await stranger.run((c) => c.auth.requestPasswordReset({ email: "reset@example.com" })),
    ).toEqual({ message: SAME_ANSWER });
    const older = await latestLink(db, "reset@example.com", "/reset-password");
    await stranger.run((c) => c.auth.requestPasswordReset({ email: "reset@example.com" }));
    const link = await latestLink(db, "reset@example.com", "/reset-password");
    expect(link.url).toBe(`http://cloudless.test/reset-password?token=${link.token}`);
    expect(await stranger.run((c) => c.auth.checkResetToken({ token: link.token }))).toEqual({
      ok: true,
    });
    // Checking used nothing up.
    expect(await stranger.run((c) => c.auth.checkResetToken({ token: link.token }))).toEqual({
      ok: true,
    });

    // Reset from the laptop, which is signed in: its cookie goes too.
    expect(
      await laptop.run((c) =>
        c.auth.resetPassword({ token: link.token, password: "new-password-2" }),
      ),
    ).toEqual({ email: "reset@example.com" });
    expect(laptop.cookie).toBeNull();
    expect(await db.session.count({ where: { userId: user.id } })).toBe(0);
    expect(await phone.run((c) => c.auth.me())).toBeNull();

    const old = await trpcError(
      client().run((c) => c.auth.login({ email: "reset@example.com", password: "old-password-1" })),
    );
    expect(old.code).toBe("UNAUTHORIZED");
    await loggedIn("reset@example.com", "new-password-2");
    // The other link from before is spent as well.
    expect(
      (
        await trpcError(
          client().run((c) =>
            c.auth.resetPassword({ token: older.token, password: "third-pass-3" }),
          ),
        )
      ).message,
    ).toBe("This link has already been used.");
  });

  it("answers the same whether or not the address has an account, and mails only real ones", async () => {
    await registerVerified("someone@example.com");
    const tokensBefore = await db.userToken.count();
    const known = await client().run((c) =>
      c.auth.requestPasswordReset({ email: "someone@example.com" }),
    );
    const unknown = await client().run((c) =>
      c.auth.requestPasswordReset({ email: "no-one@example.com" }),
    );
    expect(unknown).toEqual(known);
    expect(await outboxFor(db, "no-one@example.com")).toHaveLength(0);
    expect((await outboxFor(db, "someone@example.com")).at(-1)?.subject).toBe(
      "Reset your Cloudless password",
    );
    expect(await db.userToken.count()).toBe(tokensBefore + 1);
  });

  it("verifies the email of an account that had not verified yet (the link proved the mailbox)", async () => {
    await register("late@example.com");
    await client().run((c) => c.auth.requestPasswordReset({ email: "late@example.com" }));
    const { token } = await latestLink(db, "late@example.com", "/reset-password");
    await client().run((c) => c.auth.resetPassword({ token, password: "chosen-later-1" }));
    await loggedIn("late@example.com", "chosen-later-1");
  });

  it("refuses a weak or huge new password without using up the link", async () => {
    await registerVerified("weak@example.com");
    await client().run((c) => c.auth.requestPasswordReset({ email: "weak@example.com" }));
    const { token } = await latestLink(db, "weak@example.com", "/reset-password");
    for (const password of ["short", "x".repeat(1024 * 1024)]) {
      const error = await trpcError(client().run((c) => c.auth.resetPassword({ token, password })));
      expect(error.code).toBe("BAD_REQUEST");
    }
    expect(await client().run((c) => c.auth.checkResetToken({ token }))).toEqual({ ok: true });
  });
});
