import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createApiKey } from "../../server/auth/api-keys";
import { createCloudlessClient } from "../../server/client";
import { createDatabase, type Database } from "../../server/db/client";
import { type EmbeddedS3, startEmbeddedS3 } from "../../server/storage/embedded-s3";
import { createTestDatabase } from "../helpers/database";
import { DOCKER_ENV, removeOwnerContainers, waitFor } from "../helpers/docker";
import { type ServerProcess, startServerProcess } from "../helpers/server-process";

// Real server processes (server/main.ts, as `npm start` runs it) on one
// PostgreSQL: an accepted 202 survives a SIGKILL, a job whose server dies
// mid-run runs again, and two processes run one schedule once per tick.

let database: Awaited<ReturnType<typeof createTestDatabase>>;
// One object store for every process (each would otherwise keep code in its own DATA_DIR).
let s3: EmbeddedS3;
let s3Dir: string;
// A plain database client (not a Cloudless services instance: that would run a scheduler too).
let admin: Database;
let user: { id: string; key: string };
const processes: ServerProcess[] = [];

const ENV = () => ({
  ...DOCKER_ENV,
  DATABASE_URL: database.url,
  S3_ENDPOINT: s3.endpoint,
  AWS_ACCESS_KEY_ID: s3.accessKeyId,
  AWS_SECRET_ACCESS_KEY: s3.secretAccessKey,
  POOL_GENERIC_PER_RUNTIME: "0",
  BOOT_TIMEOUT_MS: "5000",
  ASYNC_RUN_GRACE_SECONDS: "1",
});

async function start(env: Record<string, string> = {}, dataDir?: string) {
  const proc = await startServerProcess({ ...ENV(), ...env }, { dataDir });
  processes.push(proc);
  return proc;
}

beforeAll(async () => {
  database = await createTestDatabase();
  s3Dir = fs.mkdtempSync(path.join(os.tmpdir(), "cloudless-test-s3-"));
  s3 = await startEmbeddedS3({ dir: s3Dir, bucket: "cloudless-code" });
  // Migrated like the template (the first server process would migrate it anyway).
  admin = createDatabase(database.url);
  const row = await admin.user.create({
    data: { email: "durable@example.com", name: "durable", emailVerifiedAt: new Date() },
  });
  user = { id: row.id, key: (await createApiKey(admin, row.id, "tests")).key };
}, 60_000);

afterAll(async () => {
  for (const proc of processes) {
    await proc.kill("SIGKILL");
    await removeOwnerContainers(proc.ownerId);
    fs.rmSync(proc.dataDir, { recursive: true, force: true });
  }
  await admin?.$disconnect();
  await database?.drop();
  await s3?.stop();
  fs.rmSync(s3Dir, { recursive: true, force: true });
});

async function deployOn(proc: ServerProcess, name: string, code: string, timeoutSeconds = 30) {
  const sdk = createCloudlessClient({ url: proc.url, apiKey: user.key });
  return sdk.functions.create.mutate({
    name,
    runtime: "node",
    handler: `${name}.main`,
    memoryMb: 64,
    timeoutSeconds,
    codeBase64: Buffer.from(code).toString("base64"),
    fileName: `${name}.js`,
  });
}

async function enqueue(
  proc: ServerProcess,
  fn: { userId: string; handler: string },
  event: unknown,
) {
  const response = await fetch(`${proc.url}/api/function/${fn.userId}/${fn.handler}/docker`, {
    method: "POST",
    headers: {
      authorization: `Bearer ${user.key}`,
      "content-type": "application/json",
      "x-invocation-type": "async",
    },
    body: JSON.stringify(event),
  });
  expect(response.status).toBe(202);
  return ((await response.json()) as { invocationId: string }).invocationId;
}

const db = () => admin;

describe("durability", () => {
  it("accepted 202s survive a SIGKILL right after they are answered, and run once after restart", async () => {
    // No worker on the first process: nothing can have run before the kill.
    const first = await start({ ASYNC_CONCURRENCY: "0" });
    const fn = await deployOn(first, "durable", "exports.main = (e) => ({ n: e.n });\n");
    const ids = await Promise.all(Array.from({ length: 20 }, (_, n) => enqueue(first, fn, { n })));
    await first.kill("SIGKILL");
    expect(await db().asyncInvocation.count({ where: { id: { in: ids }, state: "queued" } })).toBe(
      20,
    );

    await start({ ASYNC_CONCURRENCY: "4" });
    await waitFor(
      "all 20 to succeed after the restart",
      async () =>
        (await db().asyncInvocation.count({ where: { id: { in: ids }, state: "succeeded" } })) ===
        20,
      90_000,
      250,
    );
    const rows = await db().asyncInvocation.findMany({ where: { id: { in: ids } } });
    expect(rows.map((r) => (r.result as { n: number }).n).sort((a, b) => a - b)).toEqual(
      Array.from({ length: 20 }, (_, n) => n),
    );
    // Each call's handler succeeded exactly once: one status-0 record per call,
    // none lost or duplicated (records are written in batches: wait for them).
    // A second attempt is only legitimate after a failed one (on a loaded
    // machine a cold start can pass BOOT_TIMEOUT_MS); such an attempt has its
    // own record with a failure status, or none when the engine refused it.
    await waitFor(
      "a successful record for each of the 20",
      async () =>
        (await db().invocation.count({ where: { asyncId: { in: ids }, status: 0 } })) === 20,
      10_000,
    );
    const records = await db().invocation.findMany({ where: { asyncId: { in: ids } } });
    for (const row of rows) {
      const mine = records.filter((r) => r.asyncId === row.id);
      const succeeded = mine.filter((r) => r.status === 0);
      expect(succeeded, `call ${row.id}`).toHaveLength(1);
      expect(succeeded[0]!.id).toBe(row.lastInvocationId);
      expect(mine.length).toBeLessThanOrEqual(row.attempts);
      if (row.attempts > 1) {
        console.log(
          `[durability] ${row.id} took ${row.attempts} attempts; earlier: ${JSON.stringify(
            mine.filter((r) => r.status !== 0).map((r) => [r.status, r.error]),
          )}`,
        );
      }
    }
  }, 180_000);

  it("a job whose server dies mid-run runs again on another (at-least-once)", async () => {
    const [running] = processes.slice(-1);
    const fn = await deployOn(
      running!,
      "slowpoke",
      "exports.main = async () => { await new Promise((r) => setTimeout(r, 4000)); return 'done'; };\n",
      5,
    );
    const id = await enqueue(running!, fn, {});
    await waitFor(
      "the call to start",
      async () => (await db().asyncInvocation.findUnique({ where: { id } }))?.state === "running",
      30_000,
    );
    await running!.kill("SIGKILL");
    await removeOwnerContainers(running!.ownerId);
    await start({ ASYNC_CONCURRENCY: "4" });
    // Its claim expires after timeout (5 s) + boot limit (5 s) + grace (1 s); then it runs again.
    const done = await waitFor(
      "the call to run again and succeed",
      async () => {
        const row = await db().asyncInvocation.findUnique({ where: { id } });
        return row?.state === "succeeded" ? row : null;
      },
      90_000,
      250,
    );
    expect(done).toMatchObject({ attempts: 2, result: "done", lastInvocationId: `${id}-2` });
  }, 180_000);
});

