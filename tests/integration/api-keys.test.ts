import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { hashToken } from "../../server/auth/tokens";
import type { Services } from "../../server/services";
import { startTestApp, type TestApp } from "../helpers/app";
import { trpcError } from "../helpers/caller";
import { apiCaller, createTestUser, sessionCaller, type TestUser } from "../helpers/functions";

// API keys: made and revoked from a browser session, used by programs over
// HTTP as `Authorization: Bearer cl_…`. A bad key is a 401 with a reason,
// never a silent fall back to "signed out".

let app: TestApp;
let services: Services;
let alice: TestUser;
let bob: TestUser;

beforeAll(async () => {
  app = await startTestApp();
  services = app.services;
  alice = await createTestUser(services, "alice@example.com");
  bob = await createTestUser(services, "bob@example.com");
});
afterAll(() => app?.close());

/** `functions.list` over HTTP, as the SDK sends it. */
async function listOverHttp(authorization: string) {
  const response = await fetch(`${app.url}/api/trpc/functions.list`, {
    headers: { authorization },
  });
  const body = (await response.json()) as {
    result?: { data: unknown };
    error?: { message: string; data: { code: string; httpStatus: number } };
  };
  return { status: response.status, body };
}

async function newKey(user: TestUser, name: string) {
  const browser = await sessionCaller(services, user.cookie);
  return browser.apiKeys.create({ name });
}

describe("creating a key", () => {
  it("returns the secret once; the database keeps only its sha256", async () => {
    const { key, record } = await newKey(alice, "laptop");
    expect(key).toMatch(/^cl_[a-z0-9]{12}_[A-Za-z0-9_-]{43}$/);
    expect(key.startsWith(`cl_${record.prefix}_`)).toBe(true);
    expect(record).toEqual({
      id: expect.any(String),
      name: "laptop",
      prefix: record.prefix,
      createdAt: expect.any(Date),
      lastUsedAt: null,
    });
    const row = await services.db.apiKey.findUniqueOrThrow({ where: { id: record.id } });
    expect(row.keyHash).toBe(hashToken(key));
    const secret = key.slice(`cl_${record.prefix}_`.length);
    const everything = JSON.stringify(await services.db.$queryRawUnsafe('SELECT * FROM "ApiKey"'));
    expect(everything).not.toContain(secret);
  });

  it("refuses an empty name", async () => {
    const browser = await sessionCaller(services, alice.cookie);
    const error = await trpcError(browser.apiKeys.create({ name: "   " }));
    expect(error.code).toBe("BAD_REQUEST");
  });

  it("lists a user's own keys by prefix, name and dates, never the hash", async () => {
    const { record } = await newKey(alice, "ci");
    const keys = await (await sessionCaller(services, alice.cookie)).apiKeys.list();
    expect(keys.map((k) => k.id)).toContain(record.id);
    for (const listed of keys) {
      expect(Object.keys(listed).sort()).toEqual([
        "createdAt",
        "id",
        "lastUsedAt",
        "name",
        "prefix",
      ]);
    }
    const hashes = await services.db.apiKey.findMany({ select: { keyHash: true } });
    const json = JSON.stringify(keys);
    for (const { keyHash } of hashes) expect(json).not.toContain(keyHash);
    const bobs = await (await sessionCaller(services, bob.cookie)).apiKeys.list();
    expect(bobs.map((k) => k.id)).not.toContain(record.id);
  });
});

describe("using a key", () => {
  it("authenticates over HTTP and records when it was last used", async () => {
    const { key, record } = await newKey(alice, "script");
    const before = Date.now();
    const { status, body } = await listOverHttp(`Bearer ${key}`);
    expect(status).toBe(200);
    expect(body.result?.data).toEqual([]);
    const row = await services.db.apiKey.findUniqueOrThrow({ where: { id: record.id } });
    expect(row.lastUsedAt?.getTime()).toBeGreaterThanOrEqual(before - 1000);
    expect(row.lastUsedAt?.getTime()).toBeLessThanOrEqual(Date.now());
    const [listed] = (await (await sessionCaller(services, alice.cookie)).apiKeys.list()).filter(
      (k) => k.id === record.id,
    );
    expect(listed?.lastUsedAt).toEqual(row.lastUsedAt);
  });

  it.each([
    ["a malformed key", "Bearer not-a-key", "Invalid or revoked API key"],
    ["an unknown key", `Bearer cl_abcdefghijkl_${"A".repeat(43)}`, "Invalid or revoked API key"],
    ["another scheme", "Basic YWxpY2U6cGFzc3dvcmQ=", "Use Authorization: Bearer <API key>"],
    ["no key at all", "Bearer", "Use Authorization: Bearer <API key>"],
  ])("refuses %s with 401 and the reason", async (_, authorization, message) => {
    const { status, body } = await listOverHttp(authorization);
    expect(status).toBe(401);
    expect(body.error).toMatchObject({ message, data: { code: "UNAUTHORIZED", httpStatus: 401 } });
  });

  it("refuses a key whose secret part is wrong", async () => {
    const { key } = await newKey(alice, "tampered");
    const last = key.at(-1) === "A" ? "B" : "A";
    const { status, body } = await listOverHttp(`Bearer ${key.slice(0, -1)}${last}`);
    expect(status).toBe(401);
    expect(body.error?.message).toBe("Invalid or revoked API key");
  });
});

describe("revoking a key", () => {
  it("makes it fail on the very next request", async () => {
    const { key, record } = await newKey(alice, "to-revoke");
    expect((await listOverHttp(`Bearer ${key}`)).status).toBe(200);
    const browser = await sessionCaller(services, alice.cookie);
    expect(await browser.apiKeys.revoke({ id: record.id })).toEqual({ ok: true });
    const { status, body } = await listOverHttp(`Bearer ${key}`);
    expect(status).toBe(401);
    expect(body.error?.message).toBe("Invalid or revoked API key");
    expect((await browser.apiKeys.list()).map((k) => k.id)).not.toContain(record.id);
  });

  it("is refused for another user's key, which keeps working", async () => {
    const { key, record } = await newKey(alice, "not-bobs");
    const asBob = await sessionCaller(services, bob.cookie);
    const error = await trpcError(asBob.apiKeys.revoke({ id: record.id }));
    expect({ code: error.code, message: error.message }).toEqual({
      code: "NOT_FOUND",
      message: "No such API key.",
    });
    expect((await listOverHttp(`Bearer ${key}`)).status).toBe(200);
  });
});

// A leaked key must not be able to mint a replacement that survives its own
// revocation, nor revoke the owner's other keys: both need a browser session.
describe("with only an API key", () => {
  it("cannot create or revoke keys", async () => {
    const asProgram = await apiCaller(services, alice.key);
    const create = await trpcError(asProgram.apiKeys.create({ name: "sneaky" }));
    expect(create.code).toBe("UNAUTHORIZED");
    const { record } = await newKey(alice, "other");
    const revoke = await trpcError(asProgram.apiKeys.revoke({ id: record.id }));
    expect(revoke.code).toBe("UNAUTHORIZED");
    expect(await services.db.apiKey.count({ where: { id: record.id } })).toBe(1);
    expect(await services.db.apiKey.count({ where: { name: "sneaky" } })).toBe(0);
  });

  it("can list them (names and prefixes only)", async () => {
    const keys = await (await apiCaller(services, alice.key)).apiKeys.list();
    expect(keys.length).toBeGreaterThan(0);
  });
});
