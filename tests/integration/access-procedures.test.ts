import { randomUUID } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { randomToken } from "../../server/auth/tokens";
import { appRouter } from "../../server/root";
import { startTestApp, type TestApp } from "../helpers/app";
import { createTenant, type Deployed, deploy, type Tenant } from "../helpers/docker";
import { HttpClient, sameOrigin, type TrpcResult } from "../helpers/http-client";
import {
  createVictim,
  newSessionCookie,
  type Victim,
  victimSecrets,
  victimState,
} from "../helpers/victim";

// Every tRPC procedure, from the router's own list, over real HTTP
// (/api/trpc/…, so the context is built from real headers): called with no
// credentials, with another tenant's API key and with another tenant's
// session, aimed at the victim's ids. Each must refuse (NOT_FOUND for another
// tenant's thing, so its existence does not leak) or answer only about the
// caller; nothing of the victim may change or appear in any answer.
//
// A procedure added to the router without an entry here fails the first test:
// add one to PROCEDURES, saying its kind, the input that names the victim's
// things, and what the caller must get.

/** Who may call it: anyone, a session or API key (`protectedProcedure`), a browser session only. */
type Kind = "public" | "protected" | "session";
/** How the attacker calls: without credentials, with their API key, with their session cookie. */
type Mode = "anonymous" | "attacker's API key" | "attacker's session";
const MODES: Mode[] = ["anonymous", "attacker's API key", "attacker's session"];

interface World {
  app: TestApp;
  victim: Victim;
  attacker: Tenant;
  /** The attacker's own function, with a call recorded an hour before the victim's. */
  attackerFn: Deployed;
}

interface Entry {
  kind: Kind;
  /** The input: the victim's ids wherever the procedure takes some. */
  input?: (w: World) => unknown;
  /**
   * What a caller the kind admits gets (the harness itself checks the 401s for
   * the others, that no victim secret is in any answer and that nothing of the
   * victim changed).
   */
  expect: (r: TrpcResult, w: World, mode: Mode) => void | Promise<void>;
  /** Undoes what a successful call did to the attacker's own account, so the next mode starts clean. */
  after?: (w: World) => Promise<void>;
}

const PASSWORD = "a-long-password-1";
const SAME_ANSWER = "If an account exists for that address, we have sent it an email.";

/** Refused with this tRPC code. */
const refused =
  (code: string, message?: string): Entry["expect"] =>
  (r) => {
    expect(r.body.error?.data.code, r.text).toBe(code);
    if (message) expect(r.body.error?.message).toBe(message);
    expect(r.headers.getSetCookie()).toEqual([]);
  };

/** Answered, and `check` holds for the data. */
const answered =
  (
    check: (data: never, w: World, mode: Mode) => void | Promise<void> = () => {},
  ): Entry["expect"] =>
  async (r, w, mode) => {
    expect(r.status, r.text).toBe(200);
    await check(r.body.result?.data as never, w, mode);
  };

const NOT_FOUND_FN = refused("NOT_FOUND", "No such function.");
const aToken = () => randomToken();

