import { execFile } from "node:child_process";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  invokeAsync,
  getInvocation as sdkGetInvocation,
  waitForInvocation,
} from "../../server/client";
import { startTestApp, type TestApp } from "../helpers/app";
import { callAsync, getInvocation, waitForFinal, waitingJobs } from "../helpers/async";
import {
  call,
  callOk,
  createTenant,
  type Deployed,
  DOCKER_ENV,
  deploy,
  deployExamples,
  ownerOf,
  removeOwnerContainers,
  type Tenant,
  waitFor,
} from "../helpers/docker";

// Async calls against real Docker and PostgreSQL (pg-boss): the 202, the
// status endpoint, records, retries and the dead letter state, idempotency
// keys, bad input, deletes and rollbacks.

const CALC_OUTPUT =
  "Addition: 15\nSubtraction: -5\nMultiplication: 50\nDivision: 0.5\nRemainder: 5\n";

let app: TestApp;
let alice: Tenant;
let bob: Tenant;
const fns: Record<"calc" | "student" | "sum" | "greeting" | "counter", Deployed> = {} as never;

beforeAll(async () => {
  app = await startTestApp({
    ...DOCKER_ENV,
    POOL_GENERIC_PER_RUNTIME: "1",
    INVOKE_MAX_BODY_BYTES: "4096",
    ASYNC_CONCURRENCY: "4",
  });
  alice = await createTenant(app, "alice@example.com");
  bob = await createTenant(app, "bob@example.com");
  Object.assign(fns, await deployExamples(alice));
});

afterAll(async () => {
  const owner = app && ownerOf(app);
  await app?.close();
  if (owner) await removeOwnerContainers(owner);
});

async function records(asyncId: string) {
  await app.services.recorder.flush();
  return app.services.db.invocation.findMany({
    where: { asyncId },
    orderBy: { createdAt: "asc" },
  });
}

describe("an async call", () => {
  it("answers 202 at once, runs, and its result is on the status URL and in the log", async () => {
    const queued = await callAsync(app, alice, fns.student, {
      body: { name: "Ada", age: 20, cgpa: 3.9 },
    });
    expect(queued.http).toBe(202);
    expect(queued.body).toEqual({
      invocationId: expect.stringMatching(/^[0-9a-f-]{36}$/),
      status: "queued",
      statusUrl: `${app.url}/api/invocations/${queued.body.invocationId}`,
    });
    const done = await waitForFinal(app, alice.key, queued.body.invocationId);
    const sync = await callOk(app, alice, fns.student, {
      body: { name: "Ada", age: 20, cgpa: 3.9 },
    });
    expect(done).toMatchObject({
      state: "succeeded",
      status: 0,
      result: sync.result,
      attempts: 1,
      maxAttempts: 3,
      engine: "docker",
      version: 1,
      functionId: fns.student.id,
      lastInvocationId: queued.body.invocationId,
    });
    expect(new Date(done.queuedAt).getTime()).toBeLessThanOrEqual(
      new Date(done.startedAt!).getTime(),
    );
    expect(new Date(done.finishedAt!).getTime()).toBeGreaterThanOrEqual(
      new Date(done.startedAt!).getTime(),
    );
    expect(done.timings).toMatchObject({ queueWaitMs: expect.any(Number) });

    const [record, ...more] = await records(queued.body.invocationId);
    expect(more).toHaveLength(0);
    expect(record).toMatchObject({
      id: queued.body.invocationId,
      async: true,
      status: 0,
      functionId: fns.student.id,
      queueWaitMs: expect.any(Number),
    });
  });

  it("GET with ?async=1 (the seed's URL style) queues with the other query values as argv", async () => {
    const queued = await callAsync(app, alice, fns.calc, {
      query: [
        ["a", "5"],
        ["async", "1"],
        ["b", "10"],
      ],
      headers: { "x-invocation-type": "sync" },
    });
    expect(queued.http).toBe(202);
    const done = await waitForFinal(app, alice.key, queued.body.invocationId);
    expect(done).toMatchObject({ state: "succeeded", stdout: CALC_OUTPUT });
  });

  it("is readable only by its owner", async () => {
    const queued = await callAsync(app, alice, fns.greeting, { body: { name: "x" } });
    expect(queued.http).toBe(202);
    expect((await getInvocation(app, null, queued.body.invocationId)).http).toBe(401);
    expect((await getInvocation(app, "cl_bogus_key", queued.body.invocationId)).http).toBe(401);
    expect((await getInvocation(app, bob.key, queued.body.invocationId)).http).toBe(404);
    expect((await getInvocation(app, alice.key, "no-such-id")).http).toBe(404);
    // Another user cannot queue calls of Alice's function either.
    const foreign = await callAsync(app, bob, fns.greeting, { body: {} });
    expect(foreign.http).toBe(403);
    await waitForFinal(app, alice.key, queued.body.invocationId);
  });
});

