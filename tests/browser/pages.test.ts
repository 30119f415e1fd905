import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startTestApp, type TestApp } from "../helpers/app";
import { screenshot, setupBrowser, VIEWPORTS } from "../helpers/browser";
import { checkPage } from "./checks";
import { clickEmailLink, fillLogin, logIn, open, seedUser, uniqueEmail } from "./flows";

/**
 * A tour of every page at desktop and phone widths (and in dark mode): a
 * screenshot of each for review, in test-artifacts/screenshots/<variant>-<page>.png,
 * and on each the checks a person reviewing screenshots would miss (see checkPage).
 */
const browser = setupBrowser();

describe("pages", () => {
  let app: TestApp;
  beforeAll(async () => {
    app = await startTestApp();
  });
  afterAll(() => app?.close());

  const variants = [
    { name: "desktop", options: { viewport: VIEWPORTS.desktop } },
    { name: "phone", options: { viewport: VIEWPORTS.phone } },
    // Dark mode has its own colours, so it gets the same tour and the same checks.
    { name: "dark-phone", options: { viewport: VIEWPORTS.phone, colorScheme: "dark" as const } },
  ];
  for (const { name: variant, options } of variants) {
    it(`look right: ${variant} (${options.viewport.width}x${options.viewport.height})`, async () => {
      const page = await browser.newPage(options);
      const shot = async (name: string) => {
        await checkPage(page, name);
        // From the top: the sidebar sticks, so a scrolled page would draw it mid-way.
        await page.evaluate(() => window.scrollTo(0, 0));
        await screenshot(page, `${variant}-${name}`);
      };
      const email = uniqueEmail(variant);
      const password = "a-fine-password";

      await open(page, `${app.url}/`);
      await shot("landing");

      await open(page, `${app.url}/register`);
      await shot("register");
      await page.getByRole("button", { name: "Create account" }).click();
      await page.getByText("Enter your name").waitFor();
      await shot("register-errors");
      await page.getByLabel("Name", { exact: true }).fill("Katherine Johnson");
      await page.getByLabel("Email", { exact: true }).fill(email);
      await page.getByLabel("Password", { exact: true }).fill(password);
      await page.getByRole("button", { name: "Create account" }).click();
      await page.getByRole("heading", { name: "Check your email" }).waitFor();
      await shot("register-done");

      await open(page, `${app.url}/login`);
      await fillLogin(page, "not-an-email", "");
      await page.getByText("Enter your password").waitFor();
      await shot("login-errors");
      await fillLogin(page, email, password);
      await page.getByRole("link", { name: "Send me a new verification link" }).waitFor();
      await shot("login-unverified");

      await open(page, `${app.url}/dev/outbox`);
      await page.getByRole("article").first().waitFor();
      await shot("outbox");

      await clickEmailLink(page, app, email, "Verify your Cloudless email");
      await page.getByRole("button", { name: "Verify my email" }).waitFor();
      await shot("verify");
      await page.getByRole("button", { name: "Verify my email" }).click();
      await page.waitForURL(`${app.url}/login?notice=verified`);
      await shot("login-verified");

      await open(page, `${app.url}/verify`);
      await shot("verify-resend");

      await open(page, `${app.url}/forgot-password`);
      await shot("forgot");
      await page.getByLabel("Email", { exact: true }).fill(email);
      await page.getByRole("button", { name: "Send reset link" }).click();
      await page.getByRole("status").waitFor();
      await shot("forgot-sent");

      await clickEmailLink(page, app, email, "Reset your Cloudless password");
      await page.getByRole("button", { name: "Set new password" }).click();
      await page.getByText("Use at least 8 characters").waitFor();
      await shot("reset");
      await open(page, `${app.url}/reset-password?token=not-a-real-token-at-all`);
      await shot("reset-invalid");

      // A second session from another device, so the settings table has two rows.
      const other = await browser.newPage({
        userAgent:
          "Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 Mobile/15E148 Safari/604.1",
      });
      await logIn(other, app, email, password);
      await logIn(page, app, email, password);
      await shot("dashboard");
      await open(page, `${app.url}/user/settings`);
      await page.getByRole("table").waitFor();
      await shot("settings");

      // Functions: empty, the form (and its errors), a function, the list.
      await open(page, `${app.url}/user/functions`);
      await shot("functions-empty");
      await open(page, `${app.url}/user/new`);
      await shot("new-function");
      const code = page.getByRole("textbox", { name: "Code", exact: true });
      await page.getByLabel("Name", { exact: true }).fill("hello");
      await code.fill("def handler(event, context):\n    return {\n");
      await page.getByRole("button", { name: "Create function" }).click();
      await page.locator(".code-error").waitFor();
      await shot("new-function-errors");
      await code.fill('def handler(event, context):\n    return {"hello": event.get("name")}\n');
      await page.getByRole("button", { name: "Create function" }).click();
      await page.getByRole("heading", { level: 1, name: "hello" }).waitFor();
      await shot("function");
      // No engine runs here: the console shows the route's refusal, reason and all.
      await page.getByRole("button", { name: "Run", exact: true }).click();
      await page.locator(".console-result .alert").getByText("HTTP 503").waitFor();
      await shot("function-console-refused");
      await page.getByText("Upload a new version").click();
      await shot("function-upload");
      await open(page, `${app.url}/user/functions`);
      await shot("functions");
      await open(page, `${app.url}/user`);
      await shot("dashboard-functions");
      await open(page, `${app.url}/user/latency`);
      await page.getByRole("heading", { name: "No calls in this range" }).waitFor();
      await shot("latency-empty");
      await open(page, `${app.url}/user/functions/no-such-function`);
      await shot("function-not-found");

      // API keys: the secret once, then the list and the revoke question.
      await open(page, `${app.url}/user/settings`);
      await page.getByLabel("New key name").fill("ci");
      await page.getByRole("button", { name: "Create key" }).click();
      await page.locator(".secret-value").waitFor();
      await shot("settings-api-key");
      await page.getByRole("button", { name: "Revoke key ci" }).click();
      await page.getByRole("button", { name: "Revoke ci" }).waitFor();
      await shot("settings-api-key-revoke");

      await open(page, `${app.url}/no-such-page`);
      await shot("not-found");
    });
  }

  it("work from the keyboard alone, with a visible focus ring", async () => {
    const page = await browser.newPage();
    const email = uniqueEmail("keyboard");
    await seedUser(app, { email, password: "a-fine-password", name: "Mary Jackson" });
    await open(page, `${app.url}/login`);
    const seen: { name: string; ring: boolean }[] = [];
    const tab = async () => {
      await page.keyboard.press("Tab");
      seen.push(
        await page.evaluate(() => {
          const el = document.activeElement as HTMLElement;
          const style = getComputedStyle(el);
          return {
            name: el.getAttribute("name") ?? el.textContent?.trim() ?? "",
            ring: style.outlineStyle !== "none" && Number.parseFloat(style.outlineWidth) >= 2,
          };
        }),
      );
    };
    await tab();
    await tab();
    await page.keyboard.type(email);
    await tab();
    await page.keyboard.type("a-fine-password");
    await tab();
    await tab();
    expect(seen).toEqual(
      ["Cloudless", "email", "password", "Forgot your password?", "Log in"].map((name) => ({
        name,
        ring: true,
      })),
    );
    await page.keyboard.press("Enter");
    await page.waitForURL(`${app.url}/user`);
    await page.getByRole("heading", { name: "Welcome, Mary Jackson" }).waitFor();
  });
});
