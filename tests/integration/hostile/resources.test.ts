import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { RuntimeName } from "../../../runners/types";
import { startTestApp, type TestApp } from "../../helpers/app";
import { Bystander, p99 } from "../../helpers/bystander";
import {
  type CallResult,
  createTenant,
  type Deployed,
  deploy,
  type Tenant,
} from "../../helpers/docker";
import {
  callOkOn,
  callOn,
  enginesUnderTest,
  instanceGone,
  newInstance,
} from "../../helpers/engines";
import { reportSkip } from "../../helpers/nanos";
import { NODE_ATTACKER, PYTHON_ATTACKER, VICTIM } from "./attackers";

// Code that attacks the machine's resources (processes, memory, CPU, the
// stack, work left running after the answer), on each engine, while another
// user's victim function is called every 25 ms. Each attack must be answered
// with the right status, its instance destroyed where it misbehaved, the
// next call served, and the victim kept fast: its p99 during the attacks
// within 2× of its p99 before them.

const engines = await enginesUnderTest();
/**
 * A p99 over about 200 calls of a few ms is set by its two slowest calls, and
 * one scheduler hiccup on two cores moves it by ~10 ms; this absorbs that
 * without hiding a slowdown (the victim's p99 is 8-14 ms here).
 */
const VICTIM_SLACK_MS = 25;

interface Attack {
  mode: string;
  runtime: RuntimeName;
  /** What the call answers, per engine where they differ. */
  check(call: CallResult, engine: string): void;
  /** Whether the instance that ran it must be destroyed (else: kept and reused). */
  destroyed: boolean;
  timeoutSeconds?: number;
  memoryMb?: number;
  only?: string;
}

/** A fork bomb ends at its deadline or, when its copies fill the memory first, at the limit. */
const boundedBomb = (call: CallResult) => {
  if (call.body?.status === 137) outOfMemory(call);
  else timedOut(call);
};
const timedOut = ({ http, body }: CallResult) => {
  expect({ http, body }).toMatchObject({
    http: 504,
    body: { status: 124, timeout: true, error: "timeout" },
  });
};
const outOfMemory = ({ http, body }: CallResult) => {
  expect(http).toBe(200);
  expect(body).toMatchObject({ status: 137, error: "out of memory" });
};

const ATTACKS: Attack[] = [
  // Docker: the pids limit stops it, and its copies may fill the memory first;
  // Nanos has no fork (OSError), so it spins.
  { mode: "fork", runtime: "python", check: boundedBomb, destroyed: true, timeoutSeconds: 2 },
  { mode: "heap", runtime: "python", check: outOfMemory, destroyed: true, timeoutSeconds: 20 },
  { mode: "string", runtime: "python", check: outOfMemory, destroyed: true, timeoutSeconds: 20 },
  // Memory attacks get time to fill their memory: the limit must stop them, not the deadline.
  {
    mode: "heap",
    runtime: "node",
    check: outOfMemory,
    destroyed: true,
    memoryMb: 128,
    timeoutSeconds: 20,
  },
  {
    mode: "string",
    runtime: "node",
    check: outOfMemory,
    destroyed: true,
    memoryMb: 128,
    timeoutSeconds: 20,
  },
  { mode: "spin", runtime: "python", check: timedOut, destroyed: true },
  { mode: "spin", runtime: "node", check: timedOut, destroyed: true },
  {
    mode: "recursion",
    runtime: "python",
    check: ({ http, body }) => {
      expect(http).toBe(200);
      expect(body).toMatchObject({ status: 1 });
      expect(body.error).toMatch(/RecursionError/);
    },
    destroyed: false,
  },
  {
    mode: "deep-recursion",
    runtime: "python",
    // Python 3.11 keeps Python-to-Python calls off the C stack: the frames fill the memory.
    check: outOfMemory,
    destroyed: true,
    timeoutSeconds: 20,
  },
  {
    mode: "recursion",
    runtime: "node",
    check: ({ http, body }) => {
      expect(http).toBe(200);
      expect(body).toMatchObject({
        status: 1,
        error: "RangeError: Maximum call stack size exceeded",
      });
    },
    destroyed: false,
  },
  { mode: "thread-sleep", runtime: "python", check: timedOut, destroyed: true },
  {
    mode: "thread",
    runtime: "python",
    check: ({ http, body }) => {
      expect(http).toBe(200);
      // What it wrote before the answer is the call's own output.
      expect(body).toMatchObject({ status: 0, result: "left a thread" });
    },
    destroyed: true,
  },
  {
    mode: "interval",
    runtime: "node",
    check: ({ http, body }) => {
      expect(http).toBe(200);
      expect(body).toMatchObject({ status: 0, result: "left a timer" });
    },
    destroyed: true,
  },
  {
    // Nanos runs one process and has no fork/exec: there is no child to leave.
    mode: "child",
    only: "docker",
    runtime: "python",
    check: ({ http, body }, engine) => {
      expect(http).toBe(200);
      if (engine === "docker") expect(body).toMatchObject({ status: 0, result: "left a child" });
      else expect(body).toMatchObject({ status: 1, error: expect.stringMatching(/Error/) });
    },
    destroyed: true,
  },
  {
    // Nanos has no fork.
    mode: "fork-answer",
    only: "docker",
    runtime: "python",
    check: ({ http, body }) => {
      expect(http).toBe(200);
      expect(body).toMatchObject({ status: 0, result: "the parent answered", stdout: "" });
    },
    destroyed: false,
  },
  {
    mode: "child",
    only: "docker",
    runtime: "node",
    check: ({ http, body }, engine) => {
      expect(http).toBe(200);
      if (engine === "docker") expect(body).toMatchObject({ status: 0, result: "left a child" });
      else expect(body.status).toBeGreaterThanOrEqual(0);
    },
    destroyed: true,
  },
];

