import { randomUUID } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createApiKey } from "../../server/auth/api-keys";
import { HISTOGRAM_RELATIVE_ERROR } from "../../server/invocations/histogram";
import { createCaller } from "../../server/root";
import type { Services } from "../../server/services";
import { createContext } from "../../server/trpc";
import { startTestApp, type TestApp } from "../helpers/app";

// Aggregations on seeded calls, checked against values computed here.

let app: TestApp;
let services: Services;

beforeAll(async () => {
  app = await startTestApp({ METRICS_TOKEN: "metrics-token-0123456789" });
  services = app.services;
});
afterAll(() => app?.close());

async function userWithFunction(email: string) {
  const user = await services.db.user.create({
    data: { email, name: email, emailVerifiedAt: new Date() },
  });
  const fn = await services.db.function.create({
    data: { userId: user.id, name: "f", runtime: "python", handler: "f.main" },
  });
  const { key } = await createApiKey(services.db, user.id, "test");
  const ctx = await createContext(
    services,
    {
      url: "http://cloudless.test/",
      headers: new Headers({ authorization: `Bearer ${key}` }),
      ip: "1",
    },
    new Headers(),
  );
  return { user, fn, caller: createCaller(ctx) };
}

/** percentile_cont: linear interpolation between the closest ranks. */
function exactPercentile(sorted: number[], q: number) {
  const pos = (sorted.length - 1) * q;
  const lo = Math.floor(pos);
  const hi = Math.ceil(pos);
  return sorted[lo]! + (sorted[hi]! - sorted[lo]!) * (pos - lo);
}

describe("latency aggregations", () => {
  it("computes percentiles, counts, errors and means per engine and start kind", async () => {
    const { user, fn, caller } = await userWithFunction("stats@example.com");
    const other = await userWithFunction("other@example.com");
    const values: Record<string, number[]> = {};
    let errors = 0;
    // Deterministic spread: warm around a millisecond, cold hundreds, prewarm tens.
    for (let i = 0; i < 3000; i++) {
      const start = (["warm", "warm", "prewarm", "cold"] as const)[i % 4]!;
      const engine = i % 3 === 0 ? "nanos" : "docker";
      const base = start === "warm" ? 0.4 : start === "prewarm" ? 12 : 250;
      const totalMs = base * (1 + ((i * 7919) % 1000) / 400);
      const status = i % 37 === 0 ? 1 : 0;
      if (status) errors++;
      const key = `${engine}/${start}`;
      values[key] = [...(values[key] ?? []), totalMs];
      services.recorder.record({
        id: randomUUID(),
        functionId: fn.id,
        userId: user.id,
        versionNumber: 1,
        engine,
        start,
        status,
        durationMs: totalMs,
        queueMs: 0,
        startMs: 0,
        execMs: totalMs,
        totalMs,
      });
    }
    // Another user's calls must not show up in this user's numbers.
    services.recorder.record({
      id: randomUUID(),
      functionId: other.fn.id,
      userId: other.user.id,
      versionNumber: 1,
      engine: "docker",
      start: "warm",
      status: 1,
      durationMs: 99_999,
      queueMs: 0,
      startMs: 0,
      execMs: 99_999,
      totalMs: 99_999,
    });
    await services.recorder.flush();
    expect(await services.db.invocation.count({ where: { userId: user.id } })).toBe(3000);

    const rows = await caller.invocations.percentiles({});
    expect(rows).toHaveLength(6);
    for (const row of rows) {
      const sorted = values[`${row.engine}/${row.start}`]!.sort((a, b) => a - b);
      expect(row.calls).toBe(sorted.length);
      expect(row.mean).toBeCloseTo(sorted.reduce((a, b) => a + b, 0) / sorted.length, 6);
      for (const [q, got] of [
        [0.5, row.p50],
        [0.95, row.p95],
        [0.99, row.p99],
      ] as const) {
        const want = exactPercentile(sorted, q);
        expect(Math.abs(got - want) / want).toBeLessThanOrEqual(HISTOGRAM_RELATIVE_ERROR);
      }
    }
    expect(rows.reduce((n, r) => n + r.errors, 0)).toBe(errors);

    const summary = await caller.invocations.summary();
    expect(summary).toMatchObject({ functions: 1, calls24h: 3000, errors24h: errors });
    expect(summary.errorRate24h).toBeCloseTo(errors / 3000, 10);

    const series = await caller.invocations.series({ buckets: 10 });
    expect(series.rows.reduce((n, r) => n + r.calls, 0)).toBe(3000);

    // A range before the calls is empty; a function filter narrows to it.
    const past = await caller.invocations.percentiles({
      from: new Date(Date.now() - 3 * 86_400_000),
      to: new Date(Date.now() - 2 * 86_400_000),
    });
    expect(past).toEqual([]);
    expect(await caller.invocations.percentiles({ functionId: other.fn.id })).toEqual([]);
  });

  it("pages through calls newest first, only the caller's", async () => {
    const { user, fn, caller } = await userWithFunction("pages@example.com");
    const ids: string[] = [];
    for (let i = 0; i < 25; i++) {
      const id = randomUUID();
      ids.push(id);
      services.recorder.record({
        id,
        functionId: fn.id,
        userId: user.id,
        versionNumber: 1,
        engine: "docker",
        start: "warm",
        status: 0,
        durationMs: 1,
        queueMs: 0,
        startMs: 0,
        execMs: 1,
        totalMs: 1,
        stdout: `line ${i}\n`,
        createdAt: new Date(Date.now() - (25 - i) * 1000),
      });
    }
    await services.recorder.flush();
    const first = await caller.invocations.list({ limit: 10 });
    const second = await caller.invocations.list({ limit: 10, cursor: first.nextCursor! });
    const third = await caller.invocations.list({ limit: 10, cursor: second.nextCursor! });
    const seen = [...first.items, ...second.items, ...third.items].map((r) => r.id);
    expect(seen).toEqual([...ids].reverse());
    expect(third.nextCursor).toBeNull();
    const detail = await caller.invocations.get({ id: ids[0]! });
    expect(detail.function.name).toBe("f");
    const stranger = await userWithFunction("stranger@example.com");
    await expect(stranger.caller.invocations.get({ id: ids[0]! })).rejects.toMatchObject({
      code: "NOT_FOUND",
    });

    // A function's log: the same order and paging, with each call's output and timings.
    const logs = await caller.invocations.logs({ functionId: fn.id, limit: 20 });
    const older = await caller.invocations.logs({ functionId: fn.id, cursor: logs.nextCursor! });
    expect([...logs.items, ...older.items].map((r) => r.id)).toEqual([...ids].reverse());
    expect(older.nextCursor).toBeNull();
    expect(logs.items[0]).toMatchObject({ stdout: "line 24\n", stderr: "", queueMs: 0, execMs: 1 });
    // Only the owner's: another user asking for this function's log gets nothing.
    expect((await stranger.caller.invocations.logs({ functionId: fn.id })).items).toEqual([]);
  });
});

