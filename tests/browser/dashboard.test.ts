import fs from "node:fs";
import type { Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startTestApp, type TestApp } from "../helpers/app";
import { screenshot, setupBrowser, VIEWPORTS } from "../helpers/browser";
import {
  createTenant,
  type Deployed,
  DOCKER_ENV,
  deploy,
  ownerOf,
  removeOwnerContainers,
  type Tenant,
} from "../helpers/docker";
import { checkPage } from "./checks";
import { open, uniqueEmail } from "./flows";

/**
 * The dashboard, the function page's invocation console and call log, and
 * the latency page, against a real Docker engine: examples deployed through
 * the SDK (tRPC), run from the console, then found again where the batched
 * records land (recent calls, latency charts and tables).
 */
const browser = setupBrowser();

/** A screenshot from the top: the sidebar sticks, so a scrolled page would draw it mid-way. */
async function shot(page: Page, name: string) {
  await checkPage(page, name);
  await page.evaluate(() => window.scrollTo(0, 0));
  await screenshot(page, name);
}

/** Reloads until `ready` holds: records are written in batches, off the call's path. */
async function reloadUntil(page: Page, ready: () => Promise<boolean>, what: string) {
  const deadline = Date.now() + 15_000;
  for (;;) {
    if (await ready()) return;
    if (Date.now() > deadline) throw new Error(`Timed out waiting for ${what}`);
    await page.waitForTimeout(300);
    await page.reload();
    await page.locator("html[data-hydrated]").waitFor({ state: "attached" });
  }
}