const PROCEDURES: Record<string, Entry> = {
  // --- auth: public procedures take no ids but an email or a token. "Another
  // user's" email must answer exactly as an unknown one, and a token is only
  // ever in its owner's mailbox, so a made-up one is what an attacker has.
  "auth.me": {
    kind: "public",
    expect: answered((me: { id: string } | null, w, mode) => {
      if (mode === "anonymous") expect(me).toBeNull();
      else expect(me?.id).toBe(w.attacker.id);
    }),
  },
  "auth.providers": {
    kind: "public",
    expect: answered((data) => expect(data).toEqual({ github: false, google: false })),
  },
  "auth.register": {
    kind: "public",
    input: (w) => ({ name: "Mallory", email: w.victim.email, password: PASSWORD }),
    expect: answered((data: { message: string }, w) =>
      expect(data.message).toBe(
        `We sent a verification link to ${w.victim.email}. Open it to finish creating your account.`,
      ),
    ),
  },
  "auth.resendVerification": {
    kind: "public",
    input: (w) => ({ email: w.victim.email }),
    expect: answered((data) => expect(data).toEqual({ message: SAME_ANSWER })),
  },
  "auth.verifyEmail": {
    kind: "public",
    input: () => ({ token: aToken() }),
    expect: refused("BAD_REQUEST"),
  },
  "auth.login": {
    kind: "public",
    input: (w) => ({ email: w.victim.email, password: PASSWORD }),
    expect: refused("UNAUTHORIZED"),
  },
  "auth.logout": {
    kind: "public",
    // Ends the caller's own session only (the victim's sessions are in victimState).
    expect: answered((data) => expect(data).toEqual({ ok: true })),
  },
  "auth.requestPasswordReset": {
    kind: "public",
    input: (w) => ({ email: w.victim.email }),
    expect: answered((data) => expect(data).toEqual({ message: SAME_ANSWER })),
  },
  "auth.checkResetToken": {
    kind: "public",
    input: () => ({ token: aToken() }),
    expect: refused("BAD_REQUEST"),
  },
  "auth.resetPassword": {
    kind: "public",
    input: () => ({ token: aToken(), password: PASSWORD }),
    expect: refused("BAD_REQUEST"),
  },
  "auth.listSessions": {
    kind: "session",
    expect: answered(async (sessions: Array<{ id: string }>, w) => {
      const own = await w.app.services.db.session.findMany({ where: { userId: w.attacker.id } });
      expect(sessions.length).toBeGreaterThan(0);
      for (const s of sessions) expect(own.map((o) => o.id)).toContain(s.id);
    }),
  },
  "auth.revokeSession": {
    kind: "session",
    input: (w) => ({ id: w.victim.sessionId }),
    expect: refused("NOT_FOUND", "No such session."),
  },
  "auth.revokeOtherSessions": {
    kind: "session",
    expect: answered(),
  },

  // --- functions: every id is the victim's function.
  "functions.list": {
    kind: "protected",
    expect: answered((fns: Array<{ userId: string }>, w) => {
      expect(fns.length).toBeGreaterThan(0);
      for (const fn of fns) expect(fn.userId).toBe(w.attacker.id);
    }),
  },
  "functions.get": {
    kind: "protected",
    input: (w) => ({ id: w.victim.fn.id }),
    expect: NOT_FOUND_FN,
  },
  "functions.getByName": {
    kind: "protected",
    input: (w) => ({ name: w.victim.fn.name }),
    expect: refused("NOT_FOUND"),
  },
  "functions.create": {
    kind: "protected",
    // The victim's name and handler: names are per tenant, so this is the
    // attacker's own new function, not a CONFLICT that would reveal the victim's.
    input: (w) => ({
      name: w.victim.fn.name,
      runtime: "python",
      handler: w.victim.fn.handler,
      codeBase64: Buffer.from("def main(event, context):\n    return 'mine'\n").toString("base64"),
      fileName: "victim.py",
    }),
    expect: answered((fn: { userId: string }, w) => expect(fn.userId).toBe(w.attacker.id)),
    after: async (w) => {
      await w.app.services.db.function.deleteMany({
        where: { userId: w.attacker.id, id: { not: w.attackerFn.id } },
      });
    },
  },
  "functions.updateSettings": {
    kind: "protected",
    // Opening the victim's function to the world would be the prize.
    input: (w) => ({ id: w.victim.fn.id, settings: { isPublic: true } }),
    expect: NOT_FOUND_FN,
  },
  "functions.uploadCode": {
    kind: "protected",
    input: (w) => ({
      id: w.victim.fn.id,
      codeBase64: Buffer.from("def main(event, context):\n    return 'pwned'\n").toString("base64"),
      fileName: "victim.py",
    }),
    expect: NOT_FOUND_FN,
  },
  "functions.listVersions": {
    kind: "protected",
    input: (w) => ({ id: w.victim.fn.id }),
    expect: NOT_FOUND_FN,
  },
  "functions.rollback": {
    kind: "protected",
    input: (w) => ({ id: w.victim.fn.id, version: 1 }),
    expect: NOT_FOUND_FN,
  },
  "functions.getCode": {
    kind: "protected",
    input: (w) => ({ id: w.victim.fn.id, version: 1 }),
    expect: NOT_FOUND_FN,
  },
  "functions.delete": {
    kind: "protected",
    input: (w) => ({ id: w.victim.fn.id }),
    expect: NOT_FOUND_FN,
  },

  // --- API keys: the victim's key by its row id.
  "apiKeys.list": {
    kind: "protected",
    expect: answered(async (keys: Array<{ id: string }>, w) => {
      const own = await w.app.services.db.apiKey.findMany({ where: { userId: w.attacker.id } });
      expect(keys.length).toBeGreaterThan(0);
      for (const k of keys) expect(own.map((o) => o.id)).toContain(k.id);
    }),
  },
  "apiKeys.create": {
    kind: "session",
    input: () => ({ name: "victim's other key" }),
    expect: answered(async (created: { record: { id: string } }, w) => {
      const row = await w.app.services.db.apiKey.findUnique({ where: { id: created.record.id } });
      expect(row?.userId).toBe(w.attacker.id);
    }),
  },
  "apiKeys.revoke": {
    kind: "session",
    input: (w) => ({ id: w.victim.apiKey.id }),
    expect: refused("NOT_FOUND", "No such API key."),
  },

  // --- invocations: the victim's function and call.
  "invocations.summary": {
    kind: "protected",
    expect: answered((summary: { functions: number; calls24h: number }) => {
      // The attacker's one function, and its one call is older than a day.
      expect(summary).toMatchObject({ functions: 1, calls24h: 0 });
    }),
  },
  "invocations.list": {
    kind: "protected",
    // A cursor naming the victim's call must page like one naming no call at
    // all (empty), not list the attacker's calls older than the victim's.
    input: (w) => ({ cursor: w.victim.invocationId }),
    expect: answered((page) => expect(page).toEqual({ items: [], nextCursor: null })),
  },
  "invocations.logs": {
    kind: "protected",
    input: (w) => ({ functionId: w.victim.fn.id }),
    expect: answered((page) => expect(page).toEqual({ items: [], nextCursor: null })),
  },
  "invocations.get": {
    kind: "protected",
    input: (w) => ({ id: w.victim.invocationId }),
    expect: refused("NOT_FOUND", "No such call."),
  },
  "invocations.percentiles": {
    kind: "protected",
    input: (w) => ({ functionId: w.victim.fn.id }),
    expect: answered((rows) => expect(rows).toEqual([])),
  },
  "invocations.series": {
    kind: "protected",
    input: (w) => ({ functionId: w.victim.fn.id }),
    expect: answered((series: { rows: unknown[] }) => expect(series.rows).toEqual([])),
  },
  "invocations.getAsync": {
    kind: "protected",
    input: (w) => ({ id: w.victim.asyncId }),
    expect: refused("NOT_FOUND", "No such async call."),
  },

  // --- nodes: the cluster's capacity, the same for every signed-in user (no user's data).
  "nodes.list": {
    kind: "protected",
    expect: answered((list: { self: string; nodes: Array<{ id: string; state: string }> }) => {
      expect(list.nodes).toEqual([expect.objectContaining({ id: list.self, state: "up" })]);
    }),
  },

  // --- schedules: the victim's function and schedule.
  "schedules.list": {
    kind: "protected",
    input: (w) => ({ functionId: w.victim.fn.id }),
    expect: refused("NOT_FOUND", "No such function."),
  },
  "schedules.create": {
    kind: "protected",
    input: (w) => ({ functionId: w.victim.fn.id, cron: "* * * * *" }),
    expect: refused("NOT_FOUND", "No such function."),
    after: async (w) => {
      const count = await w.app.services.db.schedule.count({
        where: { functionId: w.victim.fn.id },
      });
      expect(count).toBe(1);
    },
  },
  "schedules.setEnabled": {
    kind: "protected",
    input: (w) => ({ id: w.victim.scheduleId, enabled: false }),
    expect: refused("NOT_FOUND", "No such schedule."),
    after: async (w) => {
      const row = await w.app.services.db.schedule.findUnique({
        where: { id: w.victim.scheduleId },
      });
      expect(row?.enabled).toBe(true);
    },
  },
  "schedules.delete": {
    kind: "protected",
    input: (w) => ({ id: w.victim.scheduleId }),
    expect: refused("NOT_FOUND", "No such schedule."),
    after: async (w) => {
      const row = await w.app.services.db.schedule.findUnique({
        where: { id: w.victim.scheduleId },
      });
      expect(row).not.toBeNull();
    },
  },
};

