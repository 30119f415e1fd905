import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { pathToFileURL } from "node:url";
import type { ServerBuild } from "@remix-run/node";
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

/**
 * A private copy of public/build matching the server build this test file
 * loaded. Every run's global setup runs `remix build`, which empties and
 * refills public/build; a run started in the same checkout meanwhile would
 * pull the page's scripts from under a running test (404s, no hydration).
 * Pages here get their /build/ assets from the copy instead. Undefined when no
 * consistent copy could be made (the live folder is then used).
 */
async function snapshotAssets(): Promise<string | undefined> {
  const build = (await import(pathToFileURL(path.resolve("build/index.js")).href)) as ServerBuild;
  const { assets } = build;
  const needed = [
    assets.url,
    assets.entry.module,
    ...assets.entry.imports,
    ...Object.values(assets.routes).flatMap((r) => [r.module, ...(r.imports ?? [])]),
  ];
  const source = path.resolve("public/build");
  // A rebuild may be under way: a few tries, each checking the files it needs.
  for (let attempt = 0; attempt < 20; attempt++) {
    const copy = fs.mkdtempSync(path.join(os.tmpdir(), "cloudless-assets-"));
    try {
      fs.cpSync(source, copy, { recursive: true });
      const complete = needed.every((url) =>
        fs.existsSync(path.join(copy, url.replace(/^\/build\//, ""))),
      );
      if (complete) return copy;
    } catch {
      // Files vanished mid-copy: a rebuild is running.
    }
    fs.rmSync(copy, { recursive: true, force: true });
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
  console.warn("public/build does not match build/index.js; serving the live folder");
  return undefined;
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
export function setupBrowser(defaults: BrowserContextOptions = {}): BrowserHarness {
  let browser: Browser | undefined;
  let contexts: BrowserContext[] = [];
  let assets: Promise<string | undefined> | undefined;

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
    const copy = await assets;
    if (copy) fs.rmSync(copy, { recursive: true, force: true });
  });

  async function newContext(options: BrowserContextOptions = {}) {
    if (!browser) throw new Error("setupBrowser(): the browser starts in beforeAll");
    const context = await browser.newContext({
      viewport: VIEWPORTS.desktop,
      // No transitions: screenshots and colour checks see final states.
      reducedMotion: "reduce",
      ...defaults,
      ...options,
    });
    // Fail fast in a test rather than wait out the test timeout on a missing element.
    context.setDefaultTimeout(10_000);
    contexts.push(context);
    // Taken at the first page, after the file's beforeAll has started its app.
    assets ??= snapshotAssets();
    const copy = await assets;
    if (copy) {
      await context.route("**/build/**", async (route) => {
        const { pathname } = new URL(route.request().url());
        const file = path.join(copy, pathname.replace(/^\/build\//, ""));
        if (!pathname.startsWith("/build/") || !fs.existsSync(file)) return route.fallback();
        await route.fulfill({ path: file });
      });
    }
    return context;
  }

  return {
    newContext,
    async newPage(options) {
      return (await newContext(options)).newPage();
    },
  };
}

/**
 * The first name of setupBrowser, kept for tests written against it. Biome
 * reads `use…` as a React hook and refuses it at module level: prefer setupBrowser.
 */
export const useBrowser = setupBrowser;
