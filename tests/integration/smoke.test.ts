import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startTestApp, type TestApp } from "../helpers/app";

describe("server", () => {
  let app: TestApp;
  beforeAll(async () => {
    app = await startTestApp();
  });
  afterAll(() => app.close());

  it("serves the landing page and tRPC", async () => {
    const page = await fetch(`${app.url}/`);
    expect(page.status).toBe(200);
    expect(await page.text()).toContain("Serverless functions on your own machine");
    const me = await fetch(`${app.url}/api/trpc/auth.me`);
    expect(me.status).toBe(200);
    expect(await me.json()).toEqual({ result: { data: null } });
  });
});
