import fs from "node:fs";
import path from "node:path";
import {
  type Browser,
  type BrowserContext,
  type BrowserContextOptions,
  chromium,
  type Page,
} from "playwright-core";
import { afterAll, afterEach, beforeAll } from "vitest";

/** Debian's chromium: playwright-core never downloads a browser here. */
export const CHROMIUM_PATH = process.env.CHROMIUM_PATH ?? "/usr/bin/chromium";

const CHROMIUM_ARGS = [
  "--headless",
  "--no-sandbox",
  "--disable-gpu",
  "--disable-background-networking",
  "--disable-component-update",
  "--no-first-run",
  "--disable-sync",
];

export const SCREENSHOT_DIR = path.resolve("test-artifacts/screenshots");

export const VIEWPORTS = {
  desktop: { width: 1280, height: 800 },
  phone: { width: 390, height: 844 },
} as const;
export type ViewportName = keyof typeof VIEWPORTS;

export function launchBrowser(): Promise<Browser> {
  return chromium.launch({ executablePath: CHROMIUM_PATH, args: CHROMIUM_ARGS });
}

/** Writes test-artifacts/screenshots/<name>.png (the whole page, not just the viewport). */
export async function screenshot(page: Page, name: string): Promise<string> {
  fs.mkdirSync(SCREENSHOT_DIR, { recursive: true });
  const file = path.join(SCREENSHOT_DIR, `${name}.png`);
  await page.screenshot({ path: file, fullPage: true, animations: "disabled" });
  return file;
}

export interface BrowserHarness {
  /** A fresh context (own cookies and storage), closed after the test. */
  newContext(options?: BrowserContextOptions): Promise<BrowserContext>;
  /** A page in a fresh context. */
  newPage(options?: BrowserContextOptions): Promise<Page>;
}

/**
 * One chromium per test file (starting it is the slow part) and fresh contexts
 * per test, so no cookie leaks from one test into the next. When a test fails,
 * its open pages are captured as failed-<test>-<n>.png to show what it saw.
 */
export function useBrowser(defaults: BrowserContextOptions = {}): BrowserHarness {
  let browser: Browser | undefined;
  let contexts: BrowserContext[] = [];

  beforeAll(async () => {
    browser = await launchBrowser();
  });

  afterEach(async (context) => {
    const open = contexts;
    contexts = [];
    if (context.task.result?.state === "fail") {
      const slug = context.task.name.replace(/[^a-z0-9]+/gi, "-").toLowerCase();
      const pages = open.flatMap((c) => c.pages());
      await Promise.all(
        pages.map((p, i) => screenshot(p, `failed-${slug}-${i}`).catch(() => undefined)),
      );
    }
    await Promise.all(open.map((c) => c.close()));
  });

  afterAll(async () => {
    await browser?.close();
  });

  async function newContext(options: BrowserContextOptions = {}) {
    if (!browser) throw new Error("useBrowser(): the browser starts in beforeAll");
    const context = await browser.newContext({ viewport: VIEWPORTS.desktop, ...defaults, ...options });
    // Fail fast in a test rather than wait out the test timeout on a missing element.
    context.setDefaultTimeout(10_000);
    contexts.push(context);
    return context;
  }

  return {
    newContext,
    async newPage(options) {
      return (await newContext(options)).newPage();
    },
  };
}
