import type { AddressInfo } from "node:net";
import os from "node:os";
import path from "node:path";
import { pathToFileURL } from "node:url";
import type { ServerBuild } from "@remix-run/node";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createHttpServer, isFromThisHost } from "../../server/http/server";
import { startTestApp, type TestApp } from "../helpers/app";
import { HttpClient } from "../helpers/http-client";
import { latestLink } from "../helpers/mail";

// The development outbox holds every account's verification and reset links:
// whoever reads it can take over any account. `npm start` listens on every
// interface without NODE_ENV=production, so the outbox must answer only this
// machine, never another host on the network nor a request a proxy relays.

/** A non-loopback IPv4 address of this machine, to reach the server as another host would. */
const lanAddress = Object.values(os.networkInterfaces())
  .flat()
  .find((a) => a && a.family === "IPv4" && !a.internal)?.address;

let app: TestApp;
let lan: { url: string; close(): Promise<void> } | undefined;

beforeAll(async () => {
  app = await startTestApp({ AUTH_RATE_LIMIT_PER_IP: "1000", AUTH_RATE_LIMIT_PER_EMAIL: "1000" });
  await app.services.db.user.create({
    data: { email: "victim@example.com", name: "Victim", emailVerifiedAt: new Date() },
  });
  // Someone asks for a reset link for the victim's address (anyone may).
  const asked = await new HttpClient(app.url).mutation("auth.requestPasswordReset", {
    email: "victim@example.com",
  });
  expect(asked.status).toBe(200);
  if (lanAddress) {
    // The same app on the machine's network address, as `HOST=0.0.0.0` serves it.
    const build = (await import(pathToFileURL(path.resolve("build/index.js")).href)) as ServerBuild;
    const server = createHttpServer(app.services, build);
    await new Promise<void>((resolve) => server.listen(0, lanAddress, resolve));
    const { port } = server.address() as AddressInfo;
    lan = {
      url: `http://${lanAddress}:${port}`,
      close: () =>
        new Promise((resolve) => {
          server.closeAllConnections();
          server.close(() => resolve());
        }),
    };
  }
});
afterAll(async () => {
  await lan?.close();
  await app?.close();
});

describe("the development outbox", () => {
  it("shows this machine the mail, links included", async () => {
    const { token } = await latestLink(app.services.db, "victim@example.com", "/reset-password");
    const page = await new HttpClient(app.url).get("/dev/outbox");
    expect(page.status).toBe(200);
    expect(await page.text()).toContain(token);
  });

  it.skipIf(!lanAddress)("is not found from another host on the network", async () => {
    const { token } = await latestLink(app.services.db, "victim@example.com", "/reset-password");
    const page = await new HttpClient(lan!.url).get("/dev/outbox");
    expect(page.status).toBe(404);
    expect(await page.text()).not.toContain(token);
  });

  it("is not found for a request a proxy relayed (X-Forwarded-For or Forwarded)", async () => {
    const { token } = await latestLink(app.services.db, "victim@example.com", "/reset-password");
    const relayed: Array<Record<string, string>> = [
      { "X-Forwarded-For": "203.0.113.9" },
      { Forwarded: "for=203.0.113.9" },
    ];
    for (const header of relayed) {
      const page = await new HttpClient(app.url).get("/dev/outbox", header);
      expect(page.status).toBe(404);
      expect(await page.text()).not.toContain(token);
    }
  });
});

describe("isFromThisHost", () => {
  const req = (remoteAddress: string, headers: Record<string, string> = {}) =>
    isFromThisHost({ headers, socket: { remoteAddress } as never });

  it("is true for loopback peers only, and never for relayed requests", () => {
    expect(req("127.0.0.1")).toBe(true);
    expect(req("::1")).toBe(true);
    expect(req("::ffff:127.0.0.1")).toBe(true);
    expect(req("192.0.2.2")).toBe(false);
    expect(req("::ffff:10.0.0.5")).toBe(false);
    expect(req("fd00::2")).toBe(false);
    expect(req("127.0.0.1", { "x-forwarded-for": "127.0.0.1" })).toBe(false);
    expect(req("127.0.0.1", { forwarded: "for=127.0.0.1" })).toBe(false);
  });
});
