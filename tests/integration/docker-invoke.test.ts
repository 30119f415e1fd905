import { execFile } from "node:child_process";
import { TRPCClientError } from "@trpc/client";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type AppRouter, InvocationError, invokeFunction } from "../../server/client";
import { startTestApp, type TestApp } from "../helpers/app";
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
  waitForStock,
} from "../helpers/docker";

// The invocation route against real Docker containers: every example, both
// runtimes and styles, the response contract, its HTTP codes, records, and
// the SDK's and CLI's `invoke` (who may call a URL: invoke-access.test.ts).
// One app (one prewarmed instance per runtime) serves the whole file.

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
  });
  alice = await createTenant(app, "alice@example.com");
  bob = await createTenant(app, "bob@example.com");
  Object.assign(fns, await deployExamples(alice));
});

afterAll(async () => {
  const owner = app && ownerOf(app);
  await app?.close();
  // Only this app's containers, should a failed test have left any.
  if (owner) await removeOwnerContainers(owner);
});

describe("the examples over HTTP", () => {
  it("calc.py runs as a script: seed-style query values become argv, stdout is the result", async () => {
    const { http, body } = await call(app, alice, fns.calc, { query: { a: "5", b: "10" } });
    expect(http).toBe(200);
    expect(body).toMatchObject({
      status: 0,
      stdout: CALC_OUTPUT,
      result: CALC_OUTPUT,
      stderr: "",
      timeout: false,
      error: null,
      engine: "docker",
      version: 1,
    });
    // The program's own exit code comes through (usage error: one value only).
    const usage = await call(app, alice, fns.calc, { query: { a: "5" } });
    expect(usage.http).toBe(200);
    expect(usage.body).toMatchObject({ status: 2, stdout: "", stderr: "usage: calc.py <a> <b>\n" });
  });

  it("student.py is a handler: the query (GET) or the JSON body (POST) is the event", async () => {
    const get = await callOk(app, alice, fns.student, {
      query: { name: "Ada", age: "20", cgpa: "3.9" },
    });
    expect(get.result).toEqual({
      greeting: "Hello Ada! At 20 with a CGPA of 3.90, your standing is excellent.",
      name: "Ada",
      age: 20,
      cgpa: 3.9,
      standing: "excellent",
    });
    expect(get.stdout).toBe("");
    const post = await callOk(app, alice, fns.student, {
      body: { name: "Grace", age: 30, cgpa: 2.7 },
    });
    expect(post.result).toMatchObject({ name: "Grace", age: 30, standing: "good" });
  });

  it("sum.js runs as a Node script, from query values or a JSON array body", async () => {
    const get = await callOk(app, alice, fns.sum, {
      query: [
        ["x", "1"],
        ["y", "2"],
        ["z", "3.5"],
      ],
    });
    expect(get).toMatchObject({ stdout: "6.5\n", result: "6.5\n" });
    const post = await callOk(app, alice, fns.sum, { body: [10, "20", 12] });
    expect(post.stdout).toBe("42\n");
    const bad = await call(app, alice, fns.sum, { query: { a: "1", b: "two" } });
    expect(bad.body).toMatchObject({ status: 2, stderr: "not numbers: two\n" });
  });

  it("greeting.js is a Node handler and sees the invocation id in its context", async () => {
    const get = await callOk(app, alice, fns.greeting, { query: { name: "Ada", lang: "fr" } });
    expect(get.result).toEqual({ message: "Bonjour, Ada!", invocationId: get.invocationId });
    const post = await callOk(app, alice, fns.greeting, { body: { name: "Linus", lang: "de" } });
    expect(post.result).toEqual({ message: "Hallo, Linus!", invocationId: post.invocationId });
  });

  it("counter.py keeps its state between warm calls of one instance", async () => {
    const counts: number[] = [];
    for (let i = 0; i < 3; i++) {
      const answer = await callOk(app, alice, fns.counter);
      counts.push((answer.result as { calls: number }).calls);
      if (i > 0) expect(answer.start).toBe("warm");
    }
    expect(counts).toEqual([1, 2, 3]);
  });
});

