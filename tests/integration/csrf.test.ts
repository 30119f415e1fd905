import path from "node:path";
import { pathToFileURL } from "node:url";
import type { ServerBuild } from "@remix-run/node";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { randomToken } from "../../server/auth/tokens";
import { appRouter } from "../../server/root";
import { startTestApp, type TestApp } from "../helpers/app";
import { HttpClient, sameOrigin } from "../helpers/http-client";
import { createVictim, newSessionCookie, type Victim, victimState } from "../helpers/victim";

// Cross-site request forgery against every unsafe entry point, enumerated
// from the app itself: each Remix route that exports an `action` (from the
// Remix build's route manifest) and each tRPC mutation (from the router). The
// victim's browser sends its cookie with a request the attacker's page made;
// each must be refused with 403 and change nothing, while the same request
// from the site itself passes the check. See docs/decisions/0003-csrf.md.

/**
 * What each form post sends (the most harmful thing it could do to the
 * victim). A route with an action that is not here fails the first test: add
 * it, keyed by its Remix route id.
 */
const FORMS: Record<string, (v: Victim) => Record<string, string>> = {
  "routes/auth.$provider": () => ({ next: "/user" }),
  "routes/forgot-password": (v) => ({ email: v.email }),
  "routes/login": (v) => ({ email: v.email, password: "a-long-password-1" }),
  "routes/logout": () => ({}),
  "routes/register": (v) => ({ name: "Csrf", email: v.email, password: "a-long-password-1" }),
  "routes/reset-password": () => ({ token: randomToken(), password: "a-long-password-1" }),
  "routes/user.functions.$id": (v) => ({ intent: "delete", confirm: v.fn.name }),
  "routes/user.new": () => ({
    name: "planted",
    runtime: "python",
    handler: "planted.main",
    source: "editor",
    code: "def main(event, context):\n    return 1\n",
  }),
  "routes/user.settings": () => ({ intent: "create-key", name: "planted" }),
  "routes/verify": (v) => ({ intent: "resend", email: v.email }),
};

/** Values for the routes' URL parameters. */
const PARAMS: Record<string, (v: Victim) => string> = {
  id: (v) => v.fn.id,
  provider: () => "github",
};

/**
 * What each tRPC mutation sends; a mutation not listed is sent with `{}` (the
 * check runs before any input is read, so it is refused all the same).
 */
const MUTATION_INPUTS: Record<string, (v: Victim) => unknown> = {
  "functions.delete": (v) => ({ id: v.fn.id }),
  "functions.updateSettings": (v) => ({ id: v.fn.id, settings: { isPublic: true } }),
  "functions.uploadCode": (v) => ({
    id: v.fn.id,
    codeBase64: Buffer.from("def main(event, context):\n    return 'pwned'\n").toString("base64"),
    fileName: "victim.py",
  }),
  "functions.rollback": (v) => ({ id: v.fn.id, version: 1 }),
  "functions.create": () => ({
    name: "planted",
    runtime: "python",
    handler: "planted.main",
    codeBase64: Buffer.from("def main(event, context):\n    return 1\n").toString("base64"),
    fileName: "planted.py",
  }),
  "apiKeys.create": () => ({ name: "planted" }),
  "apiKeys.revoke": (v) => ({ id: v.apiKey.id }),
  "auth.revokeSession": (v) => ({ id: v.sessionId }),
  "auth.login": (v) => ({ email: v.email, password: "a-long-password-1" }),
  "auth.register": (v) => ({ name: "Csrf", email: v.email, password: "a-long-password-1" }),
  "auth.requestPasswordReset": (v) => ({ email: v.email }),
  "auth.resendVerification": (v) => ({ email: v.email }),
  "auth.resetPassword": () => ({ token: randomToken(), password: "a-long-password-1" }),
  "auth.verifyEmail": () => ({ token: randomToken() }),
};

const ATTACKS: Array<[string, Record<string, string>]> = [
  ["Sec-Fetch-Site: cross-site", { "Sec-Fetch-Site": "cross-site", Origin: "http://evil.example" }],
  ["an Origin of another site, no Sec-Fetch-Site", { Origin: "http://evil.example" }],
  ["Sec-Fetch-Site: same-site", { "Sec-Fetch-Site": "same-site", Origin: "http://sub.127.0.0.1" }],
  ['the opaque Origin "null"', { Origin: "null" }],
];

const REFUSAL = {
  error: "Cross-origin request refused (CSRF protection). Submit the form from this site.",
};

interface Target {
  name: string;
  send(client: HttpClient, victim: Victim): Promise<Response>;
}

// The build global setup made (tests are collected from it, so it is loaded here, not in a hook).
const build = (await import(pathToFileURL(path.resolve("build/index.js")).href)) as ServerBuild;

let app: TestApp;
let victim: Victim;

