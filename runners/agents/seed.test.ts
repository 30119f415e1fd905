import { type ChildProcess, spawn } from "node:child_process";
import fs from "node:fs";
import http from "node:http";
import os from "node:os";
import path from "node:path";
import { afterAll, describe, expect, it } from "vitest";

/**
 * The agents' handling of `seed` and `hostTimeMs` (docs/agent-protocol.md,
 * "Instances restored from a snapshot"). VMs restored from one snapshot
 * start with the same random state; here that is simulated by agents whose
 * random sources return zeros, so the only thing that can tell two of them
 * apart is the seed the host sends.
 */

type Runtime = "python" | "node";
const ROOT = path.resolve(import.meta.dirname, "../..");
const TMP = fs.mkdtempSync(path.join(os.tmpdir(), "cloudless-seed-"));
const children: ChildProcess[] = [];
let count = 0;

// Random sources that return zeros, as identical clones would return identical bytes.
const PYTHON_CLONE = `import os, sys, runpy
os.urandom = lambda n: bytes(n)
os.getrandom = lambda n, flags=0: bytes(n)
sys.argv = sys.argv[1:]
runpy.run_path(sys.argv[0], run_name="__main__")
`;
const NODE_CLONE = path.join(TMP, "clone.cjs");
fs.writeFileSync(
  NODE_CLONE,
  `const crypto = require("node:crypto");
const zero = (buf) => { new Uint8Array(buf.buffer ?? buf, buf.byteOffset ?? 0, buf.byteLength).fill(0); return buf; };
crypto.randomBytes = (n, cb) => (cb ? process.nextTick(cb, null, Buffer.alloc(n)) : Buffer.alloc(n));
crypto.randomFillSync = (buf) => zero(buf);
crypto.randomFill = (buf, ...rest) => process.nextTick(rest.find((a) => typeof a === "function"), null, zero(buf));
Object.defineProperty(globalThis.crypto, "getRandomValues", { value: zero, writable: true, configurable: true });
Math.random = () => 0.5;
`,
);

async function startAgent(runtime: Runtime, clone: boolean) {
  const socketPath = path.join(TMP, `${runtime}-${++count}.sock`);
  const agent =
    runtime === "python" ? "runners/agents/python/agent.py" : "runners/agents/node/agent.mjs";
  const listen = [path.join(ROOT, agent), "--socket", socketPath];
  const args =
    runtime === "python"
      ? clone
        ? ["-c", PYTHON_CLONE, ...listen]
        : listen
      : clone
        ? ["--require", NODE_CLONE, ...listen]
        : listen;
  const child = spawn(runtime === "python" ? "/usr/bin/python3" : process.execPath, args, {
    env: { ...process.env, TMPDIR: TMP },
    stdio: ["ignore", "pipe", "inherit"],
  });
  children.push(child);
  await new Promise<void>((resolve, reject) => {
    let out = "";
    child.stdout!.on("data", (c) => {
      out += c;
      if (out.includes("\n")) resolve();
    });
    child.once("exit", (code) => reject(new Error(`agent exited (${code})`)));
  });
  const client = new http.Agent({ keepAlive: true, maxSockets: 1 });
  const post = (urlPath: string, body: unknown) =>
    new Promise<{ code: number; body: Record<string, unknown> }>((resolve, reject) => {
      const payload = JSON.stringify(body);
      const req = http.request(
        {
          socketPath,
          agent: client,
          method: "POST",
          path: urlPath,
          headers: { "content-type": "application/json", "content-length": payload.length },
        },
        (res) => {
          let text = "";
          res.on("data", (c) => {
            text += c;
          });
          res.on("end", () => resolve({ code: res.statusCode ?? 0, body: JSON.parse(text) }));
        },
      );
      req.on("error", reject);
      req.end(payload);
    });
  return {
    init: (code: string, extra: Record<string, unknown> = {}) =>
      post("/init", {
        functionId: "fn",
        version: 1,
        style: "handler",
        handler: "probe.main",
        moduleFile: runtime === "python" ? "probe.py" : "probe.js",
        code,
        ...extra,
      }),
    run: async (extra: Record<string, unknown> = {}) => {
      const reply = await post("/run", { invocationId: "i", event: {}, args: [], ...extra });
      expect(reply.code, JSON.stringify(reply.body)).toBe(200);
      expect(reply.body.status, JSON.stringify(reply.body)).toBe(0);
      return reply.body.result as Record<string, unknown>;
    },
    close: () => {
      client.destroy();
      child.kill("SIGKILL");
    },
  };
}

afterAll(() => {
  for (const child of children) child.kill("SIGKILL");
  fs.rmSync(TMP, { recursive: true, force: true });
});

