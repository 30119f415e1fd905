import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createApiKey } from "../../server/auth/api-keys";
import { hashPassword } from "../../server/auth/password";
import { createCloudlessClient } from "../../server/client";
import { startTestApp, type TestApp } from "../helpers/app";
import { type Deployed, deploy } from "../helpers/docker";
import { HttpClient } from "../helpers/http-client";
import { latestLink } from "../helpers/mail";

// A session cookie copied before the session ended (logout, password reset)
// and replayed afterwards, on every door a cookie opens: pages and their
// forms, tRPC, and private function URLs. No engine runs in this file: a call
// that gets past auth answers 503 (engine unavailable); a refused one, 401.

const PASSWORD = "correct-horse-9";
const NEW_PASSWORD = "a-new-password-7";

let app: TestApp;
let passwordHash: string;

beforeAll(async () => {
  [app, passwordHash] = await Promise.all([
    startTestApp({ AUTH_RATE_LIMIT_PER_IP: "1000", AUTH_RATE_LIMIT_PER_EMAIL: "1000" }),
    hashPassword(PASSWORD),
  ]);
});
afterAll(() => app?.close());

interface Account {
  id: string;
  email: string;
  key: string;
  fn: Deployed;
}

/** A verified user with a password, an API key and a private function. */
async function account(email: string): Promise<Account> {
  const user = await app.services.db.user.create({
    data: { email, name: "Replay", passwordHash, emailVerifiedAt: new Date() },
  });
  const { key } = await createApiKey(app.services.db, user.id, "programs");
  const sdk = createCloudlessClient({ url: app.url, apiKey: key });
  const fn = await deploy(
    { id: user.id, email, key, cookie: "", sdk },
    {
      name: "private-fn",
      runtime: "python",
      handler: "private.main",
      code: "def main(event, context):\n    return 1\n",
    },
  );
  return { id: user.id, email, key, fn };
}

async function signIn(email: string, password = PASSWORD): Promise<HttpClient> {
  const browser = new HttpClient(app.url);
  const response = await browser.form("/login", { email, password });
  expect(response.status).toBe(302);
  return browser;
}

/** A browser that only has this cookie value (copied from another one). */
function replaying(cookieValue: string): HttpClient {
  const browser = new HttpClient(app.url);
  browser.setCookie("cl_session", cookieValue);
  return browser;
}

function invoke(browser: HttpClient, fn: Deployed) {
  return browser.get(`/api/function/${fn.userId}/${fn.handler}/docker`);
}

/** Every door the cookie opens, open. */
async function expectSignedIn(browser: HttpClient, who: Account) {
  expect((await browser.get("/user")).status).toBe(200);
  expect((await browser.query<{ id: string }>("auth.me")).body.result?.data.id).toBe(who.id);
  expect((await browser.query("functions.list")).status).toBe(200);
  expect((await browser.query("auth.listSessions")).status).toBe(200);
  const call = await invoke(browser, who.fn);
  expect(call.status).toBe(503);
  expect((await call.json()).error).toBe("The docker engine is unavailable");
}

/** Every door shut: pages send to login, tRPC is UNAUTHORIZED, the function URL 401. */
async function expectSignedOut(browser: HttpClient, who: Account) {
  const page = await browser.get("/user/settings");
  expect(page.status).toBe(302);
  expect(page.headers.get("location")).toBe("/login?next=%2Fuser%2Fsettings");
  const form = await browser.form("/user/settings", { intent: "create-key", name: "replayed" });
  expect(form.status).toBe(302);
  expect(form.headers.get("location")).toMatch(/^\/login\?next=/);
  expect(await app.services.db.apiKey.count({ where: { name: "replayed" } })).toBe(0);
  expect((await browser.query("auth.me")).body.result?.data).toBeNull();
  for (const procedure of ["functions.list", "auth.listSessions", "apiKeys.list"]) {
    const result = await browser.query(procedure);
    expect({ procedure, status: result.status, code: result.body.error?.data.code }).toEqual({
      procedure,
      status: 401,
      code: "UNAUTHORIZED",
    });
  }
  const call = await invoke(browser, who.fn);
  expect(call.status).toBe(401);
  expect((await call.json()).error).toMatch(/private/);
}

describe("a session cookie replayed", () => {
  it("after logging out with the form is refused everywhere", async () => {
    const who = await account("form-logout@example.com");
    const browser = await signIn(who.email);
    const copied = browser.cookie("cl_session")!;
    await expectSignedIn(replaying(copied), who);
    const out = await browser.form("/logout", {});
    expect(out.status).toBe(302);
    expect(browser.cookie("cl_session")).toBeUndefined();
    await expectSignedOut(replaying(copied), who);
  });

  it("after logging out through tRPC is refused everywhere", async () => {
    const who = await account("trpc-logout@example.com");
    const browser = await signIn(who.email);
    const copied = browser.cookie("cl_session")!;
    expect((await browser.mutation("auth.logout")).status).toBe(200);
    await expectSignedOut(replaying(copied), who);
  });

  it("after a password reset is refused everywhere, on every device; the API key keeps working", async () => {
    const who = await account("reset@example.com");
    const laptop = (await signIn(who.email)).cookie("cl_session")!;
    const phone = (await signIn(who.email)).cookie("cl_session")!;
    await expectSignedIn(replaying(laptop), who);

    const anyone = new HttpClient(app.url);
    expect((await anyone.form("/forgot-password", { email: who.email })).status).toBe(200);
    const { token } = await latestLink(app.services.db, who.email, "/reset-password");
    // Reset from the laptop itself: its own session ends as well.
    const done = await replaying(laptop).form("/reset-password", { token, password: NEW_PASSWORD });
    expect(done.status).toBe(302);
    expect(done.headers.get("location")).toBe("/login?notice=reset");

    await expectSignedOut(replaying(laptop), who);
    await expectSignedOut(replaying(phone), who);
    expect(await app.services.db.session.count({ where: { userId: who.id } })).toBe(0);
    // Signing in again takes the new password.
    await expectSignedIn(await signIn(who.email, NEW_PASSWORD), who);
    // API keys are for programs and are revoked on their own (Settings): a
    // reset does not stop a deployment's calls.
    const program = new HttpClient(app.url, { authorization: `Bearer ${who.key}` });
    expect((await program.query("functions.list")).status).toBe(200);
  });
});