describe("records of deleted functions", () => {
  it("a call whose function (or user) was deleted before its batch was written does not hold back the others", async () => {
    const kept = await userWithFunction("kept@example.com");
    const gone = await userWithFunction("gone@example.com");
    const leaving = await services.db.function.create({
      data: { userId: kept.user.id, name: "g", runtime: "python", handler: "g.main" },
    });
    const record = (functionId: string, userId: string) => {
      const id = randomUUID();
      services.recorder.record({
        id,
        functionId,
        userId,
        versionNumber: 1,
        engine: "docker",
        start: "warm",
        status: 0,
        durationMs: 1,
        queueMs: 0,
        startMs: 0,
        execMs: 1,
        totalMs: 1,
      });
      return id;
    };
    // Same batch: a call of a function deleted meanwhile, one of a deleted user, and one that stays.
    const orphan = record(leaving.id, kept.user.id);
    const orphanOfUser = record(gone.fn.id, gone.user.id);
    const survivor = record(kept.fn.id, kept.user.id);
    await services.db.function.delete({ where: { id: leaving.id } });
    await services.db.user.delete({ where: { id: gone.user.id } });
    await services.recorder.flush();
    expect(services.recorder.pending).toBe(0);
    const ids = (
      await services.db.invocation.findMany({
        where: { id: { in: [orphan, orphanOfUser, survivor] } },
        select: { id: true },
      })
    ).map((r) => r.id);
    expect(ids).toEqual([survivor]);
  });
});

describe("GET /metrics", () => {
  it("needs the token and answers Prometheus text", async () => {
    expect((await fetch(`${app.url}/metrics`)).status).toBe(401);
    expect(
      (
        await fetch(`${app.url}/metrics`, {
          headers: { authorization: "Bearer wrong-token-000000000" },
        })
      ).status,
    ).toBe(401);
    services.metrics.observe("docker", "warm", 0, 0.8);
    services.metrics.observe("docker", "cold", 1, 250);
    const res = await fetch(`${app.url}/metrics`, {
      headers: { authorization: "Bearer metrics-token-0123456789" },
    });
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toContain("text/plain");
    const text = await res.text();
    expect(text).toContain(
      'cloudless_invocations_total{engine="docker",start="warm",status="0"} 1',
    );
    expect(text).toContain(
      'cloudless_invocations_total{engine="docker",start="cold",status="1"} 1',
    );
    expect(text).toMatch(
      /cloudless_invocation_duration_seconds_bucket\{le="0.001",engine="docker",start="warm"\} 1/,
    );
    expect(text).toContain('cloudless_engine_available{engine="docker"} 0');
    expect(text).toContain("cloudless_instances");
  });

  it("is off without a configured token", async () => {
    const plain = await startTestApp();
    try {
      const res = await fetch(`${plain.url}/metrics`);
      expect(res.status).toBe(404);
      expect((await res.json()).error).toMatch(/METRICS_TOKEN/);
    } finally {
      await plain.close();
    }
  });
});
