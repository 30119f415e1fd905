import http from "node:http";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { hashPassword } from "../../server/auth/password";
import type { Mailer } from "../../server/mail/mailer";
import { startTestApp, type TestApp } from "../helpers/app";
import { HttpClient } from "../helpers/http-client";
import { latestLink } from "../helpers/mail";

// Authentication over real HTTP: the Remix forms as a browser without
// JavaScript posts them, tRPC as programs call it, and the checks in front of both.

const PASSWORD = "correct-horse-9";

// Every test user has this password: hash it once per file (scrypt is the suite's main cost).
let sharedHash: Promise<string> | undefined;
function passwordHash() {
  sharedHash ??= hashPassword(PASSWORD);
  return sharedHash;
}

let app: TestApp;
let proxied: TestApp;

beforeAll(async () => {
  [app, proxied] = await Promise.all([
    startTestApp({ AUTH_RATE_LIMIT_PER_IP: "1000", AUTH_RATE_LIMIT_PER_EMAIL: "1000" }),
    // Behind a TLS-terminating reverse proxy that says so in X-Forwarded-Proto,
    // with its public URL configured.
    startTestApp({
      TRUST_PROXY: "1",
      BASE_URL: "https://cloudless.example.com",
      AUTH_RATE_LIMIT_PER_IP: "1000",
      AUTH_RATE_LIMIT_PER_EMAIL: "1000",
    }),
  ]);
});
afterAll(() => Promise.all([app?.close(), proxied?.close()]));

async function verifiedUser(target: TestApp, email: string, name = "Test User") {
  return target.services.db.user.create({
    data: { email, name, passwordHash: await passwordHash(), emailVerifiedAt: new Date() },
  });
}

async function browserSignedIn(target: TestApp, email: string) {
  const browser = new HttpClient(target.url);
  const response = await browser.form("/login", { email, password: PASSWORD });
  expect(response.status).toBe(302);
  expect(browser.cookie("cl_session")).toBeDefined();
  return browser;
}

function sessionCookieLine(response: Response): string {
  const line = response.headers.getSetCookie().find((c) => c.startsWith("cl_session="));
  if (!line) throw new Error("no cl_session cookie was set");
  return line;
}

