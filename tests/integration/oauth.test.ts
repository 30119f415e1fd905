import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { hashPassword } from "../../server/auth/password";
import { startTestApp, type TestApp } from "../helpers/app";
import { CookieJar, setCookieLine } from "../helpers/cookie-jar";
import { type FakeProvider, startFakeGitHub, startFakeGoogle } from "../helpers/oauth-providers";

/**
 * The whole authorization code flow over real HTTP: our server, a fake
 * GitHub and a fake Google on loopback, and a cookie jar walking every
 * redirect by hand, as a browser would.
 */

let app: TestApp;
let github: FakeProvider;
let google: FakeProvider;

beforeAll(async () => {
  [github, google] = await Promise.all([startFakeGitHub(), startFakeGoogle()]);
  app = await startTestApp({ ...github.env, ...google.env });
});
afterAll(async () => {
  await app?.close();
  await Promise.all([github?.close(), google?.close()]);
});
beforeEach(() => {
  github.reset();
  google.reset();
});

interface Flow {
  jar: CookieJar;
  /** Our answer to the start POST (the redirect to the provider). */
  started: Response;
  authorizeUrl: URL;
  /** Where the provider sent the browser back, possibly tampered with by the test. */
  callbackUrl: URL;
  /** Our answer to the callback. */
  finished: Response;
  /** Its Location: the page after sign-in, or /login?error=... */
  location: string;
}

/** Clicks "Continue with …" and follows the redirects to the provider and back. */
async function signIn(
  provider: FakeProvider,
  options: {
    next?: string;
    jar?: CookieJar;
    /** Changes the callback (URL or cookies) before the browser follows it. */
    tamper?: (callbackUrl: URL, jar: CookieJar) => void;
  } = {},
): Promise<Flow> {
  const jar = options.jar ?? new CookieJar(app.url);
  const started = await jar.fetch(`/auth/${provider.kind}`, {
    method: "POST",
    headers: {
      "Content-Type": "application/x-www-form-urlencoded",
      Origin: app.url,
      "Sec-Fetch-Site": "same-origin",
    },
    body: new URLSearchParams(options.next === undefined ? {} : { next: options.next }),
  });
  expect(started.status).toBe(302);
  const authorizeUrl = new URL(started.headers.get("location") ?? "");
  expect(authorizeUrl.origin).toBe(provider.url);
  const atProvider = await jar.fetch(authorizeUrl);
  expect(atProvider.status).toBe(302);
  const callbackUrl = new URL(atProvider.headers.get("location") ?? "");
  options.tamper?.(callbackUrl, jar);
  const finished = await jar.fetch(callbackUrl);
  expect(finished.status).toBe(302);
  return {
    jar,
    started,
    authorizeUrl,
    callbackUrl,
    finished,
    location: finished.headers.get("location") ?? "",
  };
}

async function me(jar: CookieJar) {
  const response = await jar.fetch("/api/trpc/auth.me");
  const body = (await response.json()) as {
    result: { data: { id: string; email: string; name: string; emailVerifiedAt: string | null } };
  };
  return body.result.data;
}

function loginError(location: string): string | null {
  const url = new URL(location, app.url);
  expect(url.pathname).toBe("/login");
  return url.searchParams.get("error");
}

function linkedAccount(provider: FakeProvider) {
  return app.services.db.oAuthAccount.findUnique({
    where: {
      provider_providerAccountId: {
        provider: provider.kind,
        providerAccountId: provider.account.id,
      },
    },
  });
}

async function passwordUser(email: string, verified: boolean) {
  return app.services.db.user.create({
    data: {
      email,
      name: "Password Person",
      passwordHash: await hashPassword("correct horse battery"),
      emailVerifiedAt: verified ? new Date() : null,
    },
  });
}

const stateCookies = (jar: CookieJar, kind: string) =>
  jar.names().filter((n) => n.startsWith(`cl_oauth_${kind}:`));

