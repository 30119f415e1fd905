import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type EmbeddedDatabase, startEmbeddedDatabase } from "../../../server/db/embedded";
import { applyMigrations } from "../../../server/db/migrate";
import { DATABASE_UNAVAILABLE_MESSAGE } from "../../../server/db/unavailable";
import { startTestApp, type TestApp } from "../../helpers/app";
import {
  type CallResult,
  call,
  callOk,
  createTenant,
  type Deployed,
  DOCKER_ENV,
  deploy,
  ownerOf,
  removeOwnerContainers,
  type Tenant,
  waitFor,
} from "../../helpers/docker";
import { freePort } from "../../helpers/ports";

// PostgreSQL stopped for 30 s under load, on a PostgreSQL of this file's own
// (never the shared test server): cached functions keep answering, their
// records wait and are written when it returns, everything else answers a
// quick 503 with a sentence, and the server recovers without a restart.

const OUTAGE_MS = 30_000;
/** Far above a refused connection (instant) and the pool's 3 s connect timeout. */
const NO_HANG_MS = 8000;

let pgDir: string;
let database: EmbeddedDatabase;
let databaseUrl: string;
let port: number;
let app: TestApp;
let tenant: Tenant;
let publicFn: Deployed;
let privateFn: Deployed;
let uncachedFn: Deployed;

beforeAll(async () => {
  pgDir = fs.mkdtempSync(path.join(os.tmpdir(), "cloudless-outage-pg-"));
  fs.chmodSync(pgDir, 0o755);
  port = await freePort();
  database = await startEmbeddedDatabase({ dir: path.join(pgDir, "data"), port });
  databaseUrl = database.url;
  await applyMigrations(databaseUrl);
  app = await startTestApp({ ...DOCKER_ENV, DATABASE_URL: databaseUrl });
  tenant = await createTenant(app, "outage@example.com");
  const code = "def main(event, context):\n    return {'ok': True}\n";
  const common = { runtime: "python", style: "handler", memoryMb: 64, code } as const;
  [publicFn, privateFn, uncachedFn] = await Promise.all([
    deploy(tenant, { ...common, name: "open", handler: "open.main", isPublic: true }),
    deploy(tenant, { ...common, name: "closed", handler: "closed.main" }),
    deploy(tenant, { ...common, name: "unseen", handler: "unseen.main" }),
  ]);
  // Warm: looked up, key seen, an instance idle.
  await callOk(app, tenant, publicFn, { key: null });
  await callOk(app, tenant, privateFn);
}, 180_000);

afterAll(async () => {
  if (app) {
    await removeOwnerContainers(ownerOf(app));
    await app.close();
  }
  await database?.stop();
  fs.rmSync(pgDir, { recursive: true, force: true });
});

type Kind = "public" | "private" | "uncached" | "cookie" | "trpc" | "page";
/** Only answers that started and ended in "down" or in "up" are judged. */
type Phase = "before" | "down" | "recovering" | "up";

interface Answer {
  kind: Kind;
  phase: Phase;
  http: number;
  ms: number;
  body:
    | CallResult["body"]
    | { error?: { message?: string; data?: { code?: string } } }
    | { html: string };
}

async function once(kind: Kind): Promise<Omit<Answer, "phase">> {
  if (kind === "page") {
    const started = performance.now();
    const response = await fetch(`${app.url}/user`, {
      headers: { cookie: tenant.cookie },
      redirect: "manual",
    });
    const html = await response.text();
    return { kind, http: response.status, ms: performance.now() - started, body: { html } };
  }
  if (kind === "trpc") {
    const started = performance.now();
    const response = await fetch(`${app.url}/api/trpc/functions.list`, {
      headers: { authorization: `Bearer ${tenant.key}` },
    });
    const body = await response.json();
    return { kind, http: response.status, ms: performance.now() - started, body };
  }
  const fn = { public: publicFn, private: privateFn, uncached: uncachedFn, cookie: privateFn }[
    kind
  ];
  const result =
    kind === "cookie"
      ? await call(app, tenant, fn, { key: null, headers: { cookie: tenant.cookie } })
      : await call(app, tenant, fn, { key: kind === "public" ? null : undefined });
  return { kind, http: result.http, ms: result.ms, body: result.body };
}