describe.each(engines)("$name: code that attacks the machine", (engine) => {
  reportSkip(`hostile/resources (${engine.name})`, engine.skip);

  describe.skipIf(Boolean(engine.skip))("", { timeout: engine.timeoutMs }, () => {
    let app: TestApp;
    let mallory: Tenant;
    let bystander: Tenant;
    let victim: Bystander;
    let baseline: Array<{ ms: number; http: number }> = [];
    const underAttack: Array<{ ms: number; http: number }> = [];
    const perAttack: string[] = [];

    beforeAll(async () => {
      app = await startTestApp({
        ...engine.env,
        POOL_GENERIC_PER_RUNTIME: "0",
        OUTPUT_LIMIT_BYTES: String(64 * 1024),
      });
      [mallory, bystander] = await Promise.all([
        createTenant(app, "mallory@example.com"),
        createTenant(app, "bystander@example.com"),
      ]);
      const target = await deploy(bystander, {
        name: "victim",
        runtime: "python",
        handler: "victim.main",
        memoryMb: 64,
        code: VICTIM,
      });
      await callOkOn(engine, app, bystander, target);
      victim = new Bystander(engine, app, bystander, target);
      victim.start();
      await victim.window(1000); // settle
      baseline = await victim.window(5000);
    }, 300_000);

    afterAll(async () => {
      await victim?.stop();
      if (app) await engine.cleanUp(app);
      await app?.close();
    });

    async function attacker(attack: Attack): Promise<Deployed> {
      const name = `${attack.runtime}-${attack.mode}`;
      return deploy(mallory, {
        name,
        runtime: attack.runtime,
        handler: `${name.replaceAll("-", "_")}.main`,
        memoryMb: attack.memoryMb ?? 64,
        // Under TCG a cold VM needs seconds to load the module: the deadline covers loading too.
        timeoutSeconds: Math.max(attack.timeoutSeconds ?? 1, engine.name === "nanos" ? 8 : 1),
        code: attack.runtime === "python" ? PYTHON_ATTACKER : NODE_ATTACKER,
      });
    }

    it.each(ATTACKS.filter((a) => !a.only || a.only === engine.name))(
      "$runtime $mode: contained",
      async (attack) => {
        const fn = await attacker(attack);
        const [, id] = await newInstance(engine, app, () => callOkOn(engine, app, mallory, fn));
        const from = performance.now();
        const answer = await callOn(engine, app, mallory, fn, { body: { mode: attack.mode } });
        if (attack.destroyed) await instanceGone(engine, app, id);
        const during = victim.between(from, performance.now());
        underAttack.push(...during);
        perAttack.push(
          `${attack.runtime} ${attack.mode}: ${during.length ? p99(during).toFixed(1) : "-"} ms`,
        );
        attack.check(answer, engine.name);
        // The platform serves the attacker's next call, on a new instance or the same one.
        const [next, fresh] = attack.destroyed
          ? await newInstance(engine, app, () => callOkOn(engine, app, mallory, fn))
          : [await callOkOn(engine, app, mallory, fn), id];
        expect(next.result).toBe("ok");
        if (!attack.destroyed) expect(next.start).toBe("warm");
        expect(fresh === id).toBe(!attack.destroyed);
        // Output the left-behind work writes never reaches a later call.
        expect(next.stdout).toBe("");
      },
    );

    it("the victim never failed, and its p99 under attack stayed within 2× of before", async () => {
      await victim.stop();
      const all = [...baseline, ...underAttack];
      expect(all.filter((s) => s.http !== 200)).toEqual([]);
      const before = p99(baseline);
      const during = p99(underAttack);
      console.log(
        `${engine.name} victim p99: ${before.toFixed(1)} ms before (${baseline.length} calls), ${during.toFixed(1)} ms under attack (${underAttack.length} calls)`,
      );
      console.log(`victim p99 per attack: ${perAttack.join("; ")}`);
      expect(underAttack.length).toBeGreaterThan(100);
      // 2× plus a small fixed slack (VICTIM_SLACK_MS says why). Measured in
      // `npm test`: Docker 7.7 → 11.9 ms, Nanos 13.4 → 17.3 ms. Run beside
      // other heavy work (another suite at once) the baseline alone moves by
      // tens of ms, and this can fail for that reason.
      expect(during).toBeLessThanOrEqual(2 * before + VICTIM_SLACK_MS);
    });
  });
});
