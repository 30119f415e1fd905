import { randomUUID } from "node:crypto";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import type { Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createFunction } from "../../server/functions/service";
import { startTestApp, type TestApp } from "../helpers/app";
import { screenshot, setupBrowser, VIEWPORTS } from "../helpers/browser";
import { checkPage } from "./checks";
import { logIn, open, seedUser, uniqueEmail } from "./flows";

/**
 * The function pages driven as a person would: create by upload and in the
 * editor, a refused syntax error, settings, versions, delete; and API keys.
 * Each step waits for what the page shows, and checks the database behind it.
 */
const browser = setupBrowser();

/** A screenshot from the top: the sidebar sticks, so a scrolled page would draw it mid-way. */
async function shot(page: Page, name: string) {
  await page.evaluate(() => window.scrollTo(0, 0));
  await screenshot(page, name);
}
const PASSWORD = "a-fine-password";
const CALC = fs.readFileSync("examples/calc.py", "utf8");

describe("function pages", () => {
  let app: TestApp;
  beforeAll(async () => {
    app = await startTestApp();
  });
  afterAll(() => app?.close());

  async function signedIn(options: { viewport?: { width: number; height: number } } = {}) {
    const email = uniqueEmail("fn");
    const user = await seedUser(app, { email, password: PASSWORD, name: "Grace Hopper" });
    const context = await browser.newContext({ viewport: options.viewport });
    await context.grantPermissions(["clipboard-read", "clipboard-write"], { origin: app.url });
    const page = await context.newPage();
    await logIn(page, app, email, PASSWORD);
    return { page, userId: user.id };
  }

  /** A function made directly through the service, for tests whose subject is not creating one. */
  async function seedFunction(
    userId: string,
    input: { name: string; env?: Record<string, string> },
  ) {
    const { db, codeStore, config, functionEvents } = app.services;
    return createFunction(
      { db, codeStore, config: config.functions, events: functionEvents },
      userId,
      {
        name: input.name,
        runtime: "python",
        handler: "calc.calculator",
        style: "script",
        description: "",
        memoryMb: 128,
        timeoutSeconds: 30,
        maxConcurrency: 4,
        minWarm: 0,
        isPublic: false,
        networkEnabled: false,
        asyncRetries: 2,
        retryOnError: false,
        env: input.env ?? {},
        codeBase64: Buffer.from(CALC).toString("base64"),
        fileName: "calc.py",
      },
    );
  }

  const codeView = (page: Page) => page.locator("section.code-view");

  it("creates a function from an uploaded file (examples/calc.py as a script)", async () => {
    const { page, userId } = await signedIn();
    await page
      .getByRole("navigation", { name: "Main" })
      .getByRole("link", { name: "Functions" })
      .click();
    await page.waitForURL(`${app.url}/user/functions`);
    await page.getByRole("heading", { name: "Create your first function" }).waitFor();
    // The empty state says both ways to make one.
    expect(await page.locator(".empty pre").textContent()).toMatch(
      /deploy examples\/calc\.py --name calc --runtime python \\\s+--handler calc\.calculator --style script/,
    );
    await shot(page, "functions-flow-empty");

    await page.locator(".empty").getByRole("link", { name: "New function" }).click();
    await page.waitForURL(`${app.url}/user/new`);
    await page.getByLabel("Name", { exact: true }).fill("calc");
    await page.getByLabel("Runtime").selectOption("python");
    await page.getByRole("radio", { name: /^Script/ }).check();
    await page.getByLabel("Upload a file").check();
    await page.getByLabel("File", { exact: true }).setInputFiles("examples/calc.py");
    // Choosing calc.py named the handler's module; the function is typed.
    expect(await page.getByLabel("Handler", { exact: true }).inputValue()).toMatch(/^calc\./);
    await page.getByLabel("Handler", { exact: true }).fill("calc.calculator");
    await page.getByRole("button", { name: "Create function" }).click();

    await page.waitForURL(/\/user\/functions\/[^/?]+\?created=1$/);
    await page.getByRole("heading", { level: 1, name: "calc" }).waitFor();
    await page.getByRole("status").getByText("Created calc: version 1 is live.").waitFor();
    expect(await codeView(page).textContent()).toContain("def calculator(a: float, b: float)");
    // Highlighted: keywords and strings are marked up.
    expect(await codeView(page).locator(".token.keyword").count()).toBeGreaterThan(3);

    const fn = await app.services.db.function.findFirstOrThrow({ where: { userId } });
    expect(fn).toMatchObject({ name: "calc", runtime: "python", style: "script" });
    const docker = `${app.url}/api/function/${userId}/calc.calculator/docker`;
    await page.getByText(docker, { exact: true }).waitFor();
    await page.getByText(`${app.url}/api/function/${userId}/calc.calculator/nanos`).waitFor();
    await page.getByRole("button", { name: "Copy Docker URL" }).click();
    await page.getByRole("button", { name: "Copied Docker URL" }).waitFor();
    expect(await page.evaluate(() => navigator.clipboard.readText())).toBe(docker);
    await shot(page, "functions-flow-created");

    // The list: runtime with its version, handler, style, live version, and use.
    await open(page, `${app.url}/user/functions`);
    const row = page.getByRole("row").filter({ hasText: "calc.calculator" });
    expect(await row.textContent()).toMatch(
      /calc.*Python 3\.\d+\.\d+.*calc\.calculator.*script.*v1.*Never.*0/,
    );
    const at = new Date("2026-03-04T05:06:00Z");
    await app.services.db.invocation.createMany({
      data: [1, 2, 3].map((n) => ({
        id: randomUUID(),
        functionId: fn.id,
        userId,
        versionNumber: 1,
        engine: "docker" as const,
        start: "warm" as const,
        status: 0,
        durationMs: 1,
        queueMs: 0,
        startMs: 0,
        execMs: 1,
        totalMs: 1,
        createdAt: new Date(at.getTime() - n * 60_000),
      })),
    });
    await open(page, `${app.url}/user/functions`);
    expect(await row.locator('td[data-label="Last call"]').textContent()).toBe(
      "4 Mar 2026, 05:05 UTC",
    );
    expect(await row.locator('td[data-label="Calls"]').textContent()).toBe("3");
    await open(page, `${app.url}/user`);
    await page.getByRole("link", { name: /1\s*function/ }).click();
    await page.waitForURL(`${app.url}/user/functions`);
  });

  it("creates a JavaScript function typed into the editor, highlighted as it is typed", async () => {
    const { page, userId } = await signedIn();
    await open(page, `${app.url}/user/new`);
    await page.getByLabel("Name", { exact: true }).fill("greet");
    await page.getByLabel("Runtime").selectOption("node");
    // The starter follows the runtime until the code is written by hand.
    const editor = page.getByRole("textbox", { name: "Code", exact: true });
    expect(await editor.inputValue()).toContain("exports.handler = async (event, context)");
    await editor.click();
    await page.keyboard.press("ControlOrMeta+A");
    await page.keyboard.press("Delete");
    // Typed as a person would: the editor indents after "{" and steps back at "}".
    await page.keyboard.type(
      'exports.greet = (event) => {\nreturn { hello: event.name ?? "world" };\n};\n',
    );
    await page.locator(".code-editor .token.keyword").first().waitFor();
    expect(await page.locator(".code-editor .token.string").first().textContent()).toBe('"world"');
    await page.getByLabel("Handler", { exact: true }).fill("greet.greet");
    await shot(page, "functions-flow-editor");
    await page.getByRole("button", { name: "Create function" }).click();
    await page.getByRole("heading", { level: 1, name: "greet" }).waitFor();

    const fn = await app.services.db.function.findFirstOrThrow({
      where: { userId },
      include: { activeVersion: true },
    });
    expect(fn).toMatchObject({ runtime: "node", handler: "greet.greet", style: "handler" });
    const stored = await app.services.codeStore.get(fn.activeVersion!.s3Key);
    expect(new TextDecoder().decode(stored)).toBe(
      'exports.greet = (event) => {\n  return { hello: event.name ?? "world" };\n};\n',
    );
    expect(await codeView(page).locator(".token").count()).toBeGreaterThan(5);
  });

  it("shows a syntax error under the code, with its line marked", async () => {
    const { page, userId } = await signedIn();
    await open(page, `${app.url}/user/new`);
    await page.getByLabel("Name", { exact: true }).fill("broken");
    const editor = page.getByRole("textbox", { name: "Code", exact: true });
    await editor.click();
    await page.keyboard.press("ControlOrMeta+A");
    await page.keyboard.press("Delete");
    // After a line ending in ":" the editor indents the next one.
    await page.keyboard.type("def handler(event, context):\ntotal = 1\nreturn total +");
    expect(await editor.inputValue()).toBe(
      "def handler(event, context):\n    total = 1\n    return total +",
    );
    // Tab indents inside the editor; Escape hands the keyboard back, and Tab moves on.
    await page.keyboard.press("Escape");
    await page.keyboard.press("Tab");
    expect(await page.evaluate(() => document.activeElement?.getAttribute("name"))).toBe(
      "memoryMb",
    );
    await page.getByRole("button", { name: "Create function" }).click();
    const error = page.locator(".code-error");
    await error.waitFor();
    expect(await error.locator(".field-error").textContent()).toBe(
      "Syntax error in main.py at line 3: invalid syntax",
    );
    // The excerpt with its caret, and the line in the editor.
    expect(await error.locator("pre").textContent()).toContain("return total +");
    const marked = page.locator(".code-editor .code-line.error-line");
    expect(await marked.textContent()).toBe("    return total +");
    expect(await page.locator(".code-editor .code-line").nth(2).getAttribute("class")).toContain(
      "error-line",
    );
    // The name and code are still there, and focus went to the code.
    expect(await page.getByLabel("Name", { exact: true }).inputValue()).toBe("broken");
    expect(await page.evaluate(() => document.activeElement?.getAttribute("aria-invalid"))).toBe(
      "true",
    );
    await shot(page, "functions-flow-syntax-error");
    expect(await app.services.db.function.count({ where: { userId } })).toBe(0);

    // A name and a handler the schema refuses, each under its own field.
    await page.getByLabel("Name", { exact: true }).fill("Not OK");
    await page.getByLabel("Handler", { exact: true }).fill("main");
    await page.getByRole("button", { name: "Create function" }).click();
    await page.getByText("Use lowercase letters, digits and dashes").waitFor();
    await page.getByText("Use <module>.<function>").waitFor();
  });

  it("refuses a file over the size limit before sending it", async () => {
    const { page } = await signedIn();
    const big = path.join(fs.mkdtempSync(path.join(os.tmpdir(), "cloudless-big-")), "big.py");
    fs.writeFileSync(big, `x = "${"a".repeat(1024 * 1024 + 10)}"\n`);
    await open(page, `${app.url}/user/new`);
    await page.getByLabel("Name", { exact: true }).fill("big");
    await page.getByLabel("Upload a file").check();
    await page.getByLabel("File", { exact: true }).setInputFiles(big);
    await page.getByText("big.py is 1.0 MiB: files can be at most 1 MiB").waitFor();
    let posted = false;
    page.on("request", (r) => {
      if (r.method() === "POST") posted = true;
    });
    await page.getByRole("button", { name: "Create function" }).click();
    expect(await page.evaluate(() => document.activeElement?.getAttribute("type"))).toBe("file");
    expect(posted).toBe(false);
    // Sent anyway (as a page without scripts would), the server refuses it with the same limit.
    await page.getByLabel("File", { exact: true }).evaluate((input: HTMLInputElement) => {
      input.setCustomValidity("");
    });
    await page.getByRole("button", { name: "Create function" }).click();
    await page.locator(".code-error").getByText("The file is larger than 1 MiB").waitFor();
    expect(posted).toBe(true);
    fs.rmSync(path.dirname(big), { recursive: true, force: true });
  });

  it("edits settings, uploads new versions, rolls back and deletes with confirmation", async () => {
    const { page, userId } = await signedIn();
    const fn = await seedFunction(userId, { name: "calc", env: { API_TOKEN: "secret-value-123" } });
    await open(page, `${app.url}/user/functions/${fn.id}`);
    await page.getByRole("heading", { level: 1, name: "calc" }).waitFor();
    // The saved value is only hinted at.
    expect(await page.content()).not.toContain("secret-value-123");
    await page.locator(".env-row").filter({ hasText: "API_TOKEN" }).getByText("se••••••").waitFor();

    // Settings: a value out of range is refused next to its field.
    await page.getByLabel("Memory (MB)").fill("5");
    await page.getByRole("button", { name: "Save settings" }).click();
    await page.getByText("Memory must be between 64 and 2048").waitFor();
    expect(await page.getByLabel("Memory (MB)").getAttribute("aria-invalid")).toBe("true");

    await page.getByLabel("Memory (MB)").fill("256");
    await page.getByLabel("Timeout (seconds)").fill("10");
    await page.getByLabel("Public", { exact: true }).check();
    await page.getByRole("button", { name: "Add variable" }).click();
    await page.getByLabel("Name of variable 2").fill("REGION");
    await page.getByLabel("Value of variable 2").fill("eu-west");
    await page.getByRole("button", { name: "Save settings" }).click();
    await page.getByRole("status").getByText("Settings saved.").waitFor();
    let row = await app.services.db.function.findUniqueOrThrow({ where: { id: fn.id } });
    expect(row).toMatchObject({ memoryMb: 256, timeoutSeconds: 10, isPublic: true });
    expect(row.env).toEqual({ API_TOKEN: "secret-value-123", REGION: "eu-west" });
    // Reloaded: REGION is a saved variable now, and the summary says Public.
    await page.getByLabel("What to do with REGION").waitFor();
    await page.locator(".facts").getByText("Public").waitFor();

    // Replace one saved value, remove the other.
    await page.getByLabel("What to do with API_TOKEN").selectOption("replace");
    await page.getByLabel("New value for API_TOKEN").fill("new-secret-456");
    await page.getByLabel("What to do with REGION").selectOption("remove");
    await page.getByRole("button", { name: "Save settings" }).click();
    // The notice of the first save is still up: wait for the new hint instead.
    await page.locator(".env-row").filter({ hasText: "API_TOKEN" }).getByText("ne••••••").waitFor();
    row = await app.services.db.function.findUniqueOrThrow({ where: { id: fn.id } });
    expect(row.env).toEqual({ API_TOKEN: "new-secret-456" });
    expect(await page.locator(".env-row").count()).toBe(1);

    // A new version from the editor, which starts with the live code.
    await page.getByText("Upload a new version").click();
    const editor = page.getByLabel("New code");
    expect(await editor.inputValue()).toBe(CALC);
    await editor.fill('print("version two")\n');
    await page.getByRole("button", { name: "Upload new version" }).click();
    // The answer shows while the page's data is still being reloaded: wait for the code.
    await page.getByRole("status").getByText("Version 2 is live.").waitFor();
    await expect.poll(() => codeView(page).textContent()).toContain('print("version two")');
    await shot(page, "functions-flow-detail");

    // And one from a file.
    await page.getByText("Upload a new version").click();
    await page.locator("details").getByLabel("Upload a file").check();
    await page
      .locator("details")
      .getByLabel("File", { exact: true })
      .setInputFiles({
        name: "calc.py",
        mimeType: "text/x-python",
        buffer: Buffer.from('print("version three")\n'),
      });
    await page.getByRole("button", { name: "Upload new version" }).click();
    await page.getByRole("status").getByText("Version 3 is live.").waitFor();
    await expect.poll(() => codeView(page).textContent()).toContain('print("version three")');

    // Versions, newest first; roll back to the first.
    const versions = page.getByRole("table").last();
    expect(await versions.locator("tbody tr").count()).toBe(3);
    expect(await versions.locator("tbody tr").first().textContent()).toContain("Live");
    await page.getByRole("button", { name: "Roll back to version 1" }).click();
    await page.getByRole("status").getByText("Version 1 is live again.").waitFor();
    await expect
      .poll(() => codeView(page).textContent())
      .toContain("def calculator(a: float, b: float)");
    const live = await app.services.db.function.findUniqueOrThrow({
      where: { id: fn.id },
      select: { activeVersion: { select: { number: true } } },
    });
    expect(live.activeVersion?.number).toBe(1);

    // Delete: the name must be typed.
    await page.getByLabel("Type calc to confirm").fill("calculator");
    await page.getByRole("button", { name: "Delete calc" }).click();
    await page.getByText("Type calc to confirm", { exact: true }).last().waitFor();
    expect(await page.locator(".danger-zone .field-error").textContent()).toBe(
      "Type calc to confirm",
    );
    expect(await app.services.db.function.count({ where: { id: fn.id } })).toBe(1);
    await page.getByLabel("Type calc to confirm").fill("calc");
    await page.getByRole("button", { name: "Delete calc" }).click();
    await page.waitForURL(`${app.url}/user/functions?deleted=calc`);
    await page.getByRole("status").getByText("Deleted calc.").waitFor();
    expect(await app.services.db.function.count({ where: { id: fn.id } })).toBe(0);
  });

  it("answers 404 for an unknown id and for another user's function", async () => {
    const { userId: otherId } = await signedIn();
    const theirs = await seedFunction(otherId, { name: "private-calc" });
    const { page } = await signedIn();
    for (const id of [theirs.id, "no-such-function"]) {
      const response = await page.goto(`${app.url}/user/functions/${id}`);
      expect(response?.status()).toBe(404);
      await page.getByRole("heading", { name: "Function not found" }).waitFor();
      // Still inside the signed-in shell, with its navigation.
      await page.getByRole("navigation", { name: "Main" }).waitFor();
      expect(await page.content()).not.toContain("private-calc");
    }
  });

  it("creates an API key, shows its secret once, and revokes it after confirmation", async () => {
    const { page, userId } = await signedIn();
    await open(page, `${app.url}/user/settings`);
    await page.getByText("No API keys yet.").waitFor();
    await page.getByLabel("New key name").fill("laptop CLI");
    await page.getByRole("button", { name: "Create key" }).click();
    const secret = page.locator(".secret-value");
    await secret.waitFor();
    const key = (await secret.textContent()) ?? "";
    expect(key).toMatch(/^cl_[a-z0-9]{12}_[A-Za-z0-9_-]{43}$/);
    await page.getByText("This is the only time").waitFor();
    await page.getByRole("button", { name: "Copy API key" }).click();
    expect(await page.evaluate(() => navigator.clipboard.readText())).toBe(key);
    await shot(page, "functions-flow-api-key");

    // The key works for programs.
    const answer = await fetch(`${app.url}/api/trpc/functions.list`, {
      headers: { authorization: `Bearer ${key}` },
    });
    expect(answer.status).toBe(200);

    // Afterwards only its prefix is ever shown.
    const prefix = key.split("_")[1]!;
    await open(page, `${app.url}/user/settings`);
    const row = page.getByRole("row").filter({ hasText: "laptop CLI" });
    expect(await row.locator('td[data-label="Key"]').textContent()).toBe(`cl_${prefix}_…`);
    expect(await page.content()).not.toContain(key);

    // Revoking asks first; Cancel withdraws the question.
    await row.getByRole("button", { name: "Revoke key laptop CLI" }).click();
    await row.getByRole("link", { name: "Cancel" }).click();
    await row.getByRole("button", { name: "Revoke key laptop CLI" }).waitFor();
    expect(await app.services.db.apiKey.count({ where: { userId } })).toBe(1);
    await row.getByRole("button", { name: "Revoke key laptop CLI" }).click();
    await row.getByRole("button", { name: "Revoke laptop CLI" }).click();
    await page.getByRole("status").getByText("Revoked laptop CLI").waitFor();
    await page.getByText("No API keys yet.").waitFor();
    expect(await app.services.db.apiKey.count({ where: { userId } })).toBe(0);
    const refused = await fetch(`${app.url}/api/trpc/functions.list`, {
      headers: { authorization: `Bearer ${key}` },
    });
    expect(refused.status).toBe(401);
  });

  it("fits a phone: the new function form and a function's page", async () => {
    const { page, userId } = await signedIn({ viewport: VIEWPORTS.phone });
    const fn = await seedFunction(userId, { name: "calc", env: { TOKEN: "abcdefghijkl" } });
    await open(page, `${app.url}/user/new`);
    await checkPage(page, "new");
    await shot(page, "functions-flow-phone-new");
    await open(page, `${app.url}/user/functions/${fn.id}`);
    await page.getByText("Upload a new version").click();
    await checkPage(page, "function");
    await shot(page, "functions-flow-phone-detail");
  });
});