describe("retries and the dead letter state", () => {
  it("retries an instance crash with backoff, then is dead with the last output kept", async () => {
    const crasher = await deploy(alice, {
      name: "crasher",
      runtime: "python",
      handler: "crash.main",
      memoryMb: 64,
      asyncRetries: 1,
      code: "import os, sys\ndef main(event, context):\n    print('about to crash')\n    sys.stdout.flush()\n    os._exit(3)\n",
    });
    const queued = await callAsync(app, alice, crasher, { body: {} });
    expect(queued.http).toBe(202);
    const done = await waitForFinal(app, alice.key, queued.body.invocationId, 60_000);
    expect(done).toMatchObject({ state: "dead", attempts: 2, maxAttempts: 2 });
    expect(done.error).toBe("instance crashed");
    const rows = await records(queued.body.invocationId);
    // One record per attempt that ran: a retry is recorded, nothing else is duplicated.
    expect(rows.map((r) => r.id)).toEqual([
      queued.body.invocationId,
      `${queued.body.invocationId}-2`,
    ]);
    expect(rows.every((r) => r.async && r.error === "instance crashed")).toBe(true);
    // Backoff: the retry was due at least a second after the first attempt ended.
    expect(rows[1]!.createdAt.getTime() - rows[0]!.createdAt.getTime()).toBeGreaterThanOrEqual(900);
  });

  it("does not retry a clean non-zero exit unless the function asks", async () => {
    const failing = await deploy(alice, {
      name: "failing",
      runtime: "python",
      handler: "failing.main",
      memoryMb: 64,
      code: "def main(event, context):\n    raise ValueError('no good')\n",
    });
    const once = await callAsync(app, alice, failing, { body: {} });
    const failed = await waitForFinal(app, alice.key, once.body.invocationId);
    expect(failed).toMatchObject({ state: "failed", attempts: 1, status: 1 });
    expect(failed.stderr).toContain("ValueError: no good");

    await alice.sdk.functions.updateSettings.mutate({
      id: failing.id,
      settings: { retryOnError: true, asyncRetries: 1 },
    });
    const retried = await callAsync(app, alice, failing, { body: {} });
    const dead = await waitForFinal(app, alice.key, retried.body.invocationId, 60_000);
    expect(dead).toMatchObject({ state: "dead", attempts: 2, status: 1 });
    expect(dead.stderr).toContain("ValueError: no good");
    expect(await records(retried.body.invocationId)).toHaveLength(2);
  });
});

describe("idempotency keys", () => {
  it("a repeat within 24 h returns the first call; a different body is 409; nothing more is queued", async () => {
    const headers = { "idempotency-key": "order-42" };
    const first = await callAsync(app, alice, fns.greeting, { body: { name: "Ada" }, headers });
    expect(first.http).toBe(202);
    const again = await callAsync(app, alice, fns.greeting, { body: { name: "Ada" }, headers });
    expect([200, 202]).toContain(again.http);
    expect(again.body.invocationId).toBe(first.body.invocationId);
    const other = await callAsync(app, alice, fns.greeting, { body: { name: "Bob" }, headers });
    expect(other.http).toBe(409);
    expect(other.body.error).toContain("different request");
    // Another user's identical key is their own.
    const bobs = await deploy(bob, {
      name: "greeting",
      runtime: "node",
      handler: "greeting.greet",
      memoryMb: 64,
      code: "exports.greet = (e) => ({ hi: e.name });\n",
    });
    const bobFirst = await callAsync(app, bob, bobs, { body: { name: "Ada" }, headers });
    expect(bobFirst.http).toBe(202);
    expect(bobFirst.body.invocationId).not.toBe(first.body.invocationId);
    expect(
      await app.services.db.asyncInvocation.count({ where: { idempotencyKey: "order-42" } }),
    ).toBe(2);
    await waitForFinal(app, alice.key, first.body.invocationId);
    await waitForFinal(app, bob.key, bobFirst.body.invocationId);
  });

  it("concurrent repeats of one key queue one call", async () => {
    const headers = { "idempotency-key": "burst-1" };
    const answers = await Promise.all(
      Array.from({ length: 20 }, () =>
        callAsync(app, alice, fns.greeting, { body: { name: "burst" }, headers }),
      ),
    );
    expect(new Set(answers.map((a) => a.body.invocationId)).size).toBe(1);
    expect(answers.every((a) => a.http === 202 || a.http === 200)).toBe(true);
    expect(
      await app.services.db.asyncInvocation.count({ where: { idempotencyKey: "burst-1" } }),
    ).toBe(1);
    await waitForFinal(app, alice.key, answers[0]!.body.invocationId);
  });
});

