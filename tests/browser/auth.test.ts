import http from "node:http";
import type { AddressInfo } from "node:net";
import type { Request } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startTestApp, type TestApp } from "../helpers/app";
import { setupBrowser } from "../helpers/browser";
import { clickEmailLink, fillLogin, logIn, open, seedUser, uniqueEmail } from "./flows";

const browser = setupBrowser();

describe("authentication in the browser", () => {
  let app: TestApp;
  beforeAll(async () => {
    app = await startTestApp();
  });
  afterAll(() => app?.close());

  it("registers, verifies, logs in and out, and resets the password", async () => {
    const page = await browser.newPage();
    const email = uniqueEmail("ada");

    await open(page, `${app.url}/`);
    await page.getByRole("link", { name: "Sign up" }).click();
    await page.waitForURL(`${app.url}/register`);
    await page.getByLabel("Name", { exact: true }).fill("Ada Lovelace");
    await page.getByLabel("Email", { exact: true }).fill(email);
    await page.getByLabel("Password", { exact: true }).fill("first-password-1");
    await page.getByRole("button", { name: "Create account" }).click();
    await page.getByRole("heading", { name: "Check your email" }).waitFor();
    expect(await page.getByRole("status").textContent()).toContain(email);

    // Until verified, the password is refused with a way forward.
    await clickEmailLink(page, app, email, "Verify your Cloudless email");
    expect(page.url()).toMatch(/\/verify\?token=/);
    await page.getByRole("button", { name: "Verify my email" }).click();
    await page.waitForURL(`${app.url}/login?notice=verified`);
    await page.getByRole("status").getByText("Your email is verified").waitFor();

    await fillLogin(page, email, "first-password-1");
    await page.waitForURL(`${app.url}/user`);
    await page.getByRole("heading", { name: "Welcome, Ada Lovelace" }).waitFor();

    await page.getByRole("button", { name: "Log out" }).click();
    await page.waitForURL(`${app.url}/login?notice=logged-out`);
    await open(page, `${app.url}/user`);
    await page.waitForURL(`${app.url}/login?next=%2Fuser`);

    await page.getByRole("link", { name: "Forgot your password?" }).click();
    await page.waitForURL(`${app.url}/forgot-password`);
    await page.getByLabel("Email", { exact: true }).fill(email);
    await page.getByRole("button", { name: "Send reset link" }).click();
    await page.getByRole("status").getByText("If an account exists").waitFor();

    await clickEmailLink(page, app, email, "Reset your Cloudless password");
    const resetUrl = page.url();
    expect(resetUrl).toMatch(/\/reset-password\?token=/);
    await page.getByLabel("New password", { exact: true }).fill("second-password-2");
    await page.getByRole("button", { name: "Set new password" }).click();
    await page.waitForURL(`${app.url}/login?notice=reset`);
    await page.getByRole("status").getByText("Your password was changed").waitFor();

    await fillLogin(page, email, "first-password-1");
    await page.getByRole("alert").getByText("Wrong email or password.").waitFor();
    expect(page.url()).toMatch(/\/login/);

    await page.getByLabel("Password", { exact: true }).fill("second-password-2");
    await page.getByRole("button", { name: "Log in" }).click();
    await page.waitForURL(`${app.url}/user`);
    await page.getByRole("heading", { name: "Welcome, Ada Lovelace" }).waitFor();

    // Reset links are single use.
    await open(page, resetUrl);
    await page.getByRole("heading", { name: "That link did not work" }).waitFor();
    await page.getByRole("alert").getByText("already been used").waitFor();
  });

  it("checks the register form in the page before sending it", async () => {
    const page = await browser.newPage();
    const posts: Request[] = [];
    page.on("request", (r) => {
      if (r.method() === "POST") posts.push(r);
    });
    await open(page, `${app.url}/register`);
    await page.getByLabel("Email", { exact: true }).fill("not an email");
    await page.getByLabel("Password", { exact: true }).fill("short");
    await page.getByRole("button", { name: "Create account" }).click();

    const name = page.getByLabel("Name", { exact: true });
    await page.getByText("Enter your name").waitFor();
    await page.getByText("Enter a valid email address").waitFor();
    await page.getByText("Use at least 8 characters").waitFor();
    expect(await name.getAttribute("aria-invalid")).toBe("true");
    // The error is the field's description, so screen readers read it with the field.
    const describedBy = await name.getAttribute("aria-describedby");
    expect(await page.locator(`[id="${describedBy}"]`).textContent()).toBe("Enter your name");
    expect(posts).toEqual([]);

    // Fixing the fields sends the form, and the errors go.
    await name.fill("Alan Turing");
    await page.getByLabel("Email", { exact: true }).fill(uniqueEmail("alan"));
    await page.getByLabel("Password", { exact: true }).fill("long-enough-password");
    await page.getByRole("button", { name: "Create account" }).click();
    await page.getByRole("heading", { name: "Check your email" }).waitFor();
    expect(posts.length).toBe(1);
  });

  it("shows the server's field errors, with or without JavaScript", async () => {
    const page = await browser.newPage();
    await open(page, `${app.url}/login`);
    await fillLogin(page, "not-an-email", "");
    await page.getByText("Enter a valid email address").waitFor();
    await page.getByText("Enter your password").waitFor();
    expect(await page.getByLabel("Email", { exact: true }).inputValue()).toBe("not-an-email");
    expect(await page.getByLabel("Email", { exact: true }).getAttribute("aria-invalid")).toBe(
      "true",
    );

    // Without JavaScript the register form posts as plain HTML; the server's checks answer.
    const plain = await browser.newPage({ javaScriptEnabled: false });
    await plain.goto(`${app.url}/register`);
    await plain.getByLabel("Name", { exact: true }).fill("   ");
    await plain.getByLabel("Email", { exact: true }).fill("still-not-an-email");
    await plain.getByLabel("Password", { exact: true }).fill("1234");
    const answer = plain.waitForResponse(
      (r) => r.url() === `${app.url}/register` && r.request().method() === "POST",
    );
    await plain.getByRole("button", { name: "Create account" }).click();
    expect((await answer).status()).toBe(400);
    await plain.getByText("Enter your name").waitFor();
    await plain.getByText("Enter a valid email address").waitFor();
    await plain.getByText("Use at least 8 characters").waitFor();
    // The address comes back for correcting; the password never does.
    expect(await plain.getByLabel("Email", { exact: true }).inputValue()).toBe(
      "still-not-an-email",
    );
    expect(await plain.getByLabel("Password", { exact: true }).inputValue()).toBe("");
  });

  it("explains an unverified login and sends a new verification link", async () => {
    const page = await browser.newPage();
    const email = uniqueEmail("unverified");
    await seedUser(app, { email, password: "a-fine-password", verified: false });

    await open(page, `${app.url}/login`);
    await fillLogin(page, email, "a-fine-password");
    await page.getByRole("alert").getByText("Verify your email before logging in").waitFor();
    await page.getByRole("link", { name: "Send me a new verification link" }).click();
    await page.waitForURL(`${app.url}/verify?email=${encodeURIComponent(email)}`);
    expect(await page.getByLabel("Email", { exact: true }).inputValue()).toBe(email);
    await page.getByRole("button", { name: "Send verification link" }).click();
    await page.getByRole("status").getByText("If an account exists").waitFor();

    // The new link verifies the account, and the password then works.
    await clickEmailLink(page, app, email, "Verify your Cloudless email");
    await page.getByRole("button", { name: "Verify my email" }).click();
    await page.waitForURL(`${app.url}/login?notice=verified`);
    await fillLogin(page, email, "a-fine-password");
    await page.waitForURL(`${app.url}/user`);
  });

  it("refuses a login form posted from another origin", async () => {
    const email = uniqueEmail("csrf");
    const { id } = await seedUser(app, { email, password: "a-fine-password" });
    // Login CSRF: a page elsewhere signs the visitor in to an account of the attacker's choice.
    const attacker = await serveHtml(`<!doctype html>
      <form id="f" method="post" action="${app.url}/login">
        <input name="email" value="${email}">
        <input name="password" value="a-fine-password">
      </form>
      <script>document.getElementById("f").submit()</script>`);
    try {
      // localhost vs 127.0.0.1: another origin, and another site too.
      const attackerUrl = `http://localhost:${attacker.port}/`;
      const context = await browser.newContext();
      const page = await context.newPage();
      const answer = page.waitForResponse(
        (r) => r.url() === `${app.url}/login` && r.request().method() === "POST",
      );
      await page.goto(attackerUrl);
      const response = await answer;
      expect(response.status()).toBe(403);
      expect(await response.text()).toContain("Cross-origin request refused");
      expect(await context.cookies(app.url)).toEqual([]);
      expect(await app.services.db.session.count({ where: { userId: id } })).toBe(0);

      // The same credentials from the app's own page do log in: only the origin was wrong.
      await logIn(page, app, email, "a-fine-password");
      expect(await app.services.db.session.count({ where: { userId: id } })).toBe(1);
    } finally {
      await attacker.close();
    }
  });

  it("lists sessions in settings and revokes another one", async () => {
    const email = uniqueEmail("sessions");
    await seedUser(app, { email, password: "a-fine-password", name: "Grace Hopper" });
    const laptop = await browser.newPage();
    const phone = await browser.newPage({
      userAgent: "Mozilla/5.0 (Android 14; Mobile; rv:128.0) Gecko/128.0 Firefox/128.0",
      viewport: { width: 390, height: 844 },
    });
    await logIn(laptop, app, email, "a-fine-password");
    await logIn(phone, app, email, "a-fine-password");

    await laptop
      .getByRole("navigation", { name: "Main" })
      .getByRole("link", { name: "Settings" })
      .click();
    await laptop.waitForURL(`${app.url}/user/settings`);
    const rows = laptop.getByRole("table").getByRole("row");
    await expect.poll(() => rows.count()).toBe(3); // header + two sessions
    const current = rows.filter({ hasText: "This device" });
    const other = rows.filter({ hasText: "Firefox on Android" });
    expect(await current.textContent()).toContain("Chrome on Linux");
    await other.getByRole("button", { name: "Revoke" }).click();
    await laptop.getByRole("status").getByText("Session signed out.").waitFor();
    await expect.poll(() => rows.count()).toBe(2);
    expect(await rows.nth(1).textContent()).toContain("This device");

    // The revoked browser is signed out on its next request; this one stays in.
    await phone.reload();
    await phone.waitForURL(`${app.url}/login?next=%2Fuser`);
    await open(laptop, `${app.url}/user`);
    await laptop.getByRole("heading", { name: "Welcome, Grace Hopper" }).waitFor();
  });
});

