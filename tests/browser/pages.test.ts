import type { Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startTestApp, type TestApp } from "../helpers/app";
import { screenshot, setupBrowser, VIEWPORTS } from "../helpers/browser";
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

/**
 * What must hold on every page, at any width: nothing wider than the screen,
 * every field labelled, one h1, and text at WCAG AA contrast (4.5:1, or 3:1
 * for large text) against the background it is drawn on.
 */
async function checkPage(page: Page, name: string) {
  const report = await page.evaluate(() => {
    type Rgba = [number, number, number, number];
    const parse = (css: string): Rgba => {
      const srgb = css.match(/^color\(srgb ([^)]+)\)$/);
      if (srgb) {
        const [r, g, b, a = 1] = srgb[1]!
          .split(/[\s/]+/)
          .filter(Boolean)
          .map(Number);
        return [r! * 255, g! * 255, b! * 255, a];
      }
      const [r = 0, g = 0, b = 0, a = 1] = (css.match(/[\d.]+/g) ?? []).map(Number);
      return [r, g, b, a];
    };
    const over = (top: Rgba, under: Rgba): Rgba => {
      const a = top[3];
      return [
        top[0] * a + under[0] * (1 - a),
        top[1] * a + under[1] * (1 - a),
        top[2] * a + under[2] * (1 - a),
        1,
      ];
    };
    const luminance = ([r, g, b]: Rgba) => {
      const lin = (c: number) => {
        const s = c / 255;
        return s <= 0.03928 ? s / 12.92 : ((s + 0.055) / 1.055) ** 2.4;
      };
      return 0.2126 * lin(r) + 0.7152 * lin(g) + 0.0722 * lin(b);
    };
    const backgroundOf = (el: Element): Rgba => {
      const layers: Rgba[] = [];
      for (let node: Element | null = el; node; node = node.parentElement) {
        layers.push(parse(getComputedStyle(node).backgroundColor));
      }
      // The canvas under everything: the body's colour, propagated to the root.
      let colour: Rgba = parse(getComputedStyle(document.body).backgroundColor);
      for (const layer of layers.reverse()) colour = over(layer, colour);
      return colour;
    };
    const lowContrast: string[] = [];
    for (const el of document.body.querySelectorAll("*")) {
      const own = [...el.childNodes].some((n) => n.nodeType === 3 && n.textContent?.trim());
      const filled = el instanceof HTMLInputElement && el.type !== "hidden" && el.value;
      if (!own && !filled) continue;
      if (el.closest(".visually-hidden, [disabled], svg") || el.getClientRects().length === 0) {
        continue;
      }
      const style = getComputedStyle(el);
      const bg = backgroundOf(el);
      const fg = over(parse(style.color), bg);
      const [hi, lo] = [luminance(fg), luminance(bg)].sort((a, b) => b - a) as [number, number];
      const ratio = (hi + 0.05) / (lo + 0.05);
      const size = Number.parseFloat(style.fontSize);
      const large = size >= 24 || (size >= 18.66 && Number(style.fontWeight) >= 700);
      if (ratio < (large ? 3 : 4.5)) {
        const text = (el.textContent ?? "").trim().slice(0, 30);
        lowContrast.push(`${el.tagName.toLowerCase()} "${text}" ${ratio.toFixed(2)}:1`);
      }
    }
    const unlabelled = [...document.querySelectorAll("input, select, textarea")]
      .filter((el) => (el as HTMLInputElement).type !== "hidden")
      .filter((el) => (el as HTMLInputElement).labels?.length === 0 && !el.ariaLabel)
      .map((el) => el.outerHTML);
    const wide = [...document.body.querySelectorAll("*")]
      .filter((el) => el.getBoundingClientRect().right > window.innerWidth + 0.5)
      // Inside a scrolling box is fine (the code sample, a table).
      .filter((el) => !el.parentElement?.closest(".code-sample, .table-wrap"))
      .filter((el) => !el.closest(".visually-hidden"))
      .map((el) => `${el.tagName.toLowerCase()}.${el.className}`);
    return {
      overflow: document.documentElement.scrollWidth - window.innerWidth,
      wide,
      unlabelled,
      lowContrast,
      h1: document.querySelectorAll("h1").length,
      lang: document.documentElement.lang,
    };
  });
  expect({ page: name, ...report }).toEqual({
    page: name,
    overflow: 0,
    wide: [],
    unlabelled: [],
    lowContrast: [],
    h1: 1,
    lang: "en",
  });
}