describe("bad input queues nothing", () => {
  it("refuses oversized and malformed bodies and malformed keys with a clear error", async () => {
    const before = await app.services.db.asyncInvocation.count();
    const big = await callAsync(app, alice, fns.greeting, { body: { blob: "x".repeat(5000) } });
    expect(big.http).toBe(413);
    const malformed = await callAsync(app, alice, fns.greeting, { rawBody: "{nope" });
    expect(malformed.http).toBe(400);
    expect(malformed.body.error).toContain("not valid JSON");
    const badKey = await callAsync(app, alice, fns.greeting, {
      body: {},
      headers: { "idempotency-key": "has spaces in it" },
    });
    expect(badKey.http).toBe(400);
    expect(badKey.body.error).toContain("Idempotency-Key");
    const anonymous = await callAsync(app, alice, fns.calc, { key: null, query: { a: "1" } });
    // calc is private here; even a public function's async calls need its owner (results are private).
    expect(anonymous.http).toBe(401);
    expect(await app.services.db.asyncInvocation.count()).toBe(before);
  });
});

describe("changes to the function", () => {
  it("a queued call runs the version active when it runs (rollback applies to it)", async () => {
    const fn = await deploy(alice, {
      name: "versioned",
      runtime: "node",
      handler: "versioned.main",
      memoryMb: 64,
      code: "exports.main = () => 'v1';\n",
    });
    const v2 = Buffer.from("exports.main = () => 'v2';\n").toString("base64");
    await alice.sdk.functions.uploadCode.mutate({
      id: fn.id,
      codeBase64: v2,
      fileName: "versioned.js",
    });
    const first = await callAsync(app, alice, fn, { body: {} });
    expect((await waitForFinal(app, alice.key, first.body.invocationId)).result).toBe("v2");
    await alice.sdk.functions.rollback.mutate({ id: fn.id, version: 1 });
    const second = await callAsync(app, alice, fn, { body: {} });
    const done = await waitForFinal(app, alice.key, second.body.invocationId);
    expect(done).toMatchObject({ result: "v1", version: 1 });
  });

  it("deleting a function removes its queued calls and jobs", async () => {
    const fn = await deploy(alice, {
      name: "doomed",
      runtime: "node",
      handler: "doomed.main",
      memoryMb: 64,
      // Slow enough that the second call is still queued (concurrency 1) when the delete comes.
      maxConcurrency: 1,
      code: "exports.main = async () => { await new Promise((r) => setTimeout(r, 1500)); return 1; };\n",
    });
    const calls = await Promise.all([
      callAsync(app, alice, fn, { body: {} }),
      callAsync(app, alice, fn, { body: {} }),
      callAsync(app, alice, fn, { body: {} }),
    ]);
    expect(calls.every((c) => c.http === 202)).toBe(true);
    await alice.sdk.functions.delete.mutate({ id: fn.id });
    expect(await app.services.db.asyncInvocation.count({ where: { functionId: fn.id } })).toBe(0);
    await waitFor("the function's queued jobs to go", async () =>
      (await waitingJobs(app, fn.id)) === 0 ? true : null,
    );
    for (const c of calls) {
      expect((await getInvocation(app, alice.key, c.body.invocationId)).http).toBe(404);
    }
  });
});

