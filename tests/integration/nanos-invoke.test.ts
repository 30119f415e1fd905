import fs from "node:fs";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startTestApp, type TestApp } from "../helpers/app";
import {
  createTenant,
  type Deployed,
  deploy,
  deployExamples,
  type Tenant,
  waitFor,
} from "../helpers/docker";
import {
  callNanos,
  callNanosOk,
  findNanos,
  killVms,
  NANOS_ENV,
  NANOS_TEST_CACHE,
  reportSkip,
  VM_TEST_TIMEOUT_MS,
  vmsOf,
  waitForNanosStock,
} from "../helpers/nanos";

// The invocation route against real Nanos VMs under qemu: every example,
// both runtimes and styles, the start kinds, booted vs restored VMs in the
// response and the records, and what makes each restored VM its own
// (randomness, clock). One app (one prewarmed VM per runtime) serves the file.

const nanos = await findNanos();
reportSkip("nanos-invoke", nanos.skip);

const CALC_OUTPUT =
  "Addition: 15\nSubtraction: -5\nMultiplication: 50\nDivision: 0.5\nRemainder: 5\n";
/** A memory size no other test file uses, so this file decides when its first VM is booted. */
const OWN_SIZE_MB = 112;

describe.skipIf(Boolean(nanos.skip))(
  "Nanos: the invocation route",
  { timeout: VM_TEST_TIMEOUT_MS },
  () => {
    let app: TestApp;
    let alice: Tenant;
    const fns: Record<"calc" | "student" | "sum" | "greeting" | "counter", Deployed> = {} as never;

    beforeAll(async () => {
      app = await startTestApp({ ...NANOS_ENV, ...nanos.env, POOL_GENERIC_PER_RUNTIME: "1" });
      alice = await createTenant(app, "alice@example.com");
      Object.assign(fns, await deployExamples(alice));
    }, 300_000);

    afterAll(async () => {
      const vms = app ? vmsOf(app) : [];
      await app?.close();
      killVms(vms);
    });

    it("reports the engine available, with its kernel and accelerator", () => {
      const status = app.services.runners.engineStatus("nanos");
      expect(status).toMatchObject({ available: true });
      expect(status.available && status.detail).toMatch(/kernel|ops release|Nanos build/);
      expect(status.available && status.detail).toMatch(/TCG|KVM/);
    });

    describe("the examples over HTTP", () => {
      it("calc.py runs as a script: query values become argv, stdout is the result", async () => {
        const { http, body } = await callNanos(app, alice, fns.calc, {
          query: { a: "5", b: "10" },
        });
        expect(http).toBe(200);
        expect(body).toMatchObject({
          status: 0,
          stdout: CALC_OUTPUT,
          result: CALC_OUTPUT,
          stderr: "",
          timeout: false,
          error: null,
          engine: "nanos",
          version: 1,
        });
        expect(["boot", "restore"]).toContain(body.bootMode);
        const usage = await callNanos(app, alice, fns.calc, { query: { a: "5" } });
        expect(usage.body).toMatchObject({
          status: 2,
          stdout: "",
          stderr: "usage: calc.py <a> <b>\n",
        });
      });

      it("student.py is a handler: the query (GET) or the JSON body (POST) is the event", async () => {
        const get = await callNanosOk(app, alice, fns.student, {
          query: { name: "Ada", age: "20", cgpa: "3.9" },
        });
        expect(get.result).toEqual({
          greeting: "Hello Ada! At 20 with a CGPA of 3.90, your standing is excellent.",
          name: "Ada",
          age: 20,
          cgpa: 3.9,
          standing: "excellent",
        });
        const post = await callNanosOk(app, alice, fns.student, {
          body: { name: "Grace", age: 30, cgpa: 2.7 },
        });
        expect(post.result).toMatchObject({ name: "Grace", age: 30, standing: "good" });
      });

      it("sum.js runs as a Node script, from query values or a JSON array body", async () => {
        const get = await callNanosOk(app, alice, fns.sum, {
          query: [
            ["x", "1"],
            ["y", "2"],
            ["z", "3.5"],
          ],
        });
        expect(get).toMatchObject({ stdout: "6.5\n", result: "6.5\n", engine: "nanos" });
        expect((await callNanosOk(app, alice, fns.sum, { body: [10, "20", 12] })).stdout).toBe(
          "42\n",
        );
        const bad = await callNanos(app, alice, fns.sum, { query: { a: "1", b: "two" } });
        expect(bad.body).toMatchObject({ status: 2, stderr: "not numbers: two\n" });
      });

      it("greeting.js is a Node handler and sees the invocation id in its context", async () => {
        const get = await callNanosOk(app, alice, fns.greeting, {
          query: { name: "Ada", lang: "fr" },
        });
        expect(get.result).toEqual({ message: "Bonjour, Ada!", invocationId: get.invocationId });
      });

      it("counter.py keeps its state between warm calls of one VM", async () => {
        const counts: number[] = [];
        for (let i = 0; i < 3; i++) {
          const answer = await callNanosOk(app, alice, fns.counter);
          counts.push((answer.result as { calls: number }).calls);
          if (i > 0) expect(answer.start).toBe("warm");
        }
        expect(counts).toEqual([1, 2, 3]);
      });

      it("an exception is status 1 with the traceback, and the VM serves the next call", async () => {
        const fn = await deploy(alice, {
          name: "raises",
          runtime: "python",
          handler: "raises.main",
          memoryMb: 64,
          code: "def main(event, context):\n    return 1 / int(event.get('d', 0))\n",
        });
        const { http, body } = await callNanos(app, alice, fn);
        expect(http).toBe(200);
        expect(body).toMatchObject({ status: 1, error: "ZeroDivisionError: division by zero" });
        expect(body.stderr).toContain('raises.py", line 2, in main');
        expect((await callNanosOk(app, alice, fn, { query: { d: "4" } })).result).toBe(0.25);
      });
    });

    describe("how instances start", () => {
      it("prewarm from the stock (a VM of the function's size), then warm", async () => {
        const fn = await deploy(alice, {
          name: "kinds",
          runtime: "node",
          handler: "kinds.run",
          memoryMb: 64,
          code: "const id = globalThis.crypto.randomUUID();\nexports.run = () => id;\n",
        });
        await waitForNanosStock(app, "node");
        const first = await callNanosOk(app, alice, fn);
        expect(first.start).toBe("prewarm");
        expect(first.timings.startMs).toBeGreaterThan(0);
        const second = await callNanosOk(app, alice, fn);
        expect(second).toMatchObject({
          start: "warm",
          result: first.result,
          bootMode: first.bootMode,
        });
        expect(second.timings.startMs).toBe(0);
      });

      it("cold: the first VM of a size is booted (and saved), the next ones restored; records agree", async () => {
        // Saved VMs outlive test runs in the shared cache: start this size from scratch.
        const snapshots = path.join(NANOS_TEST_CACHE, "snapshots");
        for (const name of fs.existsSync(snapshots) ? fs.readdirSync(snapshots) : []) {
          if (name.includes(`-${OWN_SIZE_MB}m-`))
            fs.rmSync(path.join(snapshots, name), { force: true });
        }
        const probe = (name: string) =>
          deploy(alice, {
            name,
            runtime: "python",
            handler: `${name.replaceAll("-", "_")}.main`,
            memoryMb: OWN_SIZE_MB,
            code: "def main(event, context):\n    return 'up'\n",
          });
        const [one, two, three] = await Promise.all([
          probe("sized-one"),
          probe("sized-two"),
          probe("sized-three"),
        ]);
        const booted = await callNanosOk(app, alice, one);
        expect(booted).toMatchObject({ start: "cold", bootMode: "boot", result: "up" });
        const restored = await Promise.all([
          callNanosOk(app, alice, two),
          callNanosOk(app, alice, three),
        ]);
        for (const answer of restored) {
          expect(answer).toMatchObject({ start: "cold", bootMode: "restore", result: "up" });
          // A restore is a fraction of a boot.
          expect(answer.timings.startMs).toBeLessThan(booted.timings.startMs);
        }
        const warm = await callNanosOk(app, alice, two);
        expect(warm).toMatchObject({ start: "warm", bootMode: "restore" });

        const answers = [booted, ...restored, warm];
        const rows = await waitFor("the invocation records", async () => {
          const found = await app.services.db.invocation.findMany({
            where: { id: { in: answers.map((a) => a.invocationId) } },
          });
          return found.length === answers.length ? found : null;
        });
        const byId = new Map(rows.map((r) => [r.id, r]));
        for (const answer of answers) {
          expect(byId.get(answer.invocationId)).toMatchObject({
            engine: "nanos",
            start: answer.start,
            bootMode: answer.bootMode,
          });
        }
      });
    });

    describe("each restored VM is its own", () => {
      const PYTHON = `import os, random, secrets, time, uuid

LOADED = uuid.uuid4().hex

def main(event, context):
    return {
        "loaded": LOADED,
        "urandom": os.urandom(8).hex(),
        "secret": secrets.token_hex(8),
        "random": random.random(),
        "now": time.time() * 1000,
        "remaining": context.remaining_ms(),
    }
`;
      const NODE = `const crypto = require("node:crypto");
const loaded = crypto.randomUUID();
exports.main = (event, context) => ({
  loaded,
  urandom: crypto.randomBytes(8).toString("hex"),
  secret: Buffer.from(globalThis.crypto.getRandomValues(new Uint8Array(8))).toString("hex"),
  random: Math.random(),
  now: Date.now(),
  remaining: context.remainingMs(),
});
`;

      it.each(["python", "node"] as const)(
        "%s: distinct randomness, and the host's clock",
        async (runtime) => {
          const copies = await Promise.all(
            [1, 2, 3].map((n) =>
              deploy(alice, {
                name: `own-${runtime}-${n}`,
                runtime,
                handler: `own_${runtime}_${n}.main`,
                memoryMb: OWN_SIZE_MB,
                timeoutSeconds: 30,
                code: runtime === "python" ? PYTHON : NODE,
              }),
            ),
          );
          // The first may boot (and save this size); the others are restored from it.
          const answers = [];
          // When each call ran, by the host's clock: a restore can take seconds under load.
          const windows: Array<{ from: number; to: number }> = [];
          for (const fn of copies) {
            const from = Date.now();
            answers.push(await callNanosOk(app, alice, fn));
            windows.push({ from, to: Date.now() });
          }
          const restored = answers.filter((a) => a.bootMode === "restore");
          expect(restored.length).toBeGreaterThanOrEqual(2);
          const results = answers.map((a) => a.result as Record<string, number | string>);
          for (const key of ["loaded", "urandom", "secret", "random"]) {
            expect(new Set(results.map((r) => r[key])).size, key).toBe(results.length);
          }
          for (const [i, r] of results.entries()) {
            // The saved VM's clock stopped when it was saved; the agent set it from the host's:
            // the function read a time inside its call (give or take a second of rounding).
            expect(r.now as number).toBeGreaterThanOrEqual(windows[i]!.from - 1_000);
            expect(r.now as number).toBeLessThanOrEqual(windows[i]!.to + 1_000);
            expect(r.remaining).toBeGreaterThan(20_000);
            expect(r.remaining).toBeLessThanOrEqual(30_000);
          }
        },
      );
    });
  },
);