describe("OAuth sign-in, successful", () => {
  it("first GitHub login creates a verified user, links the account and starts a session", async () => {
    github.account = {
      id: "583231",
      name: "The Octocat",
      login: "octocat",
      email: "Octocat@Example.com",
      emailVerified: true,
    };
    const flow = await signIn(github);

    // The request to the provider: code flow, PKCE S256, our callback, the scopes we need.
    const query = flow.authorizeUrl.searchParams;
    expect(query.get("response_type")).toBe("code");
    expect(query.get("client_id")).toBe(github.clientId);
    expect(query.get("redirect_uri")).toBe(`${app.url}/auth/github/callback`);
    expect(query.get("scope")).toBe("read:user user:email");
    expect(query.get("code_challenge_method")).toBe("S256");
    expect(query.get("code_challenge")).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(query.get("state")).toMatch(/^[A-Za-z0-9_-]{43}$/);

    // The flow's cookies: HttpOnly, SameSite=Lax, scoped to /auth, not Secure over http.
    const stateName = flow.started.headers
      .getSetCookie()
      .map((line) => line.split("=")[0])
      .find((name) => name.startsWith("cl_oauth_github:"));
    expect(stateName).toBeDefined();
    const stateLine = setCookieLine(flow.started, stateName!)!;
    expect(stateLine).toMatch(/; Path=\/auth\/github(;|$)/);
    expect(stateLine).toMatch(/; HttpOnly/);
    expect(stateLine).toMatch(/; SameSite=Lax/);
    expect(stateLine).toMatch(/; Max-Age=600/);
    expect(stateLine).not.toMatch(/Secure/);
    const nextLine = setCookieLine(flow.started, "cl_oauth_next")!;
    expect(nextLine).toMatch(/Path=\/auth;.*HttpOnly.*SameSite=Lax/);

    // The fake GitHub checked the client secret and the PKCE verifier.
    expect(github.tokenRequests).toHaveLength(1);
    expect(github.tokenRequests[0]).toMatchObject({ clientAuth: "ok", pkce: "ok" });
    expect(github.tokenRequests[0].params.get("redirect_uri")).toBe(
      `${app.url}/auth/github/callback`,
    );

    // Signed in, on the dashboard, with the same session cookie the password login sets.
    expect(flow.location).toBe("/user");
    const session = setCookieLine(flow.finished, "cl_session")!;
    expect(session).toMatch(/Path=\/;.*HttpOnly.*SameSite=Lax/);
    const user = await me(flow.jar);
    expect(user).toMatchObject({ email: "octocat@example.com", name: "The Octocat" });
    expect(user.emailVerifiedAt).not.toBeNull();
    expect((await linkedAccount(github))?.userId).toBe(user.id);
    const sessions = await app.services.db.session.findMany({ where: { userId: user.id } });
    expect(sessions).toHaveLength(1);

    // The state and the destination were single use: both cookies are gone.
    expect(stateCookies(flow.jar, "github")).toEqual([]);
    expect(flow.jar.get("cl_oauth_next")).toBeUndefined();

    const dashboard = await flow.jar.fetch("/user");
    expect(dashboard.status).toBe(200);
    expect(await dashboard.text()).toContain("The Octocat");
  });

  it("a second login reuses the same user, even after the email changed at GitHub", async () => {
    const first = await signIn(github);
    const user = await me(first.jar);
    github.account = { ...github.account, email: "renamed@example.com" };
    const second = await signIn(github);
    expect(second.location).toBe("/user");
    expect((await me(second.jar)).id).toBe(user.id);
    expect(await app.services.db.user.count({ where: { id: user.id } })).toBe(1);
    expect(await app.services.db.oAuthAccount.count({ where: { userId: user.id } })).toBe(1);
    expect(await app.services.db.session.count({ where: { userId: user.id } })).toBe(2);
  });

  it("signs in with Google through its userinfo endpoint", async () => {
    google.account = {
      id: "109876543210",
      name: "Grace Hopper",
      email: "grace@example.com",
      emailVerified: true,
    };
    const flow = await signIn(google);
    expect(flow.authorizeUrl.searchParams.get("scope")).toBe("openid email profile");
    expect(flow.authorizeUrl.searchParams.get("redirect_uri")).toBe(
      `${app.url}/auth/google/callback`,
    );
    expect(google.tokenRequests[0]).toMatchObject({ clientAuth: "ok", pkce: "ok" });
    expect(flow.location).toBe("/user");
    const user = await me(flow.jar);
    expect(user).toMatchObject({ email: "grace@example.com", name: "Grace Hopper" });
    expect((await linkedAccount(google))?.userId).toBe(user.id);
  });

  it("links an existing password user when the provider vouches for the same email", async () => {
    const existing = await passwordUser("ada@example.com", false);
    google.account = { ...google.account, email: "ADA@example.com", emailVerified: true };
    const flow = await signIn(google);
    expect(flow.location).toBe("/user");
    expect((await me(flow.jar)).id).toBe(existing.id);
    expect((await linkedAccount(google))?.userId).toBe(existing.id);
    // Google proved the mailbox, which settles the pending verification too. The
    // password set on the never-verified account may be an attacker's who
    // registered the address first: it is dropped (the owner can reset one).
    const after = await app.services.db.user.findUniqueOrThrow({ where: { id: existing.id } });
    expect(after.emailVerifiedAt).not.toBeNull();
    expect(existing.passwordHash).not.toBeNull();
    expect(after.passwordHash).toBeNull();
  });

  it("keeps the password of an already verified account it links to", async () => {
    const existing = await passwordUser("verified.owner@example.com", true);
    google.account = {
      ...google.account,
      id: "google-grace",
      email: "verified.owner@example.com",
      emailVerified: true,
    };
    const flow = await signIn(google);
    expect((await me(flow.jar)).id).toBe(existing.id);
    const after = await app.services.db.user.findUniqueOrThrow({ where: { id: existing.id } });
    expect(after.passwordHash).toBe(existing.passwordHash);
  });

  it("uses a verified secondary GitHub address when the primary one is not verified", async () => {
    github.account = {
      ...github.account,
      email: "unverified-primary@example.com",
      emailVerified: false,
      otherEmails: [{ email: "verified-other@example.com", verified: true }],
    };
    const flow = await signIn(github);
    expect(flow.location).toBe("/user");
    expect((await me(flow.jar)).email).toBe("verified-other@example.com");
  });

  it("lets two tabs sign in at once: each attempt keeps its own state", async () => {
    const jar = new CookieJar(app.url);
    let firstCallback: URL | undefined;
    // Tab one stops at the provider's redirect; tab two completes; then tab one does.
    await signIn(github, {
      jar,
      tamper: (url) => {
        firstCallback = new URL(url);
        url.searchParams.set("state", "held-back");
      },
    });
    const second = await signIn(github, { jar });
    expect(second.location).toBe("/user");
    const first = await jar.fetch(firstCallback!);
    expect(first.headers.get("location")).toBe("/user");
    expect(stateCookies(jar, "github")).toEqual([]);
  });
});