// Flat at runtime, keyed by dotted path ("functions.get"), whatever its type says.
const ROUTER = appRouter._def.procedures as unknown as Record<string, { _def: { type: string } }>;

let world: World;

beforeAll(async () => {
  const app = await startTestApp({
    AUTH_RATE_LIMIT_PER_IP: "1000",
    AUTH_RATE_LIMIT_PER_EMAIL: "1000",
  });
  const [victim, attacker] = await Promise.all([
    createVictim(app),
    createTenant(app, "attacker@example.com"),
  ]);
  const attackerFn = await deploy(attacker, {
    name: "attacker-fn",
    runtime: "python",
    handler: "mine.main",
    code: "def main(event, context):\n    return 'mine'\n",
  });
  // Older than the victim's call, so a cursor leak would show it.
  app.services.recorder.record({
    id: randomUUID(),
    functionId: attackerFn.id,
    userId: attacker.id,
    versionNumber: 1,
    engine: "docker",
    start: "warm",
    status: 0,
    durationMs: 1,
    queueMs: 0,
    startMs: 0,
    execMs: 1,
    totalMs: 1,
    createdAt: new Date(Date.now() - 2 * 86_400_000),
  });
  await app.services.recorder.flush();
  world = { app, victim, attacker, attackerFn };
});
afterAll(() => world?.app.close());