describe("sync and async share the function's concurrency", () => {
  it("async work never takes more than maxConcurrency instances, and sync calls still get served", async () => {
    const fn = await deploy(alice, {
      name: "shared",
      runtime: "node",
      handler: "shared.main",
      memoryMb: 64,
      maxConcurrency: 1,
      code: "exports.main = async (e) => { await new Promise((r) => setTimeout(r, e.ms ?? 0)); return process.pid; };\n",
    });
    await callOk(app, alice, fn, { body: { ms: 0 } });
    const queued = await Promise.all(
      Array.from({ length: 4 }, () => callAsync(app, alice, fn, { body: { ms: 300 } })),
    );
    // A sync call arriving while async work holds the only instance waits its turn ahead of the queue.
    const sync = await call(app, alice, fn, { body: { ms: 0 } });
    expect(sync.http).toBe(200);
    const done = await Promise.all(
      queued.map((q) => waitForFinal(app, alice.key, q.body.invocationId, 60_000)),
    );
    expect(done.every((d) => d.state === "succeeded")).toBe(true);
    // One instance served them all (pids equal): the concurrency bound held.
    expect(new Set([sync.body.result, ...done.map((d) => d.result)]).size).toBe(1);
  });

  it("calls that wait past the pool's queue limit go back to the queue and each runs once", async () => {
    // Concurrency 1 and 1 s per call: with 4 worker slots, the later calls
    // wait for the one instance longer than POOL_QUEUE_TIMEOUT_MS (2 s) and
    // are put back without using an attempt.
    const fn = await deploy(alice, {
      name: "oneatatime",
      runtime: "node",
      handler: "oneatatime.main",
      memoryMb: 64,
      maxConcurrency: 1,
      code: "exports.main = async (e) => { const t = Date.now(); await new Promise((r) => setTimeout(r, 1000)); return { n: e.n, t, end: Date.now() }; };\n",
    });
    const queued = await Promise.all(
      Array.from({ length: 6 }, (_, n) => callAsync(app, alice, fn, { body: { n } })),
    );
    const done = await Promise.all(
      queued.map((q) => waitForFinal(app, alice.key, q.body.invocationId, 90_000)),
    );
    expect(done.map((d) => d.state)).toEqual(Array(6).fill("succeeded"));
    expect(done.map((d) => d.attempts)).toEqual(Array(6).fill(1));
    // One at a time: no two runs overlap.
    const runs = done.map((d) => d.result as { t: number; end: number }).sort((a, b) => a.t - b.t);
    for (let i = 1; i < runs.length; i++)
      expect(runs[i]!.t).toBeGreaterThanOrEqual(runs[i - 1]!.end);
    // One record each (the recorder writes in batches: wait for them).
    for (const q of queued) {
      const id = q.body.invocationId;
      await waitFor(`the record of ${id}`, async () => (await records(id)).length > 0, 10_000);
      expect(await records(id)).toHaveLength(1);
    }
  }, 120_000);
});

describe("SDK and CLI", () => {
  it("invokeAsync, getInvocation and waitForInvocation", async () => {
    const options = { url: app.url, apiKey: alice.key };
    const accepted = await invokeAsync(options, {
      userId: fns.greeting.userId,
      handler: fns.greeting.handler,
      event: { name: "SDK" },
      idempotencyKey: "sdk-1",
    });
    expect(accepted.status).toBe("queued");
    const again = await invokeAsync(options, {
      userId: fns.greeting.userId,
      handler: fns.greeting.handler,
      event: { name: "SDK" },
      idempotencyKey: "sdk-1",
    });
    expect(again.invocationId).toBe(accepted.invocationId);
    const done = await waitForInvocation(options, accepted.invocationId, { timeoutMs: 30_000 });
    expect(done.state).toBe("succeeded");
    expect((await sdkGetInvocation(options, accepted.invocationId)).result).toEqual(done.result);
    await expect(
      invokeAsync(options, {
        userId: fns.greeting.userId,
        handler: fns.greeting.handler,
        event: { name: "other" },
        idempotencyKey: "sdk-1",
      }),
    ).rejects.toMatchObject({ httpStatus: 409 });
  });

  it("cloudless invoke --async, --wait and invocation show", async () => {
    const cli = (...args: string[]) =>
      new Promise<{ code: number; stdout: string; stderr: string }>((resolve) => {
        execFile(
          process.execPath,
          ["scripts/cloudless.mjs", "--url", app.url, "--key", alice.key, ...args],
          {
            env: { PATH: process.env.PATH ?? "" } as unknown as NodeJS.ProcessEnv,
            timeout: 60_000,
          },
          (error, stdout, stderr) =>
            resolve({ code: error ? Number(error.code ?? 1) : 0, stdout, stderr }),
        );
      });
    const queued = await cli("invoke", "calc", "5", "10", "--async");
    expect(queued.code).toBe(0);
    const id = queued.stdout.trim();
    expect(id).toMatch(/^[0-9a-f-]{36}$/);
    await waitForFinal(app, alice.key, id);
    const shown = await cli("invocation", "show", id);
    expect(shown.code).toBe(0);
    expect(shown.stdout).toBe(CALC_OUTPUT);
    expect(shown.stderr).toContain("succeeded · attempt 1/3 · status 0");
    const waited = await cli("invoke", "calc", "1", "2", "--async", "--wait");
    expect(waited.code).toBe(0);
    expect(waited.stdout).toContain("Addition: 3");
  });
});