describe("the forms, without JavaScript", () => {
  it("sign up, verify, log in, see the dashboard and log out", async () => {
    const browser = new HttpClient(app.url);
    expect((await browser.get("/register")).status).toBe(200);
    const registered = await browser.form("/register", {
      name: "Hedy Lamarr",
      email: "hedy@example.com",
      password: PASSWORD,
    });
    expect(registered.status).toBe(200);
    const page = await registered.text();
    expect(page).toContain("Check your email");
    expect(page).toContain("We sent a verification link to hedy@example.com.");
    expect(page).not.toContain(PASSWORD);

    const link = await latestLink(app.services.db, "hedy@example.com", "/verify");
    expect(link.url.startsWith(`${app.url}/verify?token=`)).toBe(true);
    // Opening the link only shows a button: mail scanners that prefetch it use nothing up.
    const opened = await browser.get(new URL(link.url).pathname + new URL(link.url).search);
    expect(opened.status).toBe(200);
    expect(await opened.text()).toContain("Verify my email");
    expect(await app.services.db.userToken.count({ where: { usedAt: { not: null } } })).toBe(0);

    const verified = await browser.form("/verify", { intent: "verify", token: link.token });
    expect(verified.status).toBe(302);
    expect(verified.headers.get("location")).toBe("/login?notice=verified");

    const login = await browser.form("/login", { email: "hedy@example.com", password: PASSWORD });
    expect(login.status).toBe(302);
    expect(login.headers.get("location")).toBe("/user");
    const dashboard = await browser.get("/user");
    expect(dashboard.status).toBe(200);
    expect(await dashboard.text()).toContain("Hedy Lamarr");
    const me = await browser.query<{ email: string }>("auth.me");
    expect(me.body.result?.data).toMatchObject({ email: "hedy@example.com" });

    const logout = await browser.form("/logout", {});
    expect(logout.status).toBe(302);
    expect(logout.headers.get("location")).toBe("/login?notice=logged-out");
    expect(sessionCookieLine(logout)).toMatch(/Max-Age=0/);
    expect(browser.cookie("cl_session")).toBeUndefined();
    const after = await browser.get("/user");
    expect(after.status).toBe(302);
    expect(after.headers.get("location")).toBe("/login?next=%2Fuser");
    expect(await app.services.db.session.count()).toBe(0);
  });

  it("refuse an unverified login with 403 and a link to a new verification email", async () => {
    const browser = new HttpClient(app.url);
    await browser.form("/register", {
      name: "Unverified",
      email: "later@example.com",
      password: PASSWORD,
    });
    const login = await browser.form("/login", { email: "later@example.com", password: PASSWORD });
    expect(login.status).toBe(403);
    const page = await login.text();
    expect(page).toContain("Verify your email before logging in.");
    expect(page).toContain('href="/verify?email=later%40example.com"');
    expect(browser.cookie("cl_session")).toBeUndefined();

    const resent = await browser.form("/verify", { intent: "resend", email: "later@example.com" });
    expect(resent.status).toBe(200);
    const { token } = await latestLink(app.services.db, "later@example.com", "/verify");
    expect((await browser.form("/verify", { intent: "verify", token })).status).toBe(302);
    expect(
      (await browser.form("/login", { email: "later@example.com", password: PASSWORD })).status,
    ).toBe(302);
  });

  it("answer a wrong password with 401 and keep the email, never the password", async () => {
    await verifiedUser(app, "wrongpw@example.com");
    const response = await new HttpClient(app.url).form("/login", {
      email: "wrongpw@example.com",
      password: "Not-The-Password-42",
    });
    expect(response.status).toBe(401);
    const page = await response.text();
    expect(page).toContain("Wrong email or password.");
    expect(page).toContain('value="wrongpw@example.com"');
    expect(page).not.toContain("Not-The-Password-42");
  });

  it("go back to a same-site ?next= after login, never to another site", async () => {
    await verifiedUser(app, "next@example.com");
    for (const [next, location] of [
      ["/user/settings", "/user/settings"],
      ["//evil.example/phish", "/user"],
      ["https://evil.example/", "/user"],
      ["/\\evil.example", "/user"],
    ]) {
      const browser = new HttpClient(app.url);
      const response = await browser.form("/login", {
        email: "next@example.com",
        password: PASSWORD,
        next,
      });
      expect(response.status).toBe(302);
      expect(response.headers.get("location")).toBe(location);
    }
  });

  it("answer a password-reset request identically whether or not the account exists", async () => {
    await verifiedUser(app, "forgetful@example.com");
    const known = await new HttpClient(app.url).form("/forgot-password", {
      email: "forgetful@example.com",
    });
    const unknown = await new HttpClient(app.url).form("/forgot-password", {
      email: "stranger@example.com",
    });
    expect([known.status, unknown.status]).toEqual([200, 200]);
    const [knownPage, unknownPage] = [await known.text(), await unknown.text()];
    expect(knownPage).toContain("If an account exists for that address, we have sent it an email.");
    expect(unknownPage).toBe(knownPage);
  });

  it("reset the password through the form, signing every browser out", async () => {
    await verifiedUser(app, "resetter@example.com");
    const laptop = await browserSignedIn(app, "resetter@example.com");
    const anyone = new HttpClient(app.url);
    await anyone.form("/forgot-password", { email: "resetter@example.com" });
    const { token } = await latestLink(app.services.db, "resetter@example.com", "/reset-password");
    const form = await anyone.get(`/reset-password?token=${token}`);
    expect(form.status).toBe(200);
    expect(await form.text()).toContain("Choose a new password");

    const done = await anyone.form("/reset-password", { token, password: "a-new-password-7" });
    expect(done.status).toBe(302);
    expect(done.headers.get("location")).toBe("/login?notice=reset");
    expect((await laptop.get("/user")).status).toBe(302);
    const old = await new HttpClient(app.url).form("/login", {
      email: "resetter@example.com",
      password: PASSWORD,
    });
    expect(old.status).toBe(401);
    const again = await anyone.get(`/reset-password?token=${token}`);
    expect(await again.text()).toContain("This link has already been used.");
  });

  it("manage sessions from the settings page, and 404 for someone else's", async () => {
    await verifiedUser(app, "owner@example.com");
    await verifiedUser(app, "intruder@example.com");
    const owner = await browserSignedIn(app, "owner@example.com");
    const ownerPhone = await browserSignedIn(app, "owner@example.com");
    const intruder = await browserSignedIn(app, "intruder@example.com");
    const phoneSessions =
      await ownerPhone.query<Array<{ id: string; current: boolean }>>("auth.listSessions");
    const phoneId = phoneSessions.body.result!.data.find((s) => s.current)!.id;

    const stolen = await intruder.form("/user/settings", { intent: "revoke", id: phoneId });
    expect(stolen.status).toBe(404);
    expect(await stolen.text()).toContain("No such session.");
    expect((await ownerPhone.get("/user")).status).toBe(200);

    const others = await owner.form("/user/settings", { intent: "revoke-others" });
    expect(others.status).toBe(200);
    expect(await others.text()).toContain("Signed out 1 other session");
    expect((await ownerPhone.get("/user")).status).toBe(302);
    expect((await owner.get("/user")).status).toBe(200);
    expect((await intruder.get("/user")).status).toBe(200);
  });
});