describe("PostgreSQL stopped for 30 s under load", () => {
  it("serves cached functions, records every answered call, 503s the rest, and recovers", async () => {
    const answers: Answer[] = [];
    let phase: Phase = "before";
    let running = true;
    const kinds: Kind[] = [
      ...(["public", "private", "public", "private", "uncached", "cookie", "trpc"] as const),
      "page",
    ];
    const loops = kinds.map(async (kind) => {
      while (running) {
        const started = phase;
        // Not looked up before the outage, so the directory has not cached it.
        if (kind === "uncached" && started === "before") {
          await new Promise((r) => setTimeout(r, 25));
          continue;
        }
        const answer = await once(kind);
        if (started === phase) answers.push({ ...answer, phase: started });
        await new Promise((r) => setTimeout(r, 25));
      }
    });

    await new Promise((r) => setTimeout(r, 1000));
    await database.stop();
    phase = "down";
    const downStarted = Date.now();
    await new Promise((r) => setTimeout(r, OUTAGE_MS));
    phase = "recovering";
    const downMs = Date.now() - downStarted;
    database = await startEmbeddedDatabase({ dir: path.join(pgDir, "data"), port });
    // Back: the app reaches it again without a restart.
    await waitFor("the database to answer through the app", async () => {
      const r = await once("trpc");
      return r.http === 200;
    });
    phase = "up";
    await new Promise((r) => setTimeout(r, 3000));
    running = false;
    await Promise.all(loops);

    const down = answers.filter((a) => a.phase === "down");
    const up = answers.filter((a) => a.phase === "up");
    const byKind = (list: Answer[], kind: Kind) => list.filter((a) => a.kind === kind);
    const statuses = (list: Answer[]) => {
      const counts: Record<number, number> = {};
      for (const a of list) counts[a.http] = (counts[a.http] ?? 0) + 1;
      return counts;
    };
    console.log(
      `Outage of ${downMs} ms: ${down.length} answers while down, ${JSON.stringify(
        Object.fromEntries(kinds.map((k) => [k, statuses(byKind(down, k))])),
      )}`,
    );

    // Cached public functions, and a private one whose key was seen (past its 10 s
    // cache TTL, since the key cannot have been revoked meanwhile), keep running.
    for (const kind of ["public", "private"] as const) {
      const list = byKind(down, kind);
      expect(list.length).toBeGreaterThan(50);
      expect(statuses(list)).toEqual({ 200: list.length });
    }
    // Everything that needs the database answers 503 with the sentence, quickly.
    for (const kind of ["uncached", "cookie"] as const) {
      const list = byKind(down, kind);
      expect(list.length).toBeGreaterThan(3);
      expect(statuses(list)).toEqual({ 503: list.length });
      for (const a of list)
        expect((a.body as { error: string }).error).toBe(DATABASE_UNAVAILABLE_MESSAGE);
    }
    const trpcDown = byKind(down, "trpc");
    expect(trpcDown.length).toBeGreaterThan(3);
    expect(statuses(trpcDown)).toEqual({ 503: trpcDown.length });
    for (const a of trpcDown) {
      const error = (a.body as { error: { message: string; data: { code: string } } }).error;
      expect(error.message).toBe(DATABASE_UNAVAILABLE_MESSAGE);
      expect(error.data.code).toBe("SERVICE_UNAVAILABLE");
    }
    // Pages say it too (the session lookup needs the database).
    const pagesDown = byKind(down, "page");
    expect(pagesDown.length).toBeGreaterThan(3);
    expect(statuses(pagesDown)).toEqual({ 503: pagesDown.length });
    expect((pagesDown[0]!.body as { html: string }).html).toContain(DATABASE_UNAVAILABLE_MESSAGE);
    expect(Math.max(...down.map((a) => a.ms))).toBeLessThan(NO_HANG_MS);

    // Back up: every kind answers 200 again, in the same process.
    for (const kind of kinds) {
      const list = byKind(up, kind);
      expect(list.length).toBeGreaterThan(0);
      expect(statuses(list)).toEqual({ 200: list.length });
    }

    // Every call answered 200 has its record once the buffer has drained.
    const ids = answers
      .filter((a) => a.http === 200 && a.kind !== "trpc" && a.kind !== "page")
      .map((a) => (a.body as CallResult["body"]).invocationId);
    expect(ids.length).toBeGreaterThan(100);
    await waitFor(
      "the buffered records to be written",
      () => app.services.recorder.pending === 0,
      30_000,
    );
    const recorded = await app.services.db.invocation.count({ where: { id: { in: ids } } });
    expect(recorded).toBe(ids.length);
    expect(app.services.recorder.dropped).toBe(0);
  }, 150_000);
});
