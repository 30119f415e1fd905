import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createApiKey } from "../../server/auth/api-keys";
import { API_KEY_CACHE_MS } from "../../server/http/request-auth";
import type { Services } from "../../server/services";
import { startTestApp, type TestApp } from "../helpers/app";
import {
  type CallOptions,
  call,
  createTenant,
  type Deployed,
  DOCKER_ENV,
  deploy,
  ownerOf,
  removeOwnerContainers,
  type Tenant,
  waitFor,
} from "../helpers/docker";
import { HttpClient, sameOrigin } from "../helpers/http-client";

// Who may call a function's URL, against real Docker: a private function runs
// only for its owner (API key or session, the session only from this site);
// every refusal happens before anything runs; a public one is open to all. And
// how fast a revoked API key stops working under load.

let app: TestApp;
let alice: Tenant;
let bob: Tenant;
let privateFn: Deployed;
let publicFn: Deployed;

const CODE = "def main(event, context):\n    return 'hello ' + event.get('who', 'you')\n";

beforeAll(async () => {
  app = await startTestApp({ ...DOCKER_ENV, POOL_GENERIC_PER_RUNTIME: "1" });
  [alice, bob] = await Promise.all([
    createTenant(app, "alice@example.com"),
    createTenant(app, "bob@example.com"),
  ]);
  [privateFn, publicFn] = await Promise.all([
    deploy(alice, {
      name: "private-hello",
      runtime: "python",
      handler: "private.main",
      memoryMb: 64,
      code: CODE,
    }),
    deploy(alice, {
      name: "public-hello",
      runtime: "python",
      handler: "public.main",
      memoryMb: 64,
      isPublic: true,
      code: CODE,
    }),
  ]);
});

afterAll(async () => {
  const owner = app && ownerOf(app);
  await app?.close();
  if (owner) await removeOwnerContainers(owner);
});

/** Revokes one of alice's keys the way the Settings page does: the real procedure, with her session. */
async function revokeAsAlice(keyId: string) {
  const browser = new HttpClient(app.url, sameOrigin(app.url));
  browser.setCookie("cl_session", alice.cookie.slice(alice.cookie.indexOf("=") + 1));
  const result = await browser.mutation("apiKeys.revoke", { id: keyId });
  expect(result.status, result.text).toBe(200);
}

async function recordedCalls(fn: Deployed) {
  await app.services.recorder.flush();
  return app.services.db.invocation.count({ where: { functionId: fn.id } });
}

/** Specialized python instances (idle or busy) across all functions of this app. */
function specializedInstances() {
  const row = app.services.runners
    .stats()
    .instances.find((r) => r.engine === "docker" && r.runtime === "python");
  return (row?.idle ?? 0) + (row?.busy ?? 0);
}

