import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { RuntimeName } from "../../../runners/types";
import { startTestApp, type TestApp } from "../../helpers/app";
import { createTenant, type Deployed, deploy, type Tenant } from "../../helpers/docker";
import {
  callOkOn,
  callOn,
  enginesUnderTest,
  instanceGone,
  newInstance,
} from "../../helpers/engines";
import { reportSkip } from "../../helpers/nanos";
import { NODE_ATTACKER, PYTHON_ATTACKER } from "./attackers";

// What a function does with its output and its process: floods, a huge
// return value, bytes that are not UTF-8 (and NUL), reading stdin, closing
// stdout, crashing after it answered, a promise nobody awaits, a syntax
// error. Each answers clearly, the record is written, and the instance is
// either fine for the next call or destroyed.

const engines = await enginesUnderTest();
const LIMIT = 64 * 1024;
const RUNTIMES: RuntimeName[] = ["python", "node"];

describe.each(engines)("$name: hostile output", (engine) => {
  reportSkip(`hostile/output (${engine.name})`, engine.skip);

  describe.skipIf(Boolean(engine.skip))("", { timeout: engine.timeoutMs }, () => {
    let app: TestApp;
    let mallory: Tenant;
    const attackers = new Map<RuntimeName, Deployed>();

    beforeAll(async () => {
      app = await startTestApp({
        ...engine.env,
        POOL_GENERIC_PER_RUNTIME: "0",
        OUTPUT_LIMIT_BYTES: String(LIMIT),
      });
      mallory = await createTenant(app, "mallory@example.com");
      for (const runtime of RUNTIMES) {
        attackers.set(
          runtime,
          await deploy(mallory, {
            name: `${runtime}-out`,
            runtime,
            handler: `${runtime}_out.main`,
            memoryMb: 128,
            timeoutSeconds: 20,
            code: runtime === "python" ? PYTHON_ATTACKER : NODE_ATTACKER,
          }),
        );
      }
    }, 300_000);

    afterAll(async () => {
      if (app) await engine.cleanUp(app);
      await app?.close();
    });

    const attack = (runtime: RuntimeName, mode: string) =>
      callOn(engine, app, mallory, attackers.get(runtime)!, { body: { mode } });

    async function recordOf(invocationId: string) {
      await app.services.recorder.flush();
      return app.services.db.invocation.findUniqueOrThrow({ where: { id: invocationId } });
    }

    it.each(RUNTIMES)(
      "%s: floods on stdout and stderr are capped with the marker; the instance stays",
      async (runtime) => {
        const [, id] = await newInstance(engine, app, () =>
          callOkOn(engine, app, mallory, attackers.get(runtime)!),
        );
        const out = await attack(runtime, "flood-stdout");
        expect(out.http).toBe(200);
        expect(out.body.truncated).toMatchObject({ stdout: true, stderr: false });
        expect(out.body.stdout.startsWith("o".repeat(LIMIT))).toBe(true);
        expect(out.body.stdout).toMatch(/\n…\[truncated \d+ bytes\]$/);
        const err = await attack(runtime, "flood-stderr");
        expect(err.body.truncated).toMatchObject({ stdout: false, stderr: true });
        expect(err.body.stderr.length).toBeLessThan(LIMIT + 100);
        expect(await engine.instanceIds(app)).toContain(id);
        const record = await recordOf(out.body.invocationId);
        expect(record.stdout.length).toBeLessThanOrEqual(LIMIT + 100);
      },
    );

    it.each(RUNTIMES)(
      "%s: a huge return value is cut at the limit with the marker",
      async (runtime) => {
        const { http, body } = await attack(runtime, "huge-return");
        expect(http).toBe(200);
        expect(body.status).toBe(0);
        expect(body.truncated).toMatchObject({ result: true });
        expect(typeof body.result).toBe("string");
        expect(body.result as string).toMatch(/^\{"huge":"r+\n…\[truncated \d+ bytes\]$/);
        expect((body.result as string).length).toBeLessThan(LIMIT + 100);
      },
    );

    it.each(RUNTIMES)(
      "%s: bytes that are not UTF-8 become U+FFFD, NUL is kept in the answer and stored as U+FFFD",
      async (runtime) => {
        const { http, body } = await attack(runtime, "binary");
        expect(http).toBe(200);
        expect(body.status).toBe(0);
        expect(body.stdout).toBe("bin:\u0000\uFFFD\uFFFD\uFFFD:end");
        expect(body.result).toBe("\u0000 and \uDCFF");
        const record = await recordOf(body.invocationId);
        expect(record.stdout).toBe("bin:\uFFFD\uFFFD\uFFFD\uFFFD:end");
        // The batch it was in was written: a later call's record lands too.
        const later = await callOkOn(engine, app, mallory, attackers.get(runtime)!);
        expect(await recordOf(later.invocationId)).toMatchObject({ status: 0 });
      },
    );

    it.each(RUNTIMES)(
      "%s: reading stdin ends at once (empty); closing stdout leaves later output captured",
      async (runtime) => {
        const stdin = await attack(runtime, "stdin");
        expect(stdin.http).toBe(200);
        expect(stdin.body).toMatchObject({ status: 0, result: { stdin: "" } });
        expect(stdin.ms).toBeLessThan(10_000);
        const closed = await attack(runtime, "close-stdout");
        expect(closed.body).toMatchObject({ status: 0, result: "closed" });
        const hello = await attack(runtime, "hello");
        expect(hello.body).toMatchObject({ status: 0, result: "ok", stdout: "hello\n" });
      },
    );

    it.each(RUNTIMES)(
      "%s: a crash after answering: the answer stands, the next call gets a new instance",
      async (runtime) => {
        const fn = await deploy(mallory, {
          name: `${runtime}-crash`,
          runtime,
          handler: `${runtime}_crash.main`,
          memoryMb: 64,
          code: runtime === "python" ? PYTHON_ATTACKER : NODE_ATTACKER,
        });
        const [, id] = await newInstance(engine, app, () => callOkOn(engine, app, mallory, fn));
        const answered = await callOn(engine, app, mallory, fn, { body: { mode: "crash-after" } });
        expect(answered.body).toMatchObject({ status: 0, result: "returned" });
        await instanceGone(engine, app, id);
        const next = await callOkOn(engine, app, mallory, fn);
        expect(next.result).toBe("ok");
        expect(next.start).not.toBe("warm");
      },
    );

    it("node: a promise rejected with nobody awaiting it fails the call that made it, not the next", async () => {
      const rejected = await attack("node", "rejection");
      expect(rejected.http).toBe(200);
      expect(rejected.body).toMatchObject({ status: 1, error: "Error: nobody catches this" });
      expect(rejected.body.stderr).toMatch(/nobody catches this/);
      const next = await callOkOn(engine, app, mallory, attackers.get("node")!);
      expect(next).toMatchObject({ result: "ok", stderr: "" });
    });

    it.each(RUNTIMES)(
      "%s: a syntax error is refused at upload with its line; code failing at import answers status 1 every time",
      async (runtime) => {
        await expect(
          deploy(mallory, {
            name: `${runtime}-syntax`,
            runtime,
            handler: `${runtime}_syntax.main`,
            memoryMb: 64,
            code:
              runtime === "python"
                ? "def main(event, context)\n    return 1\n"
                : "exports.main = () => {\n",
          }),
        ).rejects.toThrow(/Syntax error in \w+\.(py|js) at line \d/);
        const broken = await deploy(mallory, {
          name: `${runtime}-import`,
          runtime,
          handler: `${runtime}_import.main`,
          memoryMb: 64,
          timeoutSeconds: 20,
          code:
            runtime === "python"
              ? "import no_such_module\ndef main(event, context):\n    return 1\n"
              : "require('no-such-module');\nexports.main = () => 1;\n",
        });
        for (let i = 0; i < 2; i++) {
          const { http, body } = await callOn(engine, app, mallory, broken);
          expect(http).toBe(200);
          expect(body.status).toBe(1);
          expect(`${body.error} ${body.stderr}`).toMatch(/no_such_module|no-such-module/);
        }
        expect((await callOkOn(engine, app, mallory, attackers.get(runtime)!)).result).toBe("ok");
      },
    );
  });
});