describe("the response", () => {
  it("carries every field of the invocation contract, with consistent timings", async () => {
    const { http, body } = await call(app, alice, fns.calc, { query: { a: "5", b: "10" } });
    expect(http).toBe(200);
    expect(Object.keys(body).sort()).toEqual(
      [
        "durationMs",
        "engine",
        "error",
        "invocationId",
        "result",
        "start",
        "status",
        "stderr",
        "stdout",
        "timeout",
        "timings",
        "truncated",
        "version",
      ].sort(),
    );
    expect(body.invocationId).toMatch(/^[0-9a-f-]{36}$/);
    expect(body.truncated).toEqual({ stdout: false, stderr: false, result: false });
    expect(body.start).toBe("warm");
    const { queueMs, startMs, execMs, totalMs } = body.timings;
    for (const value of [queueMs, startMs, execMs, totalMs, body.durationMs]) {
      expect(value).toBeGreaterThanOrEqual(0);
    }
    expect(startMs).toBe(0); // warm: nothing booted or specialized
    expect(totalMs).toBeCloseTo(queueMs + startMs + execMs, 1);
    // User code time is part of the round trip to the instance.
    expect(body.durationMs).toBeLessThanOrEqual(execMs);
  });

  it("says how the instance was found: prewarm (from the stock), then warm", async () => {
    const fn = await deploy(alice, {
      name: "kinds",
      runtime: "node",
      handler: "kinds.run",
      memoryMb: 96,
      code: "exports.run = () => process.pid;",
    });
    await waitForStock(app, "node");
    const first = await callOk(app, alice, fn);
    expect(first.start).toBe("prewarm");
    expect(first.timings.startMs).toBeGreaterThan(0);
    const second = await callOk(app, alice, fn);
    expect(second.start).toBe("warm");
    expect(second.timings.startMs).toBe(0);
    expect(second.result).toBe(first.result); // the same process served both
  });
});