describe("the session cookie over HTTP", () => {
  it("is HttpOnly and SameSite=Lax, and not Secure over plain http", async () => {
    await verifiedUser(app, "flags@example.com");
    const form = await new HttpClient(app.url).form("/login", {
      email: "flags@example.com",
      password: PASSWORD,
    });
    const program = new HttpClient(app.url);
    const rpc = await program.mutation("auth.login", {
      email: "flags@example.com",
      password: PASSWORD,
    });
    expect(rpc.status).toBe(200);
    for (const line of [sessionCookieLine(form), rpc.headers.getSetCookie()[0]]) {
      expect(line).toMatch(/^cl_session=[^;]+; Max-Age=2592000; Path=\/; HttpOnly; SameSite=Lax$/);
    }
    // The cookie a tRPC login sets is a working session, and a tRPC logout ends it.
    expect((await program.query("auth.me")).body.result?.data).toMatchObject({
      email: "flags@example.com",
    });
    const saved = program.cookie("cl_session")!;
    const logout = await program.mutation("auth.logout");
    expect(logout.headers.getSetCookie()[0]).toMatch(/^cl_session=; Max-Age=0;/);
    const replay = new HttpClient(app.url);
    replay.setCookie("cl_session", saved);
    expect((await replay.query("auth.me")).body.result).toEqual({ data: null });
  });

  it("ignores X-Forwarded-Proto unless TRUST_PROXY is on (anyone can send it)", async () => {
    await verifiedUser(app, "spoof@example.com");
    const response = await new HttpClient(app.url).form(
      "/login",
      { email: "spoof@example.com", password: PASSWORD },
      { "X-Forwarded-Proto": "https" },
    );
    expect(sessionCookieLine(response)).not.toMatch(/Secure/i);
  });

  it("is Secure when a trusted proxy says the browser came over https", async () => {
    await verifiedUser(proxied, "secure@example.com");
    const https = { "X-Forwarded-Proto": "https" };
    const browser = new HttpClient(proxied.url);
    const form = await browser.form(
      "/login",
      { email: "secure@example.com", password: PASSWORD },
      https,
    );
    expect(sessionCookieLine(form)).toMatch(/; HttpOnly; Secure; SameSite=Lax$/);
    const rpc = await new HttpClient(proxied.url).mutation(
      "auth.login",
      { email: "secure@example.com", password: PASSWORD },
      https,
    );
    expect(rpc.headers.getSetCookie()[0]).toMatch(/; HttpOnly; Secure; SameSite=Lax$/);
    // Signing out clears it with the same attributes, or the browser would keep the Secure one.
    const logout = await browser.form("/logout", {}, https);
    expect(sessionCookieLine(logout)).toMatch(/Max-Age=0.*Secure/);
    // This app's public BASE_URL is https, so even a request that reached it
    // without the proxy's header gets a Secure cookie (server/auth/cookie.ts).
    const plain = await new HttpClient(proxied.url).form("/login", {
      email: "secure@example.com",
      password: PASSWORD,
    });
    expect(sessionCookieLine(plain)).toMatch(/; Secure;/);
  });

  it("signs out a browser whose cookie was tampered with or whose session expired", async () => {
    await verifiedUser(app, "tamper@example.com");
    const browser = await browserSignedIn(app, "tamper@example.com");
    const value = decodeURIComponent(browser.cookie("cl_session")!);
    const i = Math.floor(value.indexOf(".") / 2);
    const forged = new HttpClient(app.url);
    forged.setCookie(
      "cl_session",
      encodeURIComponent(
        `${value.slice(0, i)}${value[i] === "A" ? "B" : "A"}${value.slice(i + 1)}`,
      ),
    );
    expect((await forged.get("/user")).headers.get("location")).toBe("/login?next=%2Fuser");
    expect((await forged.query("auth.me")).body.result).toEqual({ data: null });
    expect((await browser.get("/user")).status).toBe(200);

    await app.services.db.session.updateMany({
      where: { user: { email: "tamper@example.com" } },
      data: { expiresAt: new Date(Date.now() - 1_000) },
    });
    expect((await browser.get("/user")).headers.get("location")).toBe("/login?next=%2Fuser");
  });
});