describe("schedules across two server processes", () => {
  it("runs exactly once per tick, skips ticks missed while every server was down", async () => {
    for (const proc of processes.splice(0)) {
      await proc.kill("SIGKILL");
      await removeOwnerContainers(proc.ownerId);
    }
    const a = await start({ ASYNC_CONCURRENCY: "2", BOOT_TIMEOUT_MS: "20000" });
    const b = await start({ ASYNC_CONCURRENCY: "2", BOOT_TIMEOUT_MS: "20000" });
    const fn = await deployOn(a, "ticker", "exports.main = (e) => e;\n");
    const sdk = createCloudlessClient({ url: b.url, apiKey: user.key });
    // Every second; each process computes the same ticks and both try to queue each one.
    const schedule = await sdk.schedules.create.mutate({
      functionId: fn.id,
      cron: "* * * * * *",
      event: { from: "schedule" },
    });
    await waitFor(
      "8 ticks",
      async () => (await db().asyncInvocation.count({ where: { scheduleId: schedule.id } })) >= 8,
      60_000,
      200,
    );
    await sdk.schedules.setEnabled.mutate({ id: schedule.id, enabled: false });
    // Let a tick in flight settle, then everything queued finish.
    await new Promise((r) => setTimeout(r, 1500));
    const runs = await db().asyncInvocation.findMany({
      where: { scheduleId: schedule.id },
      orderBy: { tickAt: "asc" },
    });
    const ticks = runs.map((r) => r.tickAt!.getTime());
    // N ticks → N runs: consecutive seconds, no gap, no second run of any tick.
    expect(new Set(ticks).size).toBe(runs.length);
    for (let i = 1; i < ticks.length; i++) expect(ticks[i]! - ticks[i - 1]!).toBe(1000);
    await waitFor(
      "every run to finish",
      async () =>
        (await db().asyncInvocation.count({
          where: { scheduleId: schedule.id, state: { in: ["queued", "running"] } },
        })) === 0,
      120_000,
      250,
    );
    const states = await db().asyncInvocation.groupBy({
      by: ["state"],
      where: { scheduleId: schedule.id },
      _count: { _all: true },
    });
    expect(states.map((s) => [s.state, s._count._all])).toEqual([["succeeded", runs.length]]);
    const ids = runs.map((r) => r.id);
    await waitFor(
      "one record per run",
      async () => (await db().invocation.count({ where: { asyncId: { in: ids } } })) >= ids.length,
      10_000,
    );
    // No duplicate records: one per attempt that ran (a retry, if any, is its own record).
    const finished = await db().asyncInvocation.findMany({ where: { id: { in: ids } } });
    expect(await db().invocation.count({ where: { asyncId: { in: ids } } })).toBe(
      finished.reduce((sum, r) => sum + r.attempts, 0),
    );
    expect(finished.every((r) => (r.result as { from?: string } | null)?.from === "schedule")).toBe(
      true,
    );

    // Every server down for a few seconds, then one back: the missed ticks are skipped.
    await sdk.schedules.setEnabled.mutate({ id: schedule.id, enabled: true });
    await a.kill("SIGKILL");
    await b.kill("SIGKILL");
    const downAt = Date.now();
    await new Promise((r) => setTimeout(r, 3000));
    // No process of this database runs before this moment: ticks until now were missed.
    const spawnedAt = Date.now();
    const c = await start({ ASYNC_CONCURRENCY: "2", BOOT_TIMEOUT_MS: "20000" });
    const upAt = Date.now();
    await waitFor(
      "a tick after the restart",
      async () =>
        (await db().asyncInvocation.count({
          where: { scheduleId: schedule.id, tickAt: { gte: new Date(upAt - 1000) } },
        })) > 0,
      30_000,
      200,
    );
    const missed = await db().asyncInvocation.count({
      where: {
        scheduleId: schedule.id,
        tickAt: { gt: new Date(downAt + 1000), lt: new Date(spawnedAt) },
      },
    });
    expect(missed).toBe(0);
    await createCloudlessClient({ url: c.url, apiKey: user.key }).schedules.delete.mutate({
      id: schedule.id,
    });
  }, 240_000);
});