describe("rate limits in the browser", () => {
  let app: TestApp;
  beforeAll(async () => {
    app = await startTestApp({ AUTH_RATE_LIMIT_PER_EMAIL: "3" });
  });
  afterAll(() => app?.close());

  it("tells the user to wait after too many attempts", async () => {
    const page = await browser.newPage();
    const email = uniqueEmail("limited");
    await seedUser(app, { email, password: "the-right-password" });
    await open(page, `${app.url}/login`);
    for (let attempt = 1; attempt <= 3; attempt++) {
      const answer = page.waitForResponse((r) => r.request().method() === "POST");
      await fillLogin(page, email, `wrong-password-${attempt}`);
      expect((await answer).status()).toBe(401);
      await page.getByRole("alert").getByText("Wrong email or password.").waitFor();
    }
    // Over the budget even the right password is refused, and the page says for how long.
    const answer = page.waitForResponse((r) => r.request().method() === "POST");
    await fillLogin(page, email, "the-right-password");
    expect((await answer).status()).toBe(429);
    await page
      .getByRole("alert")
      .getByText(/Too many attempts\. Try again in \d+ minutes\./)
      .waitFor();
    expect(page.url()).toBe(`${app.url}/login`);
    expect(await page.getByLabel("Email", { exact: true }).inputValue()).toBe(email);
  });
});

/** A one-page site on another port: the "other origin" for the CSRF check. */
async function serveHtml(html: string): Promise<{ port: number; close(): Promise<void> }> {
  const server = http.createServer((_req, res) => {
    res.writeHead(200, { "Content-Type": "text/html; charset=utf-8" });
    res.end(html);
  });
  // No host: dual-stack, so "localhost" answers whether chromium tries ::1 or 127.0.0.1.
  await new Promise<void>((resolve) => server.listen(0, resolve));
  const { port } = server.address() as AddressInfo;
  return {
    port,
    close: () =>
      new Promise((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