describe("cross-site requests (CSRF)", () => {
  // Refusals of every form and mutation are in csrf.test.ts; here, what still passes.
  let victim: HttpClient;
  beforeAll(async () => {
    await verifiedUser(app, "victim@example.com", "Victim");
    victim = await browserSignedIn(app, "victim@example.com");
  });

  /** The victim's browser, carrying the victim's cookie, sent from the attacker's page. */
  function fromAttacker(headers: Record<string, string>) {
    const browser = new HttpClient(app.url, headers);
    browser.setCookie("cl_session", victim.cookie("cl_session")!);
    return browser;
  }

  it("still lets other sites link to pages (GET is never refused)", async () => {
    const response = await fromAttacker({ "Sec-Fetch-Site": "cross-site" }).get("/user/settings");
    expect(response.status).toBe(200);
  });

  it.each([
    ["Sec-Fetch-Site: same-origin", { "Sec-Fetch-Site": "same-origin" }, 1],
    ["Sec-Fetch-Site: none (typed or bookmarked)", { "Sec-Fetch-Site": "none" }, 2],
    ["an Origin matching Host (older browsers)", { Origin: "SELF" }, 3],
    ["no browser headers at all (programs)", {}, 4],
  ])("accepts mutations with %s", async (_name, headers, n) => {
    const resolved = Object.fromEntries(
      Object.entries(headers).map(([k, v]) => [k, v === "SELF" ? new URL(app.url).origin : v]),
    );
    const email = `allowed-${n}@example.com`;
    await verifiedUser(app, email);
    const client = new HttpClient(app.url, resolved);
    const login = await client.mutation("auth.login", { email, password: PASSWORD });
    expect(login.status).toBe(200);
    expect(await app.services.db.session.count({ where: { user: { email } } })).toBe(1);
    const form = await client.form("/logout", {});
    expect(form.status).toBe(302);
    expect(await app.services.db.session.count({ where: { user: { email } } })).toBe(0);
  });
});