describe("the procedure table", () => {
  it("lists exactly the router's procedures", () => {
    const inRouter = Object.keys(ROUTER).sort();
    const inTable = Object.keys(PROCEDURES).sort();
    const missing = inRouter.filter((p) => !inTable.includes(p));
    const stale = inTable.filter((p) => !inRouter.includes(p));
    expect(
      missing,
      `Add these procedures to PROCEDURES in tests/integration/access-procedures.test.ts: their kind, an input naming another tenant's ids, and the refusal expected`,
    ).toEqual([]);
    expect(stale, "PROCEDURES lists procedures the router no longer has: remove them").toEqual([]);
  });
});

/** A client for one call: no credentials, the attacker's key, or a fresh attacker session. */
async function clientFor(mode: Mode): Promise<HttpClient> {
  const { app, attacker } = world;
  if (mode === "attacker's API key") {
    // A program: no browser headers, just the key.
    return new HttpClient(app.url, { authorization: `Bearer ${attacker.key}` });
  }
  const browser = new HttpClient(app.url, sameOrigin(app.url));
  if (mode === "attacker's session") {
    // Fresh for each call: logout and revokeOtherSessions end the attacker's sessions.
    const cookie = await newSessionCookie(app.services, attacker.id);
    browser.setCookie("cl_session", cookie.slice(cookie.indexOf("=") + 1));
  }
  return browser;
}

/** Whether the kind lets this mode in at all. */
function admits(kind: Kind, mode: Mode): boolean {
  if (kind === "public") return true;
  if (mode === "anonymous") return false;
  return kind === "protected" || mode === "attacker's session";
}

const ROWS = Object.entries(PROCEDURES).flatMap(([path, entry]) =>
  MODES.map((mode) => ({ path, entry, mode })),
);