describe("OAuth sign-in, refused", () => {
  it("refuses a GitHub account whose email is not verified, and links nothing", async () => {
    const existing = await passwordUser("bob@example.com", true);
    github.account = { ...github.account, email: "bob@example.com", emailVerified: false };
    const flow = await signIn(github);
    expect(loginError(flow.location)).toBe(
      "Your account at the provider has no verified email address, so we cannot sign you in with it.",
    );
    expect(setCookieLine(flow.finished, "cl_session")).toBeUndefined();
    expect(await me(flow.jar)).toBeNull();
    expect(await linkedAccount(github)).toBeNull();
    expect(await app.services.db.oAuthAccount.count({ where: { userId: existing.id } })).toBe(0);

    // The login page shows the reason.
    const page = await flow.jar.fetch(flow.location);
    expect(await page.text()).toContain("has no verified email address");
  });

  it("refuses a Google account without a verified email and creates no user", async () => {
    google.account = { ...google.account, email: "nobody-yet@example.com", emailVerified: false };
    const flow = await signIn(google);
    expect(loginError(flow.location)).toContain("no verified email address");
    expect(await app.services.db.user.count({ where: { email: "nobody-yet@example.com" } })).toBe(
      0,
    );
  });

  it("refuses a tampered state before talking to the provider", async () => {
    const flow = await signIn(github, {
      tamper: (url) => url.searchParams.set("state", "forged-state-value"),
    });
    expect(loginError(flow.location)).toContain(
      "the attempt expired or was started in another browser",
    );
    expect(github.tokenRequests).toHaveLength(0);
    expect(await me(flow.jar)).toBeNull();
  });

  it("refuses a callback that comes without the flow's cookie (login CSRF)", async () => {
    // An attacker's own code and state, replayed in a victim's browser.
    const attacker = await signIn(github, {
      tamper: (url) => url.searchParams.set("state", "held-back"),
    });
    const callback = new URL(attacker.callbackUrl);
    callback.searchParams.set("state", attacker.authorizeUrl.searchParams.get("state")!);
    const victim = new CookieJar(app.url);
    const answer = await victim.fetch(callback);
    expect(loginError(answer.headers.get("location")!)).toContain("the attempt expired");
    expect(await me(victim)).toBeNull();
  });

  it("refuses a callback without state instead of starting a new flow", async () => {
    const jar = new CookieJar(app.url);
    const answer = await jar.fetch("/auth/github/callback?code=abc");
    expect(loginError(answer.headers.get("location")!)).toContain("the attempt expired");
  });

  it("refuses a callback without a code", async () => {
    const flow = await signIn(github, { tamper: (url) => url.searchParams.delete("code") });
    expect(loginError(flow.location)).toBe(
      "GitHub did not send back an authorization code. Please try again.",
    );
    expect(github.tokenRequests).toHaveLength(0);
  });

  it("says so when the user denies consent", async () => {
    github.deny = true;
    const flow = await signIn(github);
    expect(flow.callbackUrl.searchParams.get("error")).toBe("access_denied");
    expect(loginError(flow.location)).toBe("Signing in with GitHub was cancelled.");
    expect(stateCookies(flow.jar, "github")).toEqual([]);
    expect(github.tokenRequests).toHaveLength(0);
  });

  it("sends the PKCE verifier, which the provider checks against the challenge", async () => {
    // Swap the verifier in the flow's cookie for another valid one: the
    // provider must refuse the code, which proves the verifier is what it checks.
    const flow = await signIn(github, {
      tamper: (url, jar) => {
        const state = url.searchParams.get("state")!;
        const name = stateCookies(jar, "github")[0];
        jar.set(name, `state=${state}&${state}=${"x".repeat(43)}`, "/auth/github");
      },
    });
    expect(github.tokenRequests[0].pkce).toBe("mismatch");
    expect(loginError(flow.location)).toBe(
      "GitHub refused the sign-in (bad_verification_code). Please try again.",
    );
    expect(await me(flow.jar)).toBeNull();

    google.account = { ...google.account };
    const viaGoogle = await signIn(google, {
      tamper: (url, jar) => {
        const state = url.searchParams.get("state")!;
        jar.set(
          stateCookies(jar, "google")[0],
          `state=${state}&${state}=${"y".repeat(43)}`,
          "/auth/google",
        );
      },
    });
    expect(google.tokenRequests[0].pkce).toBe("mismatch");
    expect(loginError(viaGoogle.location)).toBe(
      "Google refused the sign-in (invalid_grant). Please try again.",
    );
  });

  it("refuses a replayed callback", async () => {
    const flow = await signIn(github);
    expect(flow.location).toBe("/user");
    const again = await flow.jar.fetch(flow.callbackUrl);
    expect(loginError(again.headers.get("location")!)).toContain("the attempt expired");
    expect(github.tokenRequests).toHaveLength(1);
  });

  it("gives a clear error when the provider's token endpoint fails", async () => {
    github.failures.token = 500;
    const flow = await signIn(github);
    expect(loginError(flow.location)).toBe(
      "GitHub did not answer as expected, so we could not sign you in. Please try again in a moment.",
    );
    expect(await me(flow.jar)).toBeNull();
  });

  it("gives a clear error when the provider's profile API fails", async () => {
    google.failures.profile = 500;
    const flow = await signIn(google);
    expect(loginError(flow.location)).toBe(
      "Google did not answer as expected, so we could not sign you in. Please try again in a moment.",
    );
    expect(await app.services.db.user.count({ where: { email: google.account.email! } })).toBe(0);
  });
});