describe("tRPC errors", () => {
  function assertNoInternals(text: string) {
    expect(text).not.toMatch(/"stack"/);
    expect(text).not.toMatch(/\bat [\w.<>]+ \(|node:internal|node_modules|\/work\/|\.ts:\d+/);
  }

  it("carry a code, a message and field errors, never a stack trace", async () => {
    const client = new HttpClient(app.url);
    const cases = [
      [await client.mutation("auth.register", { name: "", email: "x", password: "y" }), 400],
      [
        await client.mutation("auth.login", { email: "nobody@example.com", password: PASSWORD }),
        401,
      ],
      [await client.query("auth.listSessions"), 401],
      [await client.query("auth.noSuchProcedure"), 404],
      [await client.query("auth.login"), 405],
      [await client.mutationRaw("auth.login", "{not json"), 400],
    ] as const;
    for (const [result, status] of cases) {
      expect(result.status).toBe(status);
      expect(result.body.error?.message).toEqual(expect.any(String));
      expect(result.body.error?.data.httpStatus).toBe(status);
      assertNoInternals(result.text);
    }
    expect(cases[0][0].body.error?.data.fieldErrors).toEqual({
      name: ["Enter your name"],
      email: ["Enter a valid email address"],
      password: ["Use at least 8 characters"],
    });
  });

  it("hide an unexpected failure's details behind a generic 500", async () => {
    const mailer = app.services.mailer;
    // A real database error in the middle of a procedure.
    const broken: Mailer = {
      kind: "outbox",
      async send() {
        await app.services.db.$queryRawUnsafe("SELECT * FROM no_such_table_xyz");
      },
    };
    app.services.mailer = broken;
    try {
      const result = await new HttpClient(app.url).mutation("auth.register", {
        name: "Broken",
        email: "broken@example.com",
        password: PASSWORD,
      });
      expect(result.status).toBe(500);
      expect(result.body.error?.message).toBe(
        "Something went wrong on our side. Try again in a moment.",
      );
      expect(result.text).not.toContain("no_such_table_xyz");
      assertNoInternals(result.text);
    } finally {
      app.services.mailer = mailer;
    }
  });

  it("reject a body over the limit with 413 before reading it", async () => {
    const big = "x".repeat(4 * 1024 * 1024 + 1);
    const response = await new HttpClient(app.url).request("/api/trpc/auth.login", {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: big,
    });
    expect(response.status).toBe(413);
  });
});

describe("emailed links", () => {
  /** A form post with a Host header of our choosing (fetch will not send one). */
  function postWithHost(
    target: TestApp,
    path: string,
    fields: Record<string, string>,
    host: string,
  ) {
    const body = new URLSearchParams(fields).toString();
    const url = new URL(path, target.url);
    return new Promise<number>((resolve, reject) => {
      const request = http.request(
        url,
        {
          method: "POST",
          headers: {
            Host: host,
            "X-Forwarded-Host": host,
            "Content-Type": "application/x-www-form-urlencoded",
            "Content-Length": Buffer.byteLength(body),
          },
        },
        (response) => {
          response.resume();
          response.on("end", () => resolve(response.statusCode ?? 0));
        },
      );
      request.on("error", reject);
      request.end(body);
    });
  }

  it("point at BASE_URL whatever Host the request claims (no reset poisoning)", async () => {
    await verifiedUser(proxied, "poison@example.com");
    expect(
      await postWithHost(
        proxied,
        "/forgot-password",
        { email: "poison@example.com" },
        "evil.example",
      ),
    ).toBe(200);
    const link = await latestLink(proxied.services.db, "poison@example.com", "/reset-password");
    expect(link.url.startsWith("https://cloudless.example.com/reset-password?token=")).toBe(true);
  });

  it("follow the request's origin when BASE_URL is not configured (development)", async () => {
    await verifiedUser(app, "links@example.com");
    const sent = await new HttpClient(app.url).form("/forgot-password", {
      email: "links@example.com",
    });
    expect(sent.status).toBe(200);
    const link = await latestLink(app.services.db, "links@example.com", "/reset-password");
    expect(link.url.startsWith(`${app.url}/reset-password?token=`)).toBe(true);
  });
});
