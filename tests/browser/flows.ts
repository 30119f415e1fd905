import { randomBytes } from "node:crypto";
import type { Page } from "playwright-core";
import { expect } from "vitest";
import { hashPassword } from "../../server/auth/password";
import type { TestApp } from "../helpers/app";

/** Steps the browser tests share; each waits for a URL or an element, never for time. */

export function uniqueEmail(label = "user"): string {
  return `${label}-${randomBytes(4).toString("hex")}@example.com`;
}

/** Opens a page and waits until React has attached its handlers (see app/root.tsx). */
export async function open(page: Page, url: string): Promise<void> {
  await page.goto(url);
  await page.locator("html[data-hydrated]").waitFor({ state: "attached" });
}

/** A user straight in the database, for tests whose subject is not registration. */
export async function seedUser(
  app: TestApp,
  input: { email: string; password: string; name?: string; verified?: boolean },
): Promise<{ id: string }> {
  return app.services.db.user.create({
    data: {
      email: input.email,
      name: input.name ?? "Grace Hopper",
      passwordHash: await hashPassword(input.password),
      emailVerifiedAt: input.verified === false ? null : new Date(),
    },
    select: { id: true },
  });
}

/**
 * Finds the newest email with this subject to this address in /dev/outbox and
 * clicks its link, as a person reading their mail would.
 */
export async function clickEmailLink(
  page: Page,
  app: TestApp,
  to: string,
  subject: string,
): Promise<void> {
  await open(page, `${app.url}/dev/outbox`);
  const message = page
    .getByRole("article")
    .filter({ hasText: `To ${to}` })
    .filter({ has: page.getByRole("heading", { name: subject }) })
    .first();
  await message.getByRole("link").click();
  await page.locator("html[data-hydrated]").waitFor({ state: "attached" });
}

export async function fillLogin(page: Page, email: string, password: string): Promise<void> {
  await page.getByLabel("Email", { exact: true }).fill(email);
  await page.getByLabel("Password", { exact: true }).fill(password);
  await page.getByRole("button", { name: "Log in" }).click();
}

/** Logs in from /login and waits for the dashboard. */
export async function logIn(page: Page, app: TestApp, email: string, password: string) {
  await open(page, `${app.url}/login`);
  await fillLogin(page, email, password);
  await page.waitForURL(`${app.url}/user`);
  await expect
    .poll(() => page.getByRole("heading", { level: 1 }).textContent())
    .toMatch(/^Welcome/);
}

/** The message in the page's alert (errors) or status (notices) region. */
export function alertText(page: Page): Promise<string | null> {
  return page.locator(".alert").first().textContent();
}