beforeAll(async () => {
  app = await startTestApp({ AUTH_RATE_LIMIT_PER_IP: "1000", AUTH_RATE_LIMIT_PER_EMAIL: "1000" });
  victim = await createVictim(app);
});
afterAll(() => app?.close());

/** The Remix routes with an action, by id, with their full URL pattern. */
function routesWithActions(): Array<{ id: string; pattern: string }> {
  const routes = build.routes;
  const full = (id: string): string => {
    const route = routes[id]!;
    const own = route.path ?? "";
    const parent = route.parentId ? full(route.parentId) : "";
    return own ? `${parent}/${own}` : parent;
  };
  return Object.values(routes)
    .filter((route) => typeof route.module.action === "function")
    .map((route) => ({ id: route.id, pattern: full(route.id) || "/" }))
    .sort((a, b) => a.id.localeCompare(b.id));
}

function mutations(): string[] {
  const procedures = appRouter._def.procedures as unknown as Record<
    string,
    { _def: { type: string } }
  >;
  return Object.entries(procedures)
    .filter(([, p]) => p._def.type === "mutation")
    .map(([name]) => name)
    .sort();
}

function targets(): Target[] {
  const forms = routesWithActions().map(({ id, pattern }) => ({
    name: `form ${pattern} (${id})`,
    send: (client: HttpClient, v: Victim) => {
      const url = pattern.replace(/:(\w+)/g, (_, param: string) => {
        const value = PARAMS[param];
        if (!value) throw new Error(`Add a value for the URL parameter :${param} to PARAMS`);
        return encodeURIComponent(value(v));
      });
      const fields = FORMS[id];
      if (!fields) throw new Error(`Add the route ${id} to FORMS`);
      return client.form(url, fields(v));
    },
  }));
  const trpc = mutations().map((name) => ({
    name: `tRPC ${name}`,
    send: (client: HttpClient, v: Victim) =>
      client.request(`/api/trpc/${name}`, {
        method: "POST",
        headers: { "Content-Type": "application/json" },
        body: JSON.stringify(MUTATION_INPUTS[name]?.(v) ?? {}),
      }),
  }));
  return [...forms, ...trpc];
}

/** A browser holding the victim's session cookie, sending these headers. */
function browserOf(cookie: string, headers: Record<string, string>) {
  const browser = new HttpClient(app.url, headers);
  browser.setCookie("cl_session", cookie.slice(cookie.indexOf("=") + 1));
  return browser;
}

async function everything() {
  const { db } = app.services;
  const [users, sessions, apiKeys, functions, mails, tokens] = await Promise.all([
    db.user.count(),
    db.session.count(),
    db.apiKey.count(),
    db.function.count(),
    db.outboxEmail.count(),
    db.userToken.count(),
  ]);
  return {
    victim: await victimState(app.services, victim),
    counts: { users, sessions, apiKeys, functions, mails, tokens },
  };
}

describe("the lists", () => {
  it("have an entry for every route with an action and no stale ones", () => {
    const ids = routesWithActions().map((r) => r.id);
    expect(
      ids.filter((id) => !FORMS[id]),
      "Add these routes to FORMS in tests/integration/csrf.test.ts",
    ).toEqual([]);
    expect(Object.keys(FORMS).filter((id) => !ids.includes(id))).toEqual([]);
    expect(Object.keys(MUTATION_INPUTS).filter((m) => !mutations().includes(m))).toEqual([]);
    // Not vacuous: the app does have these.
    expect(ids.length).toBeGreaterThanOrEqual(10);
    expect(mutations().length).toBeGreaterThanOrEqual(15);
  });
});

describe.each(ATTACKS)("a cross-site request with %s", (_attack, headers) => {
  it.each(targets())("is refused with 403 and no effect: $name", async (target) => {
    const before = await everything();
    const response = await target.send(browserOf(victim.cookie, headers), victim);
    expect(response.status).toBe(403);
    expect(response.headers.getSetCookie()).toEqual([]);
    expect(await response.json()).toEqual(REFUSAL);
    expect(await everything()).toEqual(before);
  });
});

describe("the same request from the site itself", () => {
  // A victim of its own, whose things these requests really change.
  let self: Victim;
  beforeAll(async () => {
    self = await createVictim(app, "self@example.com");
  });

  it.each(targets())("passes the check: $name", async (target) => {
    // A fresh session per request: logout and revocations end the one they use.
    const cookie = await newSessionCookie(app.services, self.id);
    const response = await target.send(browserOf(cookie, sameOrigin(app.url)), self);
    const text = await response.text();
    expect(text).not.toContain(REFUSAL.error);
    expect(response.status, text).not.toBe(500);
  });

  it("really deletes the function, for instance", async () => {
    expect(await app.services.db.function.count({ where: { id: self.fn.id } })).toBe(0);
  });
});
