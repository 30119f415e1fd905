import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { hashPassword } from "../../server/auth/password";
import { startTestApp, startTestServices, type TestApp } from "../helpers/app";
import { CallerClient, trpcError } from "../helpers/caller";
import { HttpClient } from "../helpers/http-client";
import { latestLink } from "../helpers/mail";

// Small budgets so floods are short: 3 attempts per email, 6 per address.

const PASSWORD = "correct-horse-9";

// Every test user has this password: hash it once per file (scrypt is the suite's main cost).
let sharedHash: Promise<string> | undefined;
function passwordHash() {
  sharedHash ??= hashPassword(PASSWORD);
  return sharedHash;
}
const LIMITS = { AUTH_RATE_LIMIT_PER_EMAIL: "3", AUTH_RATE_LIMIT_PER_IP: "6" };
const WAIT = "Too many attempts. Try again in 15 minutes.";

let app: TestApp;
/** The same limits without TRUST_PROXY: X-Forwarded-For is then anyone's to write. */
let direct: TestApp;

beforeAll(async () => {
  [app, direct] = await Promise.all([
    startTestApp({ ...LIMITS, TRUST_PROXY: "1" }),
    startTestApp(LIMITS),
  ]);
});
afterAll(() => Promise.all([app?.close(), direct?.close()]));

async function verifiedUser(target: TestApp, email: string) {
  await target.services.db.user.create({
    data: {
      email,
      name: "Target",
      passwordHash: await passwordHash(),
      emailVerifiedAt: new Date(),
    },
  });
}

let nextAddress = 1;
/** A client at its own address (the trusted proxy passes it in X-Forwarded-For). */
function from(target: TestApp, ip = `203.0.113.${nextAddress++}`) {
  return new HttpClient(target.url, {
    Origin: new URL(target.url).origin,
    "Sec-Fetch-Site": "same-origin",
    "X-Forwarded-For": ip,
  });
}

function login(client: HttpClient, email: string, password: string) {
  return client.mutation("auth.login", { email, password });
}

describe("login flooding", () => {
  it("for one email is refused with 429 after the per-email budget, from any address", async () => {
    await verifiedUser(app, "victim@example.com");
    for (let i = 0; i < 3; i++) {
      expect((await login(from(app), "victim@example.com", `guess-${i}-wrong`)).status).toBe(401);
    }
    // Even the right password is refused now: the attacker learns nothing more.
    const blocked = await login(from(app), "victim@example.com", PASSWORD);
    expect(blocked.status).toBe(429);
    expect(blocked.body.error?.data.code).toBe("TOO_MANY_REQUESTS");
    expect(blocked.body.error?.message).toBe(WAIT);
    expect(blocked.headers.getSetCookie()).toEqual([]);
    expect(await app.services.db.session.count()).toBe(0);

    // The form says it too, with the same status.
    const form = await from(app).form("/login", {
      email: "VICTIM@example.com",
      password: PASSWORD,
    });
    expect(form.status).toBe(429);
    expect(await form.text()).toContain(WAIT);

    // Other accounts are not held hostage.
    await verifiedUser(app, "bystander@example.com");
    expect((await login(from(app), "bystander@example.com", PASSWORD)).status).toBe(200);
  });

  it("counts again from zero after a successful login", async () => {
    await verifiedUser(app, "typo@example.com");
    const client = from(app);
    expect((await login(client, "typo@example.com", "typo-one-1")).status).toBe(401);
    expect((await login(client, "typo@example.com", "typo-two-2")).status).toBe(401);
    expect((await login(client, "typo@example.com", PASSWORD)).status).toBe(200);
    // A full fresh budget: three failures, then the refusal.
    const after = [];
    for (let i = 0; i < 4; i++)
      after.push((await login(from(app), "typo@example.com", `typo-${i}-x`)).status);
    expect(after).toEqual([401, 401, 401, 429]);
  });

  it("from one address is refused with 429 after the per-IP budget, whatever the emails", async () => {
    const attacker = "198.51.100.66";
    const statuses = [];
    for (let i = 0; i < 7; i++) {
      statuses.push((await login(from(app, attacker), `user${i}@example.com`, PASSWORD)).status);
    }
    expect(statuses).toEqual([401, 401, 401, 401, 401, 401, 429]);
    // Someone else behind the same proxy is unaffected.
    expect((await login(from(app, "198.51.100.67"), "user0@example.com", PASSWORD)).status).toBe(
      401,
    );
  });

  it("cannot escape the per-IP budget with a forged X-Forwarded-For when no proxy is trusted", async () => {
    const statuses = [];
    for (let i = 0; i < 7; i++) {
      statuses.push((await login(from(direct), `spoof${i}@example.com`, PASSWORD)).status);
    }
    expect(statuses).toEqual([401, 401, 401, 401, 401, 401, 429]);
  });
});

