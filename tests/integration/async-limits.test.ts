import { TRPCClientError } from "@trpc/client";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createCloudlessClient } from "../../server/client";
import { startTestApp, type TestApp } from "../helpers/app";
import { callAsync } from "../helpers/async";
import { createTenant, type Deployed, deploy, type Tenant } from "../helpers/docker";

// The queue's limits and the schedule procedures' refusals. No worker runs
// here (ASYNC_CONCURRENCY=0), so what is queued stays queued and counts are exact.

const CAP = 25;
let app: TestApp;
let alice: Tenant;
let bob: Tenant;
let fn: Deployed;

beforeAll(async () => {
  app = await startTestApp({
    ASYNC_CONCURRENCY: "0",
    ASYNC_MAX_QUEUED_PER_USER: String(CAP),
    INVOKE_MAX_BODY_BYTES: "2048",
    METRICS_TOKEN: "metrics-token-for-tests",
  });
  alice = await createTenant(app, "alice@example.com");
  bob = await createTenant(app, "bob@example.com");
  fn = await deploy(alice, {
    name: "hello",
    runtime: "node",
    handler: "hello.main",
    code: "exports.main = () => 1;\n",
  });
});

afterAll(async () => {
  await app?.close();
});

async function refusal(work: Promise<unknown>) {
  const error = await work.then(
    () => null,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(TRPCClientError);
  const e = error as { data: { code: string; fieldErrors?: unknown }; message: string };
  return { code: e.data.code, message: e.message, fieldErrors: e.data.fieldErrors };
}

describe("the per-user queued-jobs cap", () => {
  it("a flood over the cap answers 429 for the rest and queues exactly the cap", async () => {
    const answers = await Promise.all(
      Array.from({ length: CAP + 15 }, (_, i) => callAsync(app, alice, fn, { body: { i } })),
    );
    const codes = answers.map((a) => a.http);
    expect(codes.filter((c) => c === 202)).toHaveLength(CAP);
    expect(codes.filter((c) => c === 429)).toHaveLength(15);
    expect(answers.find((a) => a.http === 429)!.body.error).toContain(`at most ${CAP}`);
    expect(await app.services.db.asyncInvocation.count({ where: { userId: alice.id } })).toBe(CAP);
    // Another user's queue is their own.
    const bobs = await deploy(bob, {
      name: "hello",
      runtime: "node",
      handler: "hello.main",
      code: "exports.main = () => 1;\n",
    });
    expect((await callAsync(app, bob, bobs, { body: {} })).http).toBe(202);
    // The dashboard's counts.
    const summary = await alice.sdk.invocations.summary.query();
    expect(summary.async).toEqual({ queued: CAP, running: 0, dead: 0 });
    // /metrics: the queue depth over all users.
    const metrics = await fetch(`${app.url}/metrics`, {
      headers: { authorization: "Bearer metrics-token-for-tests" },
    }).then((r) => r.text());
    expect(metrics).toContain(`cloudless_async_queue_depth{state="queued"} ${CAP + 1}`);
    expect(metrics).toContain(`cloudless_async_queue_depth{state="running"} 0`);
    expect(metrics).toContain("# TYPE cloudless_async_attempts_total counter");
  });
});

describe("schedules: procedures and their refusals", () => {
  it("adds, lists with the next three runs, pauses and deletes", async () => {
    const created = await alice.sdk.schedules.create.mutate({
      functionId: fn.id,
      cron: "0  9 * * *",
      timezone: "Europe/Berlin",
      event: { report: "daily" },
    });
    expect(created).toMatchObject({ cron: "0 9 * * *", enabled: true, engine: "docker" });
    const [listed] = await alice.sdk.schedules.list.query({ functionId: fn.id });
    expect(listed!.nextRuns).toHaveLength(3);
    // 09:00 in Berlin is 08:00 UTC in winter, 07:00 in summer.
    expect([7, 8]).toContain(new Date(listed!.nextRuns[0]!).getUTCHours());
    expect(listed!.lastRun).toBeNull();

    const paused = await alice.sdk.schedules.setEnabled.mutate({ id: created.id, enabled: false });
    expect(paused.enabled).toBe(false);
    expect((await alice.sdk.schedules.list.query({ functionId: fn.id }))[0]!.nextRuns).toEqual([]);
    await alice.sdk.schedules.delete.mutate({ id: created.id });
    expect(await alice.sdk.schedules.list.query({ functionId: fn.id })).toEqual([]);
  });

  it.each([
    ["61 * * * *", "UTC", "cron", "Invalid value for minute: 61"],
    ["* * * *", "UTC", "cron", "Use 5 fields"],
    ["* * * * * * *", "UTC", "cron", "got 7"],
    ["0 0 31 2 *", "UTC", "cron", "never fires"],
    ["* * * * *", "Mars/Olympus", "timezone", "Unknown timezone"],
  ])("refuses %j in %s (%s): %s", async (cron, timezone, field, message) => {
    const r = await refusal(
      alice.sdk.schedules.create.mutate({ functionId: fn.id, cron, timezone }),
    );
    expect(r.code).toBe("BAD_REQUEST");
    expect(JSON.stringify(r.fieldErrors)).toContain(field);
    expect(JSON.stringify(r.fieldErrors)).toContain(message);
    expect(await app.services.db.schedule.count()).toBe(0);
  });

  it("refuses an event over the body limit", async () => {
    const r = await refusal(
      alice.sdk.schedules.create.mutate({
        functionId: fn.id,
        cron: "* * * * *",
        event: { blob: "x".repeat(3000) },
      }),
    );
    expect(r.code).toBe("PAYLOAD_TOO_LARGE");
    expect(await app.services.db.schedule.count()).toBe(0);
  });

  it("refuses other users' functions and schedules, and anonymous callers", async () => {
    expect(
      (await refusal(bob.sdk.schedules.create.mutate({ functionId: fn.id, cron: "* * * * *" })))
        .code,
    ).toBe("NOT_FOUND");
    expect((await refusal(bob.sdk.schedules.list.query({ functionId: fn.id }))).code).toBe(
      "NOT_FOUND",
    );
    const mine = await alice.sdk.schedules.create.mutate({ functionId: fn.id, cron: "* * * * *" });
    expect(
      (await refusal(bob.sdk.schedules.setEnabled.mutate({ id: mine.id, enabled: false }))).code,
    ).toBe("NOT_FOUND");
    expect((await refusal(bob.sdk.schedules.delete.mutate({ id: mine.id }))).code).toBe(
      "NOT_FOUND",
    );
    const anonymous = createCloudlessClient({ url: app.url, apiKey: "cl_nobody_nothing" });
    expect((await refusal(anonymous.schedules.list.query({ functionId: fn.id }))).code).toBe(
      "UNAUTHORIZED",
    );
    expect((await refusal(bob.sdk.invocations.getAsync.query({ id: "x" }))).code).toBe("NOT_FOUND");
    // Deleting the function removes its schedules.
    await alice.sdk.functions.delete.mutate({ id: fn.id });
    expect(await app.services.db.schedule.count({ where: { id: mine.id } })).toBe(0);
  });
});

describe("function retry settings", () => {
  it("refuses retries out of range", async () => {
    const other = await deploy(alice, {
      name: "other",
      runtime: "node",
      handler: "other.main",
      code: "exports.main = () => 1;\n",
    });
    const r = await refusal(
      alice.sdk.functions.updateSettings.mutate({ id: other.id, settings: { asyncRetries: 6 } }),
    );
    expect(r.code).toBe("BAD_REQUEST");
    expect(JSON.stringify(r.fieldErrors)).toContain("Retries must be between 0 and 5");
  });
});