describe("a private function's URL", () => {
  it("refuses everyone but its owner, before anything runs", async () => {
    const { key: revokedKey, record } = await createApiKey(app.services.db, alice.id, "gone");
    await revokeAsAlice(record.id);
    const wellFormedUnknown = `cl_${"a".repeat(12)}_${"B".repeat(43)}`;
    const refusals: Array<[string, CallOptions, number, RegExp]> = [
      ["no credentials", { key: null }, 401, /private/],
      [
        "a Basic scheme",
        { key: null, headers: { authorization: `Basic ${alice.key}` } },
        401,
        /Bearer/,
      ],
      ["a malformed key", { key: "cl_not-a-key" }, 401, /Invalid or revoked/],
      ["a well-formed unknown key", { key: wellFormedUnknown }, 401, /Invalid or revoked/],
      ["the owner's revoked key", { key: revokedKey }, 401, /Invalid or revoked/],
      ["another user's API key", { key: bob.key }, 403, /another user/],
      ["another user's session", { key: null, headers: { cookie: bob.cookie } }, 403, /another/],
      [
        "the owner's session, from another site's link (GET)",
        { key: null, headers: { cookie: alice.cookie, "sec-fetch-site": "cross-site" } },
        403,
        /Cross-origin/,
      ],
      [
        "the owner's session, posted from another site",
        {
          key: null,
          body: { who: "csrf" },
          headers: { cookie: alice.cookie, origin: "https://evil.example" },
        },
        403,
        /Cross-origin/,
      ],
    ];
    for (const [name, options, status, error] of refusals) {
      const result = await call(app, alice, privateFn, options);
      expect({ name, http: result.http }).toEqual({ name, http: status });
      expect(result.body.error, name).toMatch(error);
      expect(result.body.result, name).toBeUndefined();
    }
    // Nothing ran: no record, no instance given the function's code.
    expect(await recordedCalls(privateFn)).toBe(0);
    expect(specializedInstances()).toBe(0);

    const allowed: Array<[string, CallOptions]> = [
      ["the owner's API key", {}],
      [
        "the owner's session, from this site",
        { key: null, headers: { cookie: alice.cookie, ...sameOrigin(app.url) } },
      ],
      [
        "the owner's session, URL typed in",
        { key: null, headers: { cookie: alice.cookie, "sec-fetch-site": "none" } },
      ],
      ["the owner's session, no browser headers", { key: null, headers: { cookie: alice.cookie } }],
    ];
    for (const [name, options] of allowed) {
      const result = await call(app, alice, privateFn, { ...options, query: { who: "alice" } });
      expect({ name, http: result.http, result: result.body.result }).toEqual({
        name,
        http: 200,
        result: "hello alice",
      });
    }
    expect(await recordedCalls(privateFn)).toBe(allowed.length);
  });
});

describe("a public function's URL", () => {
  it("is open to anyone, from any site, whatever credentials come with the call", async () => {
    const callers: Array<[string, CallOptions]> = [
      ["no credentials", { key: null }],
      ["another user's API key", { key: bob.key }],
      [
        "another user's session, from another site",
        { key: null, headers: { cookie: bob.cookie, "sec-fetch-site": "cross-site" } },
      ],
      ["a malformed key (not looked at)", { key: "cl_not-a-key" }],
    ];
    for (const [name, options] of callers) {
      const result = await call(app, alice, publicFn, { ...options, query: { who: "anyone" } });
      expect({ name, http: result.http, result: result.body.result }).toEqual({
        name,
        http: 200,
        result: "hello anyone",
      });
    }
    // Made private again, the same URL closes (the cached lookup is dropped on change).
    await alice.sdk.functions.updateSettings.mutate({
      id: publicFn.id,
      settings: { isPublic: false },
    });
    expect((await call(app, alice, publicFn, { key: null })).http).toBe(401);
    expect((await call(app, alice, publicFn, { key: bob.key })).http).toBe(403);
  });
});

interface Sample {
  started: number;
  ended: number;
  http: number;
}

/**
 * Calls the private function with `key` from `callers` loops, each pausing
 * `pauseMs` between calls, until `stop()` says so.
 */
function loadWith(key: string, callers: number, pauseMs: number) {
  const samples: Sample[] = [];
  let stopped = false;
  const loops = Array.from({ length: callers }, async () => {
    while (!stopped) {
      const started = Date.now();
      const { http } = await call(app, alice, privateFn, { key });
      samples.push({ started, ended: Date.now(), http });
      await new Promise((r) => setTimeout(r, pauseMs));
    }
  });
  return {
    samples,
    async stop() {
      stopped = true;
      await Promise.all(loops);
      return samples;
    },
  };
}