describe("errors in user code", () => {
  it("a Python exception is status 1 with the traceback, and HTTP 200", async () => {
    const fn = await deploy(alice, {
      name: "raises",
      runtime: "python",
      handler: "raises.main",
      memoryMb: 64,
      code: "def main(event, context):\n    return 1 / int(event.get('d', 0))\n",
    });
    const { http, body } = await call(app, alice, fn);
    expect(http).toBe(200);
    expect(body).toMatchObject({
      status: 1,
      result: null,
      error: "ZeroDivisionError: division by zero",
      timeout: false,
    });
    expect(body.stderr).toMatch(/^Traceback \(most recent call last\):/);
    expect(body.stderr).toContain('raises.py", line 2, in main');
    // The instance survives its function's exception.
    expect((await callOk(app, alice, fn, { query: { d: "4" } })).result).toBe(0.25);
  });

  it("a Node exception is status 1 with the stack", async () => {
    const fn = await deploy(alice, {
      name: "throws",
      runtime: "node",
      handler: "throws.main",
      memoryMb: 64,
      code: "exports.main = () => { throw new TypeError('no good'); };\n",
    });
    const { http, body } = await call(app, alice, fn);
    expect(http).toBe(200);
    expect(body).toMatchObject({ status: 1, result: null, timeout: false });
    expect(body.error).toContain("no good");
    expect(body.stderr).toContain("TypeError: no good");
    expect(body.stderr).toContain("throws.js:1");
  });

  it("an exception at import time is status 1 with the traceback, on every call", async () => {
    const fn = await deploy(alice, {
      name: "broken-import",
      runtime: "python",
      handler: "broken.main",
      memoryMb: 64,
      code: "import json\nSETTINGS = json.loads('{not json')\n\ndef main(event, context):\n    return 1\n",
    });
    for (let i = 0; i < 2; i++) {
      const { http, body } = await call(app, alice, fn);
      expect(http).toBe(200);
      expect(body.status).toBe(1);
      expect(body.error).toMatch(/^json\.decoder\.JSONDecodeError: Expecting property name/);
      expect(body.stderr).toMatch(/^Traceback/);
      expect(body.stderr).toContain('broken.py", line 2, in <module>');
    }
  });

  it("a syntax error is refused at upload, before anything runs", async () => {
    const error = await deploy(alice, {
      name: "syntax",
      runtime: "python",
      handler: "syntax.main",
      code: "def main(event, context)\n    return 1\n",
    }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(TRPCClientError);
    expect((error as TRPCClientError<AppRouter>).data?.code).toBe("BAD_REQUEST");
    expect((error as Error).message).toMatch(/syntax/i);
    const list = await alice.sdk.functions.list.query();
    expect(list.map((f) => f.name)).not.toContain("syntax");
  });
});

describe("refusals", () => {
  it("404 for an unknown function, handler, user or engine, and a wrong path", async () => {
    const unknownFn = await call(app, alice, { userId: alice.id, handler: "nope.main" });
    expect(unknownFn.http).toBe(404);
    expect(unknownFn.body.error).toContain("nope.main");
    expect((await call(app, alice, { userId: bob.id, handler: fns.calc.handler })).http).toBe(404);
    const engine = await call(app, alice, fns.calc, { engine: "lambda" });
    expect(engine.http).toBe(404);
    expect(engine.body.error).toMatch(/Unknown engine "lambda"/);
    const short = await fetch(`${app.url}/api/function/${alice.id}/calc.calculator`);
    expect(short.status).toBe(404);
  });

  it("503 with the reason for an engine this server does not run", async () => {
    const { http, body } = await call(app, alice, fns.greeting, { engine: "nanos" });
    expect(http).toBe(503);
    expect(body.error).toBe("The nanos engine is unavailable");
    expect(body.reason).toMatch(/not configured/);
  });

  it("413 for a body over INVOKE_MAX_BODY_BYTES, 400 for malformed JSON", async () => {
    const big = await call(app, alice, fns.student, { body: { name: "x".repeat(5000) } });
    expect(big.http).toBe(413);
    expect(big.body.error).toMatch(/over 4096 bytes/);
    // Without Content-Length (chunked), the limit is counted as the body arrives.
    const chunked = await fetch(
      `${app.url}/api/function/${fns.student.userId}/${fns.student.handler}/docker`,
      {
        method: "POST",
        headers: { authorization: `Bearer ${alice.key}`, "content-type": "application/json" },
        body: new ReadableStream({
          start(controller) {
            for (let i = 0; i < 8; i++)
              controller.enqueue(new TextEncoder().encode("x".repeat(1024)));
            controller.close();
          },
        }),
        duplex: "half",
      } as RequestInit,
    );
    expect(chunked.status).toBe(413);
    const malformed = await call(app, alice, fns.student, { rawBody: "{name: 'Ada'" });
    expect(malformed.http).toBe(400);
    expect(malformed.body.error).toMatch(/not valid JSON/);
    // Just under the limit still runs.
    const fits = await call(app, alice, fns.student, { body: { name: "y".repeat(3000) } });
    expect(fits.http).toBe(200);
    expect(fits.body.status).toBe(0);
  });
});

describe("records", () => {
  it("N concurrent calls make exactly N invocation records, with the ids the callers got", async () => {
    const fn = await deploy(alice, {
      name: "echo",
      runtime: "node",
      handler: "echo.main",
      memoryMb: 64,
      code: "exports.main = (event) => ({ n: Number(event.n) });\n",
    });
    const N = 40;
    const answers = await Promise.all(
      Array.from({ length: N }, (_, n) => callOk(app, alice, fn, { query: { n: String(n) } })),
    );
    expect(answers.map((a) => (a.result as { n: number }).n)).toEqual(
      Array.from({ length: N }, (_, n) => n),
    );
    // The recorder writes off the hot path; wait for its batches.
    const rows = await waitFor("the invocation records", async () => {
      const found = await app.services.db.invocation.findMany({ where: { functionId: fn.id } });
      return found.length >= N ? found : null;
    });
    expect(rows).toHaveLength(N);
    expect(new Set(rows.map((r) => r.id))).toEqual(new Set(answers.map((a) => a.invocationId)));
    const byId = new Map(answers.map((a) => [a.invocationId, a]));
    for (const row of rows) {
      const answer = byId.get(row.id)!;
      expect(row).toMatchObject({
        userId: alice.id,
        versionNumber: 1,
        engine: "docker",
        start: answer.start,
        status: 0,
        timeout: false,
        totalMs: answer.timings.totalMs,
      });
    }
    // Never more instances than the function's concurrency (4 by default).
    const kinds = rows.filter((r) => r.start !== "warm").length;
    expect(kinds).toBeGreaterThanOrEqual(1);
    expect(kinds).toBeLessThanOrEqual(4);
  });
});

describe("clients", () => {
  it("the SDK's invokeFunction calls by handler or name, GET with args or POST with an event", async () => {
    const options = { url: app.url, apiKey: alice.key };
    const script = await invokeFunction(options, {
      userId: alice.id,
      handler: "calc.calculator",
      args: [5, 10],
    });
    expect(script).toMatchObject({ status: 0, stdout: CALC_OUTPUT, engine: "docker" });
    const handler = await invokeFunction(options, {
      userId: alice.id,
      handler: "greeting",
      event: { name: "SDK" },
    });
    expect(handler.result).toMatchObject({ message: "Hello, SDK!" });
    const refused = await invokeFunction(
      { url: app.url, apiKey: bob.key },
      { userId: alice.id, handler: "calc.calculator", args: [1, 2] },
    ).catch((e: unknown) => e);
    expect(refused).toBeInstanceOf(InvocationError);
    expect((refused as InvocationError).httpStatus).toBe(403);
  });

  it("the CLI's `invoke` prints the output and exits with the function's status", async () => {
    const run = (...args: string[]) =>
      new Promise<{ code: number; stdout: string; stderr: string }>((resolve) => {
        execFile(
          process.execPath,
          ["scripts/cloudless.mjs", "--url", app.url, "--key", alice.key, "invoke", ...args],
          { env: { NODE_ENV: "test", PATH: process.env.PATH ?? "" }, timeout: 30_000 },
          (error, stdout, stderr) =>
            resolve({ code: error ? Number(error.code) : 0, stdout, stderr }),
        );
      });
    const [ok, failed] = await Promise.all([run("calc", "5", "10"), run("calc", "5")]);
    expect(ok.code, ok.stderr).toBe(0);
    expect(ok.stdout).toBe(CALC_OUTPUT);
    expect(ok.stderr).toMatch(/^\[docker (warm|prewarm|cold) · status 0 · [\d.]+ ms\]\n$/);
    expect(failed.code).toBe(1);
    expect(failed.stderr).toContain("usage: calc.py <a> <b>");
    expect(failed.stderr).toContain("status 2");
  });
});