describe("OAuth routes", () => {
  it("answers 404 for a provider that does not exist", async () => {
    const jar = new CookieJar(app.url);
    const start = await jar.fetch("/auth/gitlab", { method: "POST" });
    expect(start.status).toBe(404);
    expect((await jar.fetch("/auth/gitlab/callback?state=a&code=b")).status).toBe(404);
  });

  it("sends a plain visit to the start URL to the login page", async () => {
    const answer = await new CookieJar(app.url).fetch("/auth/github");
    expect(answer.status).toBe(302);
    expect(answer.headers.get("location")).toBe("/login");
  });

  it("refuses a start posted from another site", async () => {
    const answer = await new CookieJar(app.url).fetch("/auth/github", {
      method: "POST",
      headers: { "Sec-Fetch-Site": "cross-site", Origin: "https://evil.example" },
    });
    expect(answer.status).toBe(403);
  });

  it("shows a button for each configured provider on the login page", async () => {
    const html = await (await new CookieJar(app.url).fetch("/login")).text();
    expect(html).toContain("Continue with GitHub");
    expect(html).toContain("Continue with Google");
  });
});

describe("where OAuth sign-in lands", () => {
  it("returns to a safe `next` path", async () => {
    const flow = await signIn(github, { next: "/user/settings?tab=sessions" });
    expect(flow.location).toBe("/user/settings?tab=sessions");
  });

  it.each([
    "//evil.example/phish",
    "https://evil.example/phish",
    "/\\evil.example",
    "/\t/evil.example",
    "/..//evil.example",
    "javascript:alert(1)",
  ])("neutralises the open redirect %j", async (next) => {
    const flow = await signIn(github, { next });
    expect(flow.location).toBe("/user");
  });

  it("ignores a `next` cookie that was not signed by the server", async () => {
    const flow = await signIn(github, {
      tamper: (_url, jar) => {
        const forged = Buffer.from(JSON.stringify("//evil.example")).toString("base64");
        jar.set("cl_oauth_next", forged, "/auth");
      },
    });
    expect(flow.location).toBe("/user");
  });
});