describe("dashboard, console and latency", () => {
  let app: TestApp;
  let tenant: Tenant;
  let calc: Deployed;
  let greet: Deployed;

  beforeAll(async () => {
    // One generic instance per runtime: a first call is prewarm (or cold while the stock fills).
    app = await startTestApp({ ...DOCKER_ENV, POOL_GENERIC_PER_RUNTIME: "1" });
    tenant = await createTenant(app, uniqueEmail("console"));
    calc = await deploy(tenant, {
      name: "calc",
      runtime: "python",
      handler: "calc.calculator",
      style: "script",
      code: fs.readFileSync("examples/calc.py", "utf8"),
    });
    greet = await deploy(tenant, {
      name: "greeting",
      runtime: "node",
      handler: "greeting.greet",
      style: "handler",
      code: fs.readFileSync("examples/greeting.js", "utf8"),
    });
  }, 240_000);

  afterAll(async () => {
    const owner = app && ownerOf(app);
    await app?.close();
    if (owner) await removeOwnerContainers(owner);
  });

  /** A page signed in as the tenant (its session cookie, made with the user). */
  async function signedIn(viewport: { width: number; height: number } = VIEWPORTS.desktop) {
    const context = await browser.newContext({ viewport });
    const [name, ...value] = tenant.cookie.split("=");
    await context.addCookies([{ name: name!, value: value.join("="), url: app.url }]);
    return context.newPage();
  }

  const result = (page: Page) => page.locator(".console-result[data-invocation]");

  /** Presses Run and waits for a result other than the one shown before. */
  async function run(page: Page) {
    const before = await result(page)
      .getAttribute("data-invocation", { timeout: 100 })
      .catch(() => null);
    await page.getByRole("button", { name: "Run", exact: true }).click();
    await page.waitForFunction(
      (prev) => {
        const el = document.querySelector(".console-result[data-invocation]");
        return el && el.getAttribute("data-invocation") !== prev;
      },
      before,
      { timeout: 60_000 },
    );
    return result(page);
  }

  it("runs calls from the console and finds them on the dashboard and latency page", async () => {
    const page = await signedIn();

    // A new account with functions but no calls: the dashboard says what to do next.
    await open(page, `${app.url}/user`);
    await page.getByRole("heading", { name: "No calls yet" }).waitFor();
    const engines = page.locator(".engine");
    expect(await engines.filter({ hasText: "Docker" }).textContent()).toContain("Available");
    expect(await engines.filter({ hasText: "Nanos" }).textContent()).toMatch(/Unavailable/);
    await shot(page, "calls-desktop-dashboard-no-calls");

    // The calc script: query parameters as rows, in order.
    await open(page, `${app.url}/user/functions/${calc.id}`);
    await page.getByRole("heading", { name: "Run it" }).waitFor();
    expect(await page.getByRole("radio", { name: /^Query parameters/ }).isChecked()).toBe(true);
    // Nanos is not configured here: it cannot be chosen, and says why.
    const nanos = page.getByRole("radio", { name: /^Nanos/ });
    expect(await nanos.isDisabled()).toBe(true);
    expect(await page.locator("label.choice", { has: nanos }).textContent()).toContain(
      "Unavailable: Engine nanos is not configured",
    );
    await page.getByLabel("Parameter 1 name").fill("a");
    await page.getByLabel("Parameter 1 value").fill("5");
    await page.getByRole("button", { name: "Add parameter" }).click();
    await page.getByLabel("Parameter 2 name").fill("b");
    await page.getByLabel("Parameter 2 value").fill("10");
    const snippets = page.locator(".snippet pre");
    const url = `${app.url}/api/function/${calc.userId}/calc.calculator/docker`;
    expect(await snippets.first().textContent()).toBe(
      `curl -H "Authorization: Bearer $CLOUDLESS_API_KEY" \\\n  '${url}?a=5&b=10'`,
    );
    expect(await snippets.nth(1).textContent()).toContain(
      `{ userId: "${calc.userId}", handler: "calc.calculator", engine: "docker", args: ["5","10"] }`,
    );

    const first = await run(page);
    expect(await first.locator(".output-text").first().textContent()).toContain("Addition: 15");
    const head = await first.locator(".result-head").textContent();
    expect(head).toMatch(/HTTP 200/);
    expect(head).toMatch(/OK/);
    expect(head).toMatch(/Prewarm|Cold/);
    const legend = await first.locator(".timing-legend").textContent();
    for (const part of ["Queue", "Start", "Run", "Total"]) expect(legend).toContain(part);
    expect(
      await page
        .getByRole("status")
        .filter({ hasText: /start on Docker/ })
        .count(),
    ).toBe(1);

    const second = await run(page);
    expect(await second.locator(".output-text").first().textContent()).toContain("Addition: 15");
    expect(await second.locator(".result-head").textContent()).toMatch(/Warm/);

    // The call log fills in by itself once the batch is written; a call opens to its output.
    const log = page.locator("#calls .call-log > li");
    await expect.poll(() => log.count(), { timeout: 15_000 }).toBe(2);
    expect(await log.first().locator("summary").textContent()).toMatch(/Warm.*OK.*Docker · v1/);
    await log.first().locator("summary").click();
    expect(await log.first().locator(".output-text").first().textContent()).toContain(
      "Addition: 15",
    );
    await log.first().locator("summary").click();
    await shot(page, "calls-desktop-function-console");

    // A JSON body the console refuses before sending, then the greeting handler's.
    await open(page, `${app.url}/user/functions/${greet.id}`);
    expect(await page.getByRole("radio", { name: /^JSON body/ }).isChecked()).toBe(true);
    const body = page.getByRole("textbox", { name: "JSON body" });
    await body.fill('{"name": ');
    await page.getByRole("button", { name: "Run", exact: true }).click();
    await page.getByText(/^Not valid JSON/).waitFor();
    expect(await body.evaluate((el) => el === document.activeElement)).toBe(true);
    await body.fill('{"name": "Ada", "lang": "fr"}');
    expect(await snippets.first().textContent()).toContain(`-d '{"name":"Ada","lang":"fr"}'`);
    const greeting = await run(page);
    expect(await greeting.locator(".output-text").first().textContent()).toContain(
      '"message": "Bonjour, Ada!"',
    );
    expect(await greeting.locator(".result-head").textContent()).toMatch(/Prewarm|Cold/);

    // The dashboard: three calls, the newest first, with their start kinds and latency.
    await open(page, `${app.url}/user`);
    const rows = page.locator("section[aria-labelledby=recent-title] tbody tr");
    // Rows and the per-minute rollups behind the counts are written in the same batch; wait for both.
    const calls24h = page.locator(".stat").nth(1);
    await reloadUntil(
      page,
      async () =>
        (await rows.count()) === 3 && /^3calls/.test((await calls24h.textContent()) ?? ""),
      "three recent calls",
    );
    const texts = await rows.allTextContents();
    expect(texts[0]).toMatch(/greeting.*(Prewarm|Cold).*OK.*Docker.*ms/);
    expect(texts[1]).toMatch(/calc.*Warm.*OK.*Docker.*ms/);
    expect(texts[2]).toMatch(/calc.*(Prewarm|Cold)/);
    expect(await calls24h.textContent()).toMatch(/^3calls in the last 24 hours/);
    expect(await page.locator(".stat").nth(2).textContent()).toMatch(/^0%error rate/);
    await shot(page, "calls-desktop-dashboard");

    // The latency page: all three calls in the table and the charts drawn.
    await page
      .getByRole("navigation", { name: "Main" })
      .getByRole("link", { name: "Latency" })
      .click();
    await page.waitForURL(`${app.url}/user/latency`);
    await page.getByText(/within about 9% of the exact value/).waitFor();
    await reloadUntil(
      page,
      async () => (await page.getByText(": 3 calls.").count()) === 1,
      "3 calls",
    );
    const table = page.locator("#percentiles-title ~ .table-wrap");
    await table.getByRole("row", { name: /^Docker Warm 1 0 \d/ }).waitFor();
    // Both first calls (calc, greeting) started on a generic instance, or booted one.
    const firsts = await table
      .getByRole("row", { name: /^Docker (Prewarm|Cold) / })
      .locator("td[data-label=Calls]")
      .allTextContents();
    expect(firsts.reduce((n, text) => n + Number(text), 0)).toBe(2);
    await expect.poll(() => page.locator(".recharts-surface").count()).toBeGreaterThanOrEqual(3);
    await shot(page, "calls-desktop-latency");
    // From the keyboard: a chart takes focus (with the ring) and the arrows step through its bars.
    const bars = page.locator(".chart").nth(1);
    await bars.getByRole("application").focus();
    await page.keyboard.press("ArrowRight");
    await bars.locator(".recharts-tooltip-wrapper").getByText("Docker · warm").waitFor();
    expect(
      await bars.locator(".recharts-wrapper").evaluate((el) => getComputedStyle(el).outlineStyle),
    ).toBe("solid");
    await bars.screenshot({
      path: "test-artifacts/screenshots/calls-desktop-latency-keyboard.png",
    });

    // Range and function are in the URL, so a link shows the same view.
    await page.getByRole("link", { name: "Last 7 days" }).click();
    await page.waitForURL(/range=7d/);
    await expect
      .poll(() => page.getByRole("link", { name: "Last 7 days" }).getAttribute("aria-current"))
      .toBe("page");
    await page.getByLabel("Function").selectOption({ label: "calc" });
    await page.getByRole("button", { name: "Apply" }).click();
    await page.waitForURL(new RegExp(`range=7d&fn=${calc.id}`));
    await page.getByText(/calc, over the last 7 days: 2 calls\./).waitFor();
    await open(page, page.url());
    await page.getByText(/calc, over the last 7 days: 2 calls\./).waitFor();
    expect(await page.getByLabel("Function").inputValue()).toBe(calc.id);
  });

  it("looks right at phone width", async () => {
    const page = await signedIn(VIEWPORTS.phone);
    await open(page, `${app.url}/user`);
    await page.locator("section[aria-labelledby=recent-title] tbody tr").first().waitFor();
    await shot(page, "calls-phone-dashboard");

    await open(page, `${app.url}/user/functions/${calc.id}`);
    await page.getByLabel("Parameter 1 value").fill("7");
    await page.getByRole("button", { name: "Add parameter" }).click();
    await page.getByLabel("Parameter 2 value").fill("3");
    const answer = await run(page);
    expect(await answer.locator(".output-text").first().textContent()).toContain("Addition: 10");
    // Unnamed values go as arg0, arg1: what the SDK sends for positional arguments.
    expect(await page.locator(".snippet pre").first().textContent()).toContain("?arg0=7&arg1=3");
    await expect
      .poll(() => page.locator("#calls .call-log > li").count(), { timeout: 15_000 })
      .toBe(3);
    await shot(page, "calls-phone-function-console");

    await open(page, `${app.url}/user/latency?range=1h`);
    await page.getByText("All functions, over the last hour: 4 calls.").waitFor();
    await expect.poll(() => page.locator(".recharts-surface").count()).toBeGreaterThanOrEqual(3);
    await shot(page, "calls-phone-latency");

    // Dark mode has its own chart and badge colours: the same checks.
    await page.emulateMedia({ colorScheme: "dark" });
    await shot(page, "calls-dark-phone-latency");
    await open(page, `${app.url}/user/functions/${calc.id}`);
    await run(page);
    await shot(page, "calls-dark-phone-function-console");
  });

  it("runs a call without scripts too: the form posts and the page shows the answer", async () => {
    const context = await browser.newContext({ javaScriptEnabled: false });
    const [name, ...value] = tenant.cookie.split("=");
    await context.addCookies([{ name: name!, value: value.join("="), url: app.url }]);
    const page = await context.newPage();
    await page.goto(`${app.url}/user/functions/${greet.id}`);
    await page.getByRole("textbox", { name: "JSON body" }).fill('{"name": "Grace"}');
    await page.getByRole("button", { name: "Run", exact: true }).click();
    await page.waitForLoadState();
    const answer = page.locator(".console-result[data-invocation]");
    expect(await answer.locator(".output-text").first().textContent()).toContain("Hello, Grace!");
    expect(await answer.locator(".result-head").textContent()).toMatch(/HTTP 200.*OK.*Warm/);
  });

  it("shows an error page inside the shell for a function that is not there", async () => {
    const page = await signedIn();
    await open(page, `${app.url}/user/latency?fn=no-such-function`);
    await page.getByRole("heading", { name: "Latency: not found" }).waitFor();
    expect(await page.getByRole("alert").textContent()).toContain("There is no such function");
    // The navigation is still there, so the way on is one click.
    await page
      .getByRole("navigation", { name: "Main" })
      .getByRole("link", { name: "Latency" })
      .waitFor();
  });
});