const PROBES: Record<Runtime, string> = {
  python: `import os, random, secrets, uuid

def main(event, context):
    return {
        "urandom": os.urandom(8).hex(),
        "getrandom": os.getrandom(8).hex(),
        "secrets": secrets.token_hex(8),
        "uuid4": str(uuid.uuid4()),
        "random": random.random(),
        "system": random.SystemRandom().random(),
    }
`,
  node: `const crypto = require("node:crypto");
exports.main = async () => {
  const filled = crypto.randomFillSync(Buffer.alloc(8));
  const viaCallback = await new Promise((resolve) => crypto.randomBytes(8, (e, b) => resolve(b)));
  return {
    randomBytes: crypto.randomBytes(8).toString("hex"),
    randomBytesCallback: viaCallback.toString("hex"),
    randomFillSync: filled.toString("hex"),
    getRandomValues: Buffer.from(globalThis.crypto.getRandomValues(new Uint8Array(8))).toString("hex"),
    randomUUID: crypto.randomUUID(),
    webUUID: globalThis.crypto.randomUUID(),
    randomInt: crypto.randomInt(1e12),
    mathRandom: Math.random(),
  };
};
`,
};

const SEED_A = "a".repeat(64);
const SEED_B = "b".repeat(64);

describe.each(["python", "node"] as const)("%s agent seed", (runtime) => {
  it("makes clones that share one random state draw different values", async () => {
    const [a1, a2, b, none] = await Promise.all([
      startAgent(runtime, true),
      startAgent(runtime, true),
      startAgent(runtime, true),
      startAgent(runtime, true),
    ]);
    try {
      for (const [agent, seed] of [
        [a1, SEED_A],
        [a2, SEED_A],
        [b, SEED_B],
      ] as const) {
        expect((await agent.init(PROBES[runtime], { seed })).code).toBe(200);
      }
      expect((await none.init(PROBES[runtime])).code).toBe(200);
      const [fromA1, fromA2, fromB, unseeded] = await Promise.all([
        a1.run(),
        a2.run(),
        b.run(),
        none.run(),
      ]);
      // Without a seed the clones' random state shows through: zeros (or 0.5).
      const zeroed = Object.values(unseeded).filter(
        (v) => v === 0.5 || /^[0-]+$/.test(String(v)) || v === 0,
      );
      expect(zeroed.length).toBeGreaterThan(0);
      // The same seed on the same state gives the same values (the seed is the only input)…
      expect(fromA2).toEqual(fromA1);
      // …and another seed different ones, source by source.
      for (const key of Object.keys(fromA1)) {
        expect(fromB[key], key).not.toEqual(fromA1[key]);
        expect(String(fromA1[key]), key).not.toMatch(/^[0-]+$/);
      }
      if (runtime === "node") {
        expect(fromA1.randomUUID).toMatch(
          /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-/,
        );
        expect(fromA1.mathRandom).toBeGreaterThanOrEqual(0);
        expect(fromA1.mathRandom).toBeLessThan(1);
      }
    } finally {
      for (const agent of [a1, a2, b, none]) agent.close();
    }
  });

  it("keeps real randomness random with a seed, and refuses a malformed seed", async () => {
    const agent = await startAgent(runtime, false);
    const other = await startAgent(runtime, false);
    try {
      const bad = await agent.init(PROBES[runtime], { seed: "not hex" });
      expect(bad.code).toBe(400);
      expect(bad.body.error).toMatch(/seed/);
      expect((await agent.init(PROBES[runtime], { seed: SEED_A })).code).toBe(200);
      expect((await other.init(PROBES[runtime], { seed: SEED_A })).code).toBe(200);
      const [first, second] = [await agent.run(), await agent.run()];
      expect(second).not.toEqual(first);
      // Same seed, real (different) random states: different values.
      expect(await other.run()).not.toEqual(first);
    } finally {
      agent.close();
      other.close();
    }
  });
});

const CLOCK_PROBES: Record<Runtime, string> = {
  python: `import time

def main(event, context):
    return {"remaining": context.remaining_ms(), "now": time.time() * 1000}
`,
  node: `exports.main = (event, context) => ({
  remaining: context.remainingMs(),
  now: Date.now(),
  constructed: new Date().getTime(),
  isDate: new Date(0) instanceof Date && require("node:fs").statSync(".").mtime instanceof Date,
});
`,
};

describe.each(["python", "node"] as const)("%s agent clock", (runtime) => {
  it("counts the remaining time on the host's clock, which may be far from its own", async () => {
    const agent = await startAgent(runtime, false);
    try {
      // A VM restored from a day-old snapshot: its clock is a day behind the host's.
      const skew = 24 * 3600 * 1000;
      expect(
        (await agent.init(CLOCK_PROBES[runtime], { hostTimeMs: Date.now() + skew })).code,
      ).toBe(200);
      const hostNow = Date.now() + skew;
      const result = await agent.run({ hostTimeMs: hostNow, deadlineMs: hostNow + 30_000 });
      expect(result.remaining).toBeGreaterThan(25_000);
      expect(result.remaining).toBeLessThanOrEqual(30_000);
      if (runtime === "node") {
        // Node cannot set the clock: user code sees the host's time through Date.
        expect(Math.abs((result.now as number) - hostNow)).toBeLessThan(5_000);
        expect(Math.abs((result.constructed as number) - hostNow)).toBeLessThan(5_000);
        expect(result.isDate).toBe(true);
      } else {
        // Outside a Nanos VM the system clock is the host's and is never set.
        expect(Math.abs((result.now as number) - Date.now())).toBeLessThan(5_000);
      }
    } finally {
      agent.close();
    }
  });
});
