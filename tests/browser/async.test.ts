import type { Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startTestApp, type TestApp } from "../helpers/app";
import { callAsync, waitForFinal } from "../helpers/async";
import { screenshot, setupBrowser } from "../helpers/browser";
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
 * Async calls and schedules in the browser, against real Docker: the call
 * log's async badge and queue wait, the schedules section (add, next runs in
 * the browser's timezone, last outcome with its record, pause, delete, a
 * refused expression) and the dashboard's queue counts.
 */
const browser = setupBrowser();

let app: TestApp;
let tenant: Tenant;
let fn: Deployed;

beforeAll(async () => {
  app = await startTestApp({ ...DOCKER_ENV, POOL_GENERIC_PER_RUNTIME: "1" });
  tenant = await createTenant(app, uniqueEmail("async"));
  fn = await deploy(tenant, {
    name: "greeting",
    runtime: "node",
    handler: "greeting.greet",
    memoryMb: 64,
    code: "exports.greet = (e) => ({ hello: e.name ?? 'world' });\n",
  });
}, 240_000);

afterAll(async () => {
  const owner = app && ownerOf(app);
  await app?.close();
  if (owner) await removeOwnerContainers(owner);
});

async function signedIn(timezoneId = "Asia/Tokyo") {
  const context = await browser.newContext({ timezoneId });
  const [name, ...value] = tenant.cookie.split("=");
  await context.addCookies([{ name: name!, value: value.join("="), url: app.url }]);
  return context.newPage();
}

async function reloadUntil(page: Page, ready: () => Promise<boolean>, what: string) {
  const deadline = Date.now() + 30_000;
  for (;;) {
    if (await ready()) return;
    if (Date.now() > deadline) throw new Error(`Timed out waiting for ${what}`);
    await page.waitForTimeout(500);
    await page.reload();
    await page.locator("html[data-hydrated]").waitFor({ state: "attached" });
  }
}

describe("async calls and schedules on the function page", () => {
  it("marks async calls in the log with their queue wait", async () => {
    const queued = await callAsync(app, tenant, fn, { body: { name: "Ada" } });
    expect(queued.http).toBe(202);
    await waitForFinal(app, tenant.key, queued.body.invocationId);
    await app.services.recorder.flush();
    const page = await signedIn();
    await open(page, `${app.url}/user/functions/${fn.id}`);
    const row = page.locator(`#call-${queued.body.invocationId}`);
    await row.waitFor();
    expect(await row.locator(".badge.async").textContent()).toBe("async");
    await row.locator("summary").click();
    expect(await row.locator(".queue-wait").textContent()).toMatch(
      /Queue wait \(enqueued → started\): [\d.,]+ (µs|ms|s)/,
    );
    await checkPage(page, "async-call-log");
    await row.scrollIntoViewIfNeeded();
    await screenshot(page, "async-call-log");
  });

  it("adds a schedule, shows its next runs in the browser's timezone and its last outcome, pauses and deletes it", async () => {
    const page = await signedIn("Asia/Tokyo");
    await open(page, `${app.url}/user/functions/${fn.id}`);
    const section = page.locator("#schedules");
    // The timezone field starts as the browser's.
    await page.waitForFunction(
      () =>
        (document.querySelector('#schedules input[name="timezone"]') as HTMLInputElement)?.value ===
        "Asia/Tokyo",
    );

    // A malformed expression: the offending field is named and nothing is added.
    await section.getByLabel("Cron expression").fill("61 * * * *");
    await section.getByRole("button", { name: "Add schedule" }).click();
    await section.getByText("Invalid value for minute: 61").waitFor();
    expect(await app.services.db.schedule.count()).toBe(0);

    await section.getByLabel("Cron expression").fill("*/2 * * * * *");
    await section.getByLabel("Event (JSON)").fill('{"name": "cron"}');
    await section.getByRole("button", { name: "Add schedule" }).click();
    await section.getByText("Schedule added.").waitFor();
    const item = section.locator(".schedule-list > li").first();
    expect(await item.locator("code").textContent()).toBe("*/2 * * * * *");
    const runs = item.locator(".schedule-runs li");
    expect(await runs.count()).toBe(3);
    // Rendered in the browser's timezone after hydration.
    await page.waitForFunction(() =>
      document.querySelector("#schedules .schedule-runs li")?.textContent?.includes("Asia/Tokyo"),
    );

    await reloadUntil(
      page,
      async () =>
        (await page
          .locator("#schedules .schedule-list > li .badge.ok", { hasText: "succeeded" })
          .count()) > 0,
      "a run that succeeded",
    );
    const record = page.locator("#schedules a", { hasText: "record" }).first();
    expect(await record.getAttribute("href")).toMatch(/^#call-/);
    await checkPage(page, "async-schedules");
    await page.locator("#schedules").scrollIntoViewIfNeeded();
    await screenshot(page, "async-schedules");

    await page.locator("#schedules").getByRole("button", { name: "Pause" }).click();
    await page.locator("#schedules").getByText("Schedule paused.").waitFor();
    await page.locator("#schedules .badge.muted", { hasText: "Paused" }).waitFor();
    await page.locator("#schedules .schedule-runs").waitFor({ state: "detached" });
    await page.locator("#schedules").getByRole("button", { name: "Resume" }).waitFor();
    await page.locator("#schedules").getByRole("button", { name: "Delete" }).click();
    await page.locator("#schedules").getByText("No schedules yet.").waitFor();
    expect(await app.services.db.schedule.count()).toBe(0);
  });

  it("shows queued, running and dead counts on the dashboard", async () => {
    const page = await signedIn();
    await open(page, `${app.url}/user`);
    const counts = page.locator(".queue-counts");
    await counts.waitFor();
    expect(await counts.locator('[data-count="queued"]').textContent()).toMatch(/^\d+$/);
    expect(await counts.locator('[data-count="dead"]').textContent()).toBe("0");
    await checkPage(page, "async-dashboard");
    await screenshot(page, "async-dashboard");
  });
});
