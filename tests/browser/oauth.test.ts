import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { startTestApp, type TestApp } from "../helpers/app";
import { screenshot, useBrowser } from "../helpers/browser";
import { type FakeProvider, startFakeGitHub } from "../helpers/oauth-providers";

// biome-ignore lint/correctness/useHookAtTopLevel: a vitest fixture (registers hooks), not a React hook
const browser = useBrowser();

/** Chromium clicking through the real flow: our server, a fake GitHub on loopback. */
describe("OAuth sign-in in the browser", () => {
  let app: TestApp;
  let github: FakeProvider;
  beforeAll(async () => {
    github = await startFakeGitHub();
    app = await startTestApp(github.env);
  });
  afterAll(async () => {
    await app?.close();
    await github?.close();
  });
  beforeEach(() => {
    github.reset();
    github.account = { ...github.account, name: "Mona Lisa Octocat" };
  });

  it("Continue with GitHub on /login lands on /user, signed in", async () => {
    const page = await browser.newPage();
    await page.goto(`${app.url}/login`);
    await page.getByRole("button", { name: "Continue with GitHub" }).click();
    await page.waitForURL(`${app.url}/user`);
    await page.getByRole("heading", { name: "Welcome, Mona Lisa Octocat" }).waitFor();
    await screenshot(page, "oauth-github-signed-in");

    expect(github.tokenRequests).toMatchObject([{ clientAuth: "ok", pkce: "ok" }]);
    const cookies = await page.context().cookies();
    const session = cookies.find((c) => c.name === "cl_session");
    expect(session).toMatchObject({ httpOnly: true, sameSite: "Lax", path: "/" });
    // The flow's own cookies were single use.
    expect(cookies.filter((c) => c.name.startsWith("cl_oauth_"))).toEqual([]);
  });

  it("comes back to the page that asked for sign-in", async () => {
    const page = await browser.newPage();
    await page.goto(`${app.url}/user/settings`);
    await page.waitForURL(`${app.url}/login?next=%2Fuser%2Fsettings`);
    await page.getByRole("button", { name: "Continue with GitHub" }).click();
    await page.waitForURL(`${app.url}/user/settings`);
    await page.getByRole("heading", { name: "Settings" }).waitFor();
  });

  it("shows why on the login page when the user refuses at GitHub", async () => {
    github.deny = true;
    const page = await browser.newPage();
    await page.goto(`${app.url}/login`);
    await page.getByRole("button", { name: "Continue with GitHub" }).click();
    await page.waitForURL(/\/login\?error=/);
    await page.getByText("Signing in with GitHub was cancelled.").waitFor();
    await screenshot(page, "oauth-github-denied");
    const cookies = await page.context().cookies();
    expect(cookies.find((c) => c.name === "cl_session")).toBeUndefined();
  });
});