describe("an API key revoked mid-load", () => {
  it("through apiKeys.revoke is refused by every call that starts after the revoke answers (bound: 0 ms on this server)", async () => {
    const { key, record } = await createApiKey(app.services.db, alice.id, "load");
    const load = loadWith(key, 2, 10);
    await waitFor(
      "20 successful calls",
      () => load.samples.filter((s) => s.http === 200).length >= 20,
      30_000,
    );
    const revokeStarted = Date.now();
    await revokeAsAlice(record.id);
    const revoked = Date.now();
    await waitFor(
      "20 calls after the revoke",
      () => load.samples.filter((s) => s.started >= revoked).length >= 20,
      30_000,
    );
    const samples = await load.stop();

    expect(samples.filter((s) => s.ended < revokeStarted).every((s) => s.http === 200)).toBe(true);
    const after = samples.filter((s) => s.started >= revoked);
    expect(after.map((s) => s.http)).toEqual(after.map(() => 401));
    // Calls in flight while the revoke ran may have gone either way; nothing else happened.
    expect(samples.every((s) => s.http === 200 || s.http === 401)).toBe(true);

    // The API refuses it too, on the very next request.
    const program = new HttpClient(app.url, { authorization: `Bearer ${key}` });
    const list = await program.query("functions.list");
    expect(list.status).toBe(401);
    expect(list.body.error?.message).toBe("Invalid or revoked API key");
  });

  it("while the key's lookup is in flight is not kept alive by that lookup's answer", async () => {
    const { key, record } = await createApiKey(app.services.db, alice.id, "racing");
    // Hold the route's read of the key row until the revoke is done: the read
    // sees the key, the revoke deletes it and clears the cache, then the read's
    // answer arrives.
    const held = holdApiKeyReads(app.services);
    try {
      const first = call(app, alice, privateFn, { key });
      await held.read;
      await revokeAsAlice(record.id);
      held.release();
      // It started before the revoke, so it may run.
      expect((await first).http).toBe(200);
    } finally {
      held.restore();
    }
    const next = await call(app, alice, privateFn, { key });
    expect(next.http).toBe(401);
  });

  it(
    `outside this server (deleted in the database) is refused within the ${API_KEY_CACHE_MS / 1000} s cache time`,
    async () => {
      const { key, record } = await createApiKey(app.services.db, alice.id, "deleted");
      const load = loadWith(key, 1, 100);
      await waitFor(
        "5 successful calls",
        () => load.samples.filter((s) => s.http === 200).length >= 5,
        30_000,
      );
      await app.services.db.apiKey.delete({ where: { id: record.id } });
      const deleted = Date.now();
      const bound = deleted + API_KEY_CACHE_MS;
      await waitFor(
        "10 calls past the cache time",
        () => load.samples.filter((s) => s.started >= bound).length >= 10,
        API_KEY_CACHE_MS + 30_000,
      );
      const samples = await load.stop();
      const late = samples.filter((s) => s.started >= bound);
      expect(late.map((s) => s.http)).toEqual(late.map(() => 401));
    },
    API_KEY_CACHE_MS + 60_000,
  );
});

/**
 * Makes `services.db.apiKey.findUnique` hold its answer until released (the
 * read itself happens at once, against the real database).
 */
function holdApiKeyReads(services: Services) {
  const real = services.db;
  let release!: () => void;
  const gate = new Promise<void>((resolve) => {
    release = resolve;
  });
  let arrived!: () => void;
  const read = new Promise<void>((resolve) => {
    arrived = resolve;
  });
  const apiKey = new Proxy(real.apiKey, {
    get(target, prop) {
      const value = Reflect.get(target, prop);
      if (prop !== "findUnique" || typeof value !== "function") return value;
      return async (...args: unknown[]) => {
        const result = await value.apply(target, args);
        arrived();
        await gate;
        return result;
      };
    },
  });
  services.db = new Proxy(real, {
    get(target, prop) {
      if (prop === "apiKey") return apiKey;
      const value = Reflect.get(target, prop);
      return typeof value === "function" ? value.bind(target) : value;
    },
  });
  return {
    read,
    release,
    restore() {
      release();
      services.db = real;
    },
  };
}