describe.each(MODES)("with %s", (mode) => {
  it.each(ROWS.filter((row) => row.mode === mode))("$path", async ({ path, entry }) => {
    const procedure = ROUTER[path];
    if (!procedure) throw new Error(`${path} is in the table but not in the router`);
    const before = await victimState(world.app.services, world.victim);
    const input = entry.input?.(world);
    const client = await clientFor(mode);
    const result =
      procedure._def.type === "mutation"
        ? await client.mutation(path, input)
        : await client.query(path, input);

    if (admits(entry.kind, mode)) {
      await entry.expect(result, world, mode);
    } else {
      expect(result.status, result.text).toBe(401);
      expect(result.body.error?.data.code).toBe("UNAUTHORIZED");
    }
    // Nothing of the victim's in the answer, except what the attacker sent.
    const sent = JSON.stringify(input ?? null);
    for (const secret of victimSecrets(world.victim)) {
      if (!sent.includes(secret)) expect(result.text).not.toContain(secret);
    }
    expect(await victimState(world.app.services, world.victim)).toEqual(before);
    await entry.after?.(world);
  });
});

describe("the pages, which call these procedures", () => {
  it("answer for the victim's function exactly as for one that does not exist, and change nothing", async () => {
    const { app, victim, attacker } = world;
    const before = await victimState(app.services, victim);
    const browser = new HttpClient(app.url, sameOrigin(app.url));
    const cookie = await newSessionCookie(app.services, attacker.id);
    browser.setCookie("cl_session", cookie.slice(cookie.indexOf("=") + 1));
    const forms: Array<Record<string, string>> = [
      { intent: "invoke", engine: "docker", mode: "query" },
      { intent: "settings", isPublic: "on", memoryMb: "128", timeoutMs: "3000" },
      { intent: "upload", source: "editor", code: "def main(event, context):\n    return 0\n" },
      { intent: "rollback", version: "1" },
      { intent: "delete", confirm: victim.fn.name },
    ];
    const send = async (id: string) => {
      const page = `/user/functions/${id}`;
      const responses = [
        await browser.get(`${page}?calls=${victim.invocationId}`),
        ...(await Promise.all(forms.map((fields) => browser.form(page, fields)))),
      ];
      return Promise.all(responses.map(async (r) => ({ status: r.status, text: await r.text() })));
    };
    const aimed = await send(victim.fn.id);
    const unknown = await send("no-such-function-id");
    expect(aimed.map((r) => r.status)).toEqual(unknown.map((r) => r.status));
    expect(aimed[0]!.status).toBe(404);
    for (const { status, text } of aimed) {
      expect([400, 404]).toContain(status);
      for (const secret of victimSecrets(victim)) {
        if (secret !== victim.fn.id) expect(text).not.toContain(secret);
      }
    }
    expect(await victimState(app.services, victim)).toEqual(before);
  });
});

describe("afterwards", () => {
  it("the victim's function, key and session all still work", async () => {
    const { app, victim } = world;
    const asKey = new HttpClient(app.url, { authorization: `Bearer ${victim.key}` });
    const fn = await asKey.query<{ isPublic: boolean; activeVersion: number }>("functions.get", {
      id: victim.fn.id,
    });
    expect(fn.status).toBe(200);
    expect(fn.body.result?.data).toMatchObject({ isPublic: false });
    const browser = new HttpClient(app.url);
    browser.setCookie("cl_session", victim.cookie.slice(victim.cookie.indexOf("=") + 1));
    expect((await browser.query<{ id: string }>("auth.me")).body.result?.data.id).toBe(victim.id);
    const calls = await browser.query<{ items: Array<{ id: string }> }>("invocations.list", {});
    expect(calls.body.result?.data.items.map((c) => c.id)).toEqual([victim.invocationId]);
    // The victim's latency data exists, so the attacker's empty answers above were scoping.
    const own = await browser.query<unknown[]>("invocations.percentiles", {
      functionId: victim.fn.id,
    });
    expect(own.body.result?.data.length).toBeGreaterThan(0);
  });
});