// Nodes behind a balancer share one database, and with it the budgets: the
// attempts of a flood spread round robin over two nodes add up.
describe("several nodes", () => {
  let other: TestApp;
  beforeAll(async () => {
    other = await startTestApp({
      ...LIMITS,
      TRUST_PROXY: "1",
      DATABASE_URL: app.services.config.databaseUrl ?? "",
    });
  });
  afterAll(() => other?.close());

  it("spend from one budget per email and per address", async () => {
    await verifiedUser(app, "shared@example.com");
    const byEmail = [];
    for (let i = 0; i < 4; i++) {
      const node = i % 2 === 0 ? app : other;
      byEmail.push((await login(from(node), "shared@example.com", `guess-${i}-wrong`)).status);
    }
    expect(byEmail).toEqual([401, 401, 401, 429]);
    expect((await login(from(app), "shared@example.com", PASSWORD)).status).toBe(429);
    expect((await login(from(other), "shared@example.com", PASSWORD)).status).toBe(429);

    const attacker = "198.51.100.99";
    const byIp = [];
    for (let i = 0; i < 7; i++) {
      const node = i % 2 === 0 ? other : app;
      byIp.push((await login(from(node, attacker), `spread${i}@example.com`, PASSWORD)).status);
    }
    expect(byIp).toEqual([401, 401, 401, 401, 401, 401, 429]);
    // The budgets are rows in the shared database, not in either process.
    expect(
      await app.services.db.authAttempt.count({ where: { key: { contains: attacker } } }),
    ).toBe(1);
  });
});

// What a flood against one address does to its real owner: the per-email
// budget is shared by every IP (that is what stops a botnet guessing one
// password), so the owner is held out too, but only until the window that the
// flood's first attempt opened ends (AUTH_RATE_LIMIT_WINDOW_SECONDS), or at once
// after resetting the password. A flood repeated every window keeps it shut.
describe("the real user of a flooded address", () => {
  let short: TestApp;
  beforeAll(async () => {
    short = await startTestApp({
      ...LIMITS,
      TRUST_PROXY: "1",
      // Long enough for the flood and the refusal to fall in one window on a loaded machine.
      AUTH_RATE_LIMIT_WINDOW_SECONDS: "5",
    });
  });
  afterAll(() => short?.close());

  async function flood(email: string) {
    await verifiedUser(short, email);
    const attacker = `198.51.100.${nextAddress++}`;
    for (let i = 0; i < 3; i++) {
      expect((await login(from(short, attacker), email, `guess-${i}-wrong`)).status).toBe(401);
    }
  }

  it("is refused from another address until the window ends, then signs in", async () => {
    await flood("owner@example.com");
    const home = "192.0.2.10";
    const locked = await login(from(short, home), "owner@example.com", PASSWORD);
    expect(locked.status).toBe(429);
    const wait = /^Too many attempts\. Try again in ([1-5]) seconds\.$/.exec(
      locked.body.error?.message ?? "",
    );
    expect(wait, locked.text).not.toBeNull();
    // Past the window it named (plus a margin), not forever.
    await new Promise((r) => setTimeout(r, Number(wait![1]) * 1000 + 1000));
    const after = await login(from(short, home), "owner@example.com", PASSWORD);
    expect(after.status).toBe(200);
    expect(after.headers.getSetCookie().some((c) => c.startsWith("cl_session="))).toBe(true);
  });

  it("gets in at once after resetting the password (the link proves the mailbox)", async () => {
    await flood("resetter@example.com");
    const home = from(short, "192.0.2.11");
    expect((await login(home, "resetter@example.com", PASSWORD)).status).toBe(429);
    await home.mutation("auth.requestPasswordReset", { email: "resetter@example.com" });
    const { token } = await latestLink(
      short.services.db,
      "resetter@example.com",
      "/reset-password",
    );
    const reset = await home.mutation("auth.resetPassword", {
      token,
      password: "a-new-password-7",
    });
    expect(reset.status).toBe(200);
    expect((await login(home, "resetter@example.com", "a-new-password-7")).status).toBe(200);
  });
});

describe("other flooded actions", () => {
  it("registration of one email is limited too, and the flood stores one user", async () => {
    const statuses = [];
    for (let i = 0; i < 4; i++) {
      const result = await from(app).mutation("auth.register", {
        name: "Flood",
        email: "flood@example.com",
        password: PASSWORD,
      });
      statuses.push(result.status);
    }
    expect(statuses).toEqual([200, 200, 200, 429]);
    expect(await app.services.db.user.count({ where: { email: "flood@example.com" } })).toBe(1);
    expect(await app.services.db.outboxEmail.count({ where: { to: "flood@example.com" } })).toBe(3);
  });

  it("password-reset requests for one email are limited, so nobody can flood an inbox", async () => {
    await verifiedUser(app, "inbox@example.com");
    const statuses = [];
    for (let i = 0; i < 4; i++) {
      statuses.push(
        (await from(app).mutation("auth.requestPasswordReset", { email: "inbox@example.com" }))
          .status,
      );
    }
    expect(statuses).toEqual([200, 200, 200, 429]);
    expect(await app.services.db.outboxEmail.count({ where: { to: "inbox@example.com" } })).toBe(3);
  });
});

describe("through createCaller", () => {
  it("answers TOO_MANY_REQUESTS with the wait", async () => {
    const env = await startTestServices({ AUTH_RATE_LIMIT_PER_EMAIL: "3" });
    try {
      const codes = [];
      for (let i = 0; i < 4; i++) {
        const error = await trpcError(
          new CallerClient(env.services).run((c) =>
            c.auth.login({ email: "someone@example.com", password: `wrong-${i}-pass` }),
          ),
        );
        codes.push(error.code);
        if (i === 3) expect(error.message).toBe(WAIT);
      }
      expect(codes).toEqual(["UNAUTHORIZED", "UNAUTHORIZED", "UNAUTHORIZED", "TOO_MANY_REQUESTS"]);
    } finally {
      await env.close();
    }
  });
});