describe("OAuth behind an https proxy, with one provider", () => {
  let proxied: TestApp;
  beforeAll(async () => {
    proxied = await startTestApp({ ...github.env, TRUST_PROXY: "1" });
  });
  afterAll(() => proxied?.close());

  it("marks the flow's cookies Secure and asks for an https callback", async () => {
    const jar = new CookieJar(proxied.url);
    const started = await jar.fetch("/auth/github", {
      method: "POST",
      headers: {
        "X-Forwarded-Proto": "https",
        "Content-Type": "application/x-www-form-urlencoded",
      },
      body: "next=%2Fuser",
    });
    expect(started.status).toBe(302);
    const redirectUri = new URL(started.headers.get("location")!).searchParams.get("redirect_uri");
    expect(redirectUri).toBe(`${proxied.url.replace("http:", "https:")}/auth/github/callback`);
    const lines = started.headers.getSetCookie();
    expect(lines).toHaveLength(2);
    for (const line of lines) expect(line).toMatch(/; Secure/);
  });

  it("answers 404 for the provider that is not configured, and hides its button", async () => {
    const jar = new CookieJar(proxied.url);
    expect((await jar.fetch("/auth/google", { method: "POST" })).status).toBe(404);
    expect((await jar.fetch("/auth/google/callback?state=a&code=b")).status).toBe(404);
    const html = await (await jar.fetch("/login")).text();
    expect(html).toContain("Continue with GitHub");
    expect(html).not.toContain("Continue with Google");
  });
});

describe("OAuth with BASE_URL", () => {
  let configured: TestApp;
  beforeAll(async () => {
    configured = await startTestApp({ ...google.env, BASE_URL: "https://cloud.example.org" });
  });
  afterAll(() => configured?.close());

  it("asks the provider to return to BASE_URL, whatever Host the request used", async () => {
    const started = await new CookieJar(configured.url).fetch("/auth/google", { method: "POST" });
    const redirectUri = new URL(started.headers.get("location")!).searchParams.get("redirect_uri");
    expect(redirectUri).toBe("https://cloud.example.org/auth/google/callback");
  });
});
