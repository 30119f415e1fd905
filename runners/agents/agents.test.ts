import { type ChildProcess, spawn } from "node:child_process";
import fs from "node:fs";
import http from "node:http";
import os from "node:os";
import path from "node:path";
import { afterAll, describe, expect, it } from "vitest";

/**
 * Both instance agents, started on the host as child processes and driven
 * over their unix socket (and TCP once) with a keep-alive node:http client,
 * exactly as the runner manager talks to them inside an instance.
 */

type Runtime = "python" | "node";

const ROOT = path.resolve(import.meta.dirname, "../..");
const COMMANDS: Record<Runtime, { command: string; agent: string }> = {
  python: { command: "/usr/bin/python3", agent: "runners/agents/python/agent.py" },
  node: { command: process.execPath, agent: "runners/agents/node/agent.mjs" },
};
const TMP = fs.mkdtempSync(path.join(os.tmpdir(), "cloudless-agents-"));
const children: ChildProcess[] = [];
let sockets = 0;

interface Reply {
  code: number;
  body: Record<string, unknown>;
  reused: boolean;
}

interface RunReply {
  status: number;
  result: unknown;
  stdout: string;
  stderr: string;
  durationMs: number;
  error: string | null;
  truncated: { stdout: boolean; stderr: boolean; result?: boolean };
  lingering?: boolean;
}

interface InitBody {
  style: "script" | "handler";
  handler: string;
  moduleFile: string;
  code: string;
  env?: Record<string, string>;
  outputLimitBytes?: number;
}

class Agent {
  readonly client = new http.Agent({ keepAlive: true, maxSockets: 1 });
  private calls = 0;

  constructor(
    readonly runtime: Runtime,
    readonly child: ChildProcess,
    readonly target: { socketPath: string } | { host: string; port: number },
  ) {}

  request(method: string, urlPath: string, body?: unknown): Promise<Reply> {
    const payload =
      body === undefined ? undefined : typeof body === "string" ? body : JSON.stringify(body);
    const headers: Record<string, string | number> =
      payload === undefined
        ? {}
        : { "Content-Type": "application/json", "Content-Length": Buffer.byteLength(payload) };
    return new Promise((resolve, reject) => {
      const req = http.request(
        { ...this.target, agent: this.client, method, path: urlPath, headers },
        (res) => {
          const chunks: Buffer[] = [];
          res.on("data", (chunk: Buffer) => chunks.push(chunk));
          res.on("end", () => {
            const text = Buffer.concat(chunks).toString();
            resolve({
              code: res.statusCode ?? 0,
              body: JSON.parse(text),
              reused: req.reusedSocket,
            });
          });
        },
      );
      req.on("error", reject);
      req.end(payload);
    });
  }

  async init(body: InitBody): Promise<Reply> {
    return this.request("POST", "/init", { functionId: "fn-1", version: 1, ...body });
  }

  async run(body: { args?: string[]; event?: unknown } = {}): Promise<RunReply> {
    const invocationId = `inv-${++this.calls}`;
    const reply = await this.request("POST", "/run", {
      invocationId,
      deadlineMs: Date.now() + 30_000,
      ...body,
    });
    expect(reply.code, JSON.stringify(reply.body)).toBe(200);
    return reply.body as unknown as RunReply;
  }

  rssKiB(): number {
    const status = fs.readFileSync(`/proc/${this.child.pid}/status`, "utf8");
    return Number(/VmRSS:\s+(\d+)/.exec(status)?.[1]);
  }

  stop() {
    this.client.destroy();
    this.child.kill("SIGKILL");
  }
}

/** Starts an agent and resolves once it printed its ready line. */
async function startAgent(runtime: Runtime, mode: "socket" | "port" = "socket"): Promise<Agent> {
  const { command, agent } = COMMANDS[runtime];
  const socketPath = path.join(TMP, `${runtime}-${++sockets}.sock`);
  const listen = mode === "socket" ? ["--socket", socketPath] : ["--port", "0"];
  const child = spawn(command, [path.join(ROOT, agent), ...listen], {
    env: { ...process.env, TMPDIR: TMP }, // code folders land in TMP
    stdio: ["ignore", "pipe", "pipe"],
  });
  children.push(child);
  let stderr = "";
  child.stderr?.on("data", (chunk: Buffer) => {
    stderr += chunk;
  });
  const ready = await new Promise<{ port?: number; pid: number }>((resolve, reject) => {
    let buffered = "";
    const timer = setTimeout(() => reject(new Error(`no ready line: ${stderr}`)), 10_000);
    child.stdout?.on("data", (chunk: Buffer) => {
      buffered += chunk;
      const line = buffered.split("\n").find((l) => l.startsWith("{"));
      if (line === undefined || !buffered.includes("\n")) return;
      clearTimeout(timer);
      resolve(JSON.parse(line));
    });
    child.on("exit", (code) => reject(new Error(`agent exited ${code}: ${stderr}`)));
  });
  expect(ready).toMatchObject({ ready: true, runtime, pid: child.pid });
  const target =
    mode === "socket" ? { socketPath } : { host: "127.0.0.1", port: Number(ready.port) };
  return new Agent(runtime, child, target);
}

/** An agent specialised with `body`, asserting that /init succeeded. */
async function loaded(runtime: Runtime, body: InitBody): Promise<Agent> {
  const agent = await startAgent(runtime);
  const reply = await agent.init(body);
  expect(reply.code, JSON.stringify(reply.body)).toBe(200);
  return agent;
}

const example = (file: string) => fs.readFileSync(path.join(ROOT, "examples", file), "utf8");

afterAll(() => {
  for (const child of children) child.kill("SIGKILL");
  fs.rmSync(TMP, { recursive: true, force: true });
});

/** The same behaviours in both runtimes; `code` holds each runtime's source. */
const FIXTURES: Record<Runtime, Record<string, string>> = {
  python: {
    ext: ".py",
    throws:
      'print("about to fail")\n\ndef run(event, context):\n    raise ValueError("bad input")\n',
    exits: 'import sys\nprint("before exit")\nsys.exit(3)\nprint("never")\n',
    flood:
      'import sys\nline = "x" * 99 + "\\n"\nfor _ in range(100_000):\n    sys.stdout.write(line)\n',
    late: [
      "import threading, time",
      "def run(event, context):",
      "    if event.get('schedule'):",
      "        threading.Timer(0.2, print, ['late output']).start()",
      "        return 'scheduled'",
      "    time.sleep(0.4)",
      "    print('second call')",
      "    return 'done'",
    ].join("\n"),
    env: "import os\ndef run(event, context):\n    return os.environ.get('GREETING')\n",
    big: "def run(event, context):\n    return {'text': 'x' * event['n']}\n",
    async: [
      "import asyncio",
      "async def run(event, context):",
      "    await asyncio.sleep(0.01)",
      "    print('awaited')",
      "    return {'double': event['n'] * 2, 'id': context.invocationId}",
    ].join("\n"),
    context: [
      "def run(event, context):",
      "    return {'id': context.invocationId, 'fn': context.functionId,",
      "            'version': context.version, 'left': context.remaining_ms()}",
    ].join("\n"),
    opaque: "def run(event, context):\n    return {'when': object(), 'items': {1}}\n",
    syntax: "def run(event, context)\n    return 1\n",
    importFails: 'import os\nraise RuntimeError("cannot load")\n',
    noFunction: "def other(event, context):\n    return 1\n",
  },
  node: {
    ext: ".js",
    throws:
      'console.log("about to fail");\nexports.run = () => {\n  throw new Error("bad input");\n};\n',
    exits: 'console.log("before exit");\nprocess.exit(3);\nconsole.log("never");\n',
    flood:
      'const line = "x".repeat(99) + "\\n";\nfor (let i = 0; i < 100_000; i++) process.stdout.write(line);\n',
    big: "exports.run = (event) => ({ text: 'x'.repeat(event.n) });\n",
    late: [
      "exports.run = async (event) => {",
      "  if (event.schedule) {",
      "    setTimeout(() => console.log('late output'), 200);",
      "    setTimeout(() => { throw new Error('late crash'); }, 210);",
      "    setTimeout(() => Promise.reject(new Error('late rejection')), 220);",
      "    return 'scheduled';",
      "  }",
      "  await new Promise((resolve) => setTimeout(resolve, 400));",
      "  console.log('second call');",
      "  return 'done';",
      "};",
    ].join("\n"),
    env: "exports.run = () => process.env.GREETING;\n",
    async: [
      "exports.run = async (event, context) => {",
      "  await new Promise((resolve) => setTimeout(resolve, 10));",
      "  console.log('awaited');",
      "  return { double: event.n * 2, id: context.invocationId };",
      "};",
    ].join("\n"),
    context: [
      "exports.run = (event, context) => ({",
      "  id: context.invocationId, fn: context.functionId,",
      "  version: context.version, left: context.remainingMs(),",
      "});",
    ].join("\n"),
    opaque: "exports.run = () => { const when = { n: 10n }; when.self = when; return when; };\n",
    syntax: "exports.run = (event, context) => {\n  return 1;\n",
    importFails: 'const fs = require("node:fs");\nthrow new Error("cannot load");\n',
    noFunction: "exports.other = () => 1;\n",
  },
};

for (const runtime of ["python", "node"] as const) {
  const f = FIXTURES[runtime];
  const handler = (name: string, code: string, extra: Partial<InitBody> = {}): InitBody => ({
    style: "handler",
    handler: `${name}.run`,
    moduleFile: `${name}${f.ext}`,
    code,
    ...extra,
  });
  const script = (name: string, code: string, extra: Partial<InitBody> = {}): InitBody => ({
    style: "script",
    handler: `${name}.main`,
    moduleFile: `${name}${f.ext}`,
    code,
    ...extra,
  });

  describe(`${runtime} agent`, () => {
    it("answers /health, refuses /run before /init and a second /init", async () => {
      const agent = await startAgent(runtime);
      const health = await agent.request("GET", "/health");
      expect(health.code).toBe(200);
      expect(health.body).toMatchObject({ ok: true, state: "generic", runtime });
      expect(health.body.pid).toBe(agent.child.pid);
      expect(typeof health.body.interpreter).toBe("string");
      expect((await agent.request("POST", "/run", { args: [] })).code).toBe(409);

      const init = await agent.init(handler("envy", f.env, { env: { GREETING: "bonjour" } }));
      expect(init.code).toBe(200);
      expect(init.body.initMs).toBeTypeOf("number");
      expect((await agent.request("GET", "/health")).body.state).toBe("ready");
      const again = await agent.init(handler("envy", f.env));
      expect(again).toMatchObject({ code: 409, body: { error: "already initialised" } });
      // env reached the process before loading; the connection was kept alive.
      const first = await agent.request("POST", "/run", { invocationId: "a", event: {} });
      expect(first.body).toMatchObject({ status: 0, result: "bonjour", error: null });
      expect(first.reused).toBe(true);
      agent.stop();
    });

    it("answers 404 for unknown routes and 400 for malformed JSON, then keeps serving", async () => {
      const agent = await loaded(runtime, handler("envy", f.env));
      expect((await agent.request("GET", "/nowhere")).code).toBe(404);
      expect((await agent.request("POST", "/nowhere", {})).code).toBe(404);
      expect((await agent.request("GET", "/run")).code).toBe(404);
      const bad = await agent.request("POST", "/run", "{not json");
      expect(bad.code).toBe(400);
      expect(bad.body.error).toMatch(/malformed JSON/);
      expect((await agent.request("POST", "/run", "[1, 2]")).code).toBe(400);
      expect((await agent.request("POST", "/init", "{")).code).toBe(400);
      expect((await agent.run()).status).toBe(0);
      agent.stop();
    });

    it("refuses code that fails to load with 422 and the traceback", async () => {
      for (const [code, pattern] of [
        [f.syntax, /SyntaxError/],
        [f.importFails, /cannot load/],
        [f.noFunction, /run/],
      ] as const) {
        const agent = await startAgent(runtime);
        const reply = await agent.init(handler("broken", code));
        expect(reply.code, JSON.stringify(reply.body)).toBe(422);
        expect(reply.body.error).toMatch(pattern);
        expect(reply.body.stderr).toMatch(pattern);
        expect((await agent.request("POST", "/run", {})).code).toBe(409);
        agent.stop();
      }
      const agent = await startAgent(runtime);
      const reply = await agent.init(script("broken", f.syntax));
      expect(reply.code).toBe(422);
      expect(reply.body.stderr).toMatch(/broken\.(py|js)/);
      agent.stop();
    });

    it("reports an exception as status 1 with the traceback, and serves the next call", async () => {
      const agent = await loaded(runtime, handler("boom", f.throws));
      const reply = await agent.run({ event: {} });
      expect(reply.status).toBe(1);
      expect(reply.result).toBeNull();
      expect(reply.error).toMatch(/Error: bad input/);
      expect(reply.stderr).toMatch(/bad input/);
      expect(reply.stderr).toMatch(/boom\.(py|js)/);
      expect(reply.stderr).not.toMatch(/agent\.(py|mjs)/);
      expect(reply.stdout).toBe(""); // the load-time print is not this call's
      expect((await agent.run({ event: {} })).status).toBe(1);
      agent.stop();
    });

    it("turns an exit(3) into status 3 and stays up", async () => {
      const agent = await loaded(runtime, script("quits", f.exits));
      for (let i = 0; i < 2; i++) {
        const reply = await agent.run();
        expect(reply).toMatchObject({ status: 3, stdout: "before exit\n", error: null });
      }
      expect((await agent.request("GET", "/health")).code).toBe(200);
      agent.stop();
    });

    it("caps a 10 MB flood at outputLimitBytes with the marker", async () => {
      const limit = 65_536;
      const agent = await loaded(runtime, script("flood", f.flood, { outputLimitBytes: limit }));
      const reply = await agent.run();
      expect(reply.status).toBe(0);
      expect(reply.truncated).toEqual({ stdout: true, stderr: false, result: false });
      const marker = `\n…[truncated ${10_000_000 - limit} bytes]`;
      expect(reply.stdout.endsWith(marker)).toBe(true);
      expect(Buffer.byteLength(reply.stdout)).toBe(limit + Buffer.byteLength(marker));
      expect(reply.result).toBe(reply.stdout);
      const again = await agent.run();
      expect(again.truncated.stdout).toBe(true);
      agent.stop();
    });

    it("cuts a returned value whose JSON is over outputLimitBytes, with the marker", async () => {
      const agent = await loaded(runtime, handler("big", f.big, { outputLimitBytes: 1000 }));
      const small = await agent.run({ event: { n: 100 } });
      expect(small).toMatchObject({ result: { text: "x".repeat(100) } });
      expect(small.truncated.result).toBe(false);
      const big = await agent.run({ event: { n: 5000 } });
      expect(big.truncated).toEqual({ stdout: false, stderr: false, result: true });
      const json = JSON.stringify({ text: "x".repeat(5000) });
      expect(big.result).toBe(`${json.slice(0, 1000)}\n…[truncated ${json.length - 1000} bytes]`);
      agent.stop();
    });

    it("drops output written after a call answered instead of adding it to the next", async () => {
      const agent = await loaded(runtime, handler("late", f.late));
      const first = await agent.run({ event: { schedule: true } });
      expect(first).toMatchObject({ result: "scheduled", lingering: true });
      // The timer fires (and, in node, throws and rejects) during this call.
      const second = await agent.run({ event: {} });
      expect(second).toMatchObject({
        status: 0,
        result: "done",
        stdout: "second call\n",
        lingering: false,
      });
      expect(second.stderr).toBe("");
      const third = await agent.run({ event: {} });
      expect(third).toMatchObject({ status: 0, stdout: "second call\n", stderr: "" });
      agent.stop();
    });

    it("awaits an async handler", async () => {
      const agent = await loaded(runtime, handler("later", f.async));
      const reply = await agent.run({ event: { n: 21 } });
      expect(reply).toMatchObject({ status: 0, stdout: "awaited\n" });
      expect(reply.result).toEqual({ double: 42, id: "inv-1" });
      agent.stop();
    });

    it("gives the handler its context", async () => {
      const agent = await loaded(runtime, handler("ctx", f.context));
      const reply = await agent.run({ event: {} });
      expect(reply.result).toMatchObject({ id: "inv-1", fn: "fn-1", version: 1 });
      const left = (reply.result as { left: number }).left;
      expect(left).toBeGreaterThan(20_000);
      expect(left).toBeLessThanOrEqual(30_000);
      agent.stop();
    });

    it("returns the string form of a result JSON cannot hold", async () => {
      const agent = await loaded(runtime, handler("opaque", f.opaque));
      const reply = await agent.run({ event: {} });
      expect(reply.status).toBe(0);
      if (runtime === "python") {
        expect(reply.result).toMatchObject({ items: "{1}" });
        expect(String((reply.result as { when: string }).when)).toMatch(/^<object object/);
      } else {
        expect(reply.result).toMatch(/self: \[Circular \*1\]/);
      }
      agent.stop();
    });

    it("serves over TCP with --port", async () => {
      const agent = await startAgent(runtime, "port");
      expect((await agent.request("GET", "/health")).body.runtime).toBe(runtime);
      expect((await agent.init(handler("envy", f.env, { env: { GREETING: "hi" } }))).code).toBe(
        200,
      );
      expect((await agent.run({ event: {} })).result).toBe("hi");
      expect((await agent.run({ event: {} })).result).toBe("hi");
      agent.stop();
    });

    it("measures idle memory and the /run round trip (reported, not asserted)", async () => {
      const agent = await startAgent(runtime);
      await new Promise((resolve) => setTimeout(resolve, 300));
      const idleKiB = agent.rssKiB();
      await agent.init(handler("envy", f.env, { env: { GREETING: "x" } }));
      const times: number[] = [];
      for (let i = 0; i < 2_000; i++) {
        const started = performance.now();
        await agent.request("POST", "/run", { invocationId: `i${i}`, event: {} });
        times.push(performance.now() - started);
      }
      times.sort((a, b) => a - b);
      const p = (q: number) => times[Math.floor(q * (times.length - 1))].toFixed(3);
      console.info(
        `[agents] ${runtime}: idle RSS ${(idleKiB / 1024).toFixed(1)} MiB generic, ` +
          `${(agent.rssKiB() / 1024).toFixed(1)} MiB after 2000 calls; ` +
          `/run round trip p50 ${p(0.5)} ms, p99 ${p(0.99)} ms`,
      );
      expect(idleKiB).toBeGreaterThan(0);
      agent.stop();
    });
  });
}

describe("python agent with the examples", () => {
  it("runs calc.py as a script with argv", async () => {
    const agent = await loaded("python", {
      style: "script",
      handler: "calc.calculator",
      moduleFile: "calc.py",
      code: example("calc.py"),
    });
    const reply = await agent.run({ args: ["5", "10"] });
    expect(reply).toMatchObject({ status: 0, stderr: "", error: null });
    expect(reply.result).toBe(
      "Addition: 15\nSubtraction: -5\nMultiplication: 50\nDivision: 0.5\nRemainder: 5\n",
    );
    expect(reply.stdout).toBe(reply.result);
    expect(reply.durationMs).toBeTypeOf("number");
    const usage = await agent.run({ args: ["5"] });
    expect(usage).toMatchObject({ status: 2, stdout: "", stderr: "usage: calc.py <a> <b>\n" });
    expect((await agent.run({ args: ["8", "2"] })).stdout).toMatch(/^Addition: 10\n/);
    agent.stop();
  });

  it("calls student.greet as a handler", async () => {
    const agent = await loaded("python", {
      style: "handler",
      handler: "student.greet",
      moduleFile: "student.py",
      code: example("student.py"),
    });
    const reply = await agent.run({ event: { name: "Ada", age: "20", cgpa: "3.9" } });
    expect(reply.status).toBe(0);
    expect(reply.result).toMatchObject({
      greeting: "Hello Ada! At 20 with a CGPA of 3.90, your standing is excellent.",
      standing: "excellent",
    });
    agent.stop();
  });

  it("keeps counter.py's state between calls", async () => {
    const agent = await loaded("python", {
      style: "handler",
      handler: "counter.count",
      moduleFile: "counter.py",
      code: example("counter.py"),
    });
    const instances = new Set<string>();
    for (const calls of [1, 2, 3]) {
      const reply = await agent.run({ event: {} });
      const result = reply.result as { calls: number; instance: string };
      expect(result.calls).toBe(calls);
      expect(result.instance).toMatch(/^[0-9a-f]{8}$/);
      instances.add(result.instance);
    }
    // The id is made once when the module loads: one instance, one id.
    expect(instances.size).toBe(1);
    agent.stop();
  });

  it("runs a script with fresh globals, __main__ and argv each time", async () => {
    const code = [
      "import sys",
      "seen = globals().get('seen', 0) + 1",
      "print(__name__, sys.argv, seen, __file__.endswith('prog.py'))",
      "if len(sys.argv) > 1 and sys.argv[1] == 'say':",
      "    sys.exit('goodbye')",
    ].join("\n");
    const agent = await loaded("python", {
      style: "script",
      handler: "prog.main",
      moduleFile: "prog.py",
      code,
    });
    for (let i = 0; i < 2; i++) {
      expect((await agent.run({ args: ["a"] })).stdout).toBe("__main__ ['prog.py', 'a'] 1 True\n");
    }
    expect(await agent.run({ args: ["say"] })).toMatchObject({ status: 1, stderr: "goodbye\n" });
    agent.stop();
  });

  it("shows the user's own lines in a script traceback", async () => {
    const code = 'print("x")\n\ndef f():\n    return 1 / 0\n\nf()\n';
    const agent = await loaded("python", {
      style: "script",
      handler: "div.main",
      moduleFile: "div.py",
      code,
    });
    const reply = await agent.run();
    expect(reply).toMatchObject({
      status: 1,
      stdout: "x\n",
      error: "ZeroDivisionError: division by zero",
    });
    expect(reply.stderr).toMatch(/div\.py", line 4, in f\n\s+return 1 \/ 0/);
    expect(reply.stderr).not.toMatch(/agent\.py/);
    agent.stop();
  });

  it("ends a script after its non-daemon threads, like python file.py", async () => {
    const code = [
      "import threading",
      "threading.Timer(0.05, print, ['timer']).start()",
      "threading.Thread(target=print, args=['daemon'], daemon=True).start()",
      "def work():",
      "    threading.Timer(0.05, print, ['nested timer']).start()",
      "threading.Thread(target=work).start()",
    ].join("\n");
    const agent = await loaded("python", {
      style: "script",
      handler: "threads.main",
      moduleFile: "threads.py",
      code,
    });
    for (let i = 0; i < 2; i++) {
      const reply = await agent.run();
      expect(reply.stdout.split("\n").sort()).toEqual(["", "daemon", "nested timer", "timer"]);
      expect(reply.durationMs).toBeGreaterThanOrEqual(50);
    }
    agent.stop();
  });

  it("credits pool workers to the call that waits on them", async () => {
    const code = [
      "from concurrent.futures import ThreadPoolExecutor",
      "pool = ThreadPoolExecutor(2)",
      "def run(event, context):",
      "    return pool.submit(print, 'from the pool', event['n']).result()",
    ].join("\n");
    const agent = await loaded("python", {
      style: "handler",
      handler: "pooled.run",
      moduleFile: "pooled.py",
      code,
    });
    expect((await agent.run({ event: { n: 1 } })).stdout).toBe("from the pool 1\n");
    expect((await agent.run({ event: { n: 2 } })).stdout).toBe("from the pool 2\n");
    agent.stop();
  });
});

describe("node agent with the examples", () => {
  it("runs sum.js as a script with argv", async () => {
    const agent = await loaded("node", {
      style: "script",
      handler: "sum.main",
      moduleFile: "sum.js",
      code: example("sum.js"),
    });
    expect(await agent.run({ args: ["1", "2", "3"] })).toMatchObject({
      status: 0,
      result: "6\n",
      stdout: "6\n",
      stderr: "",
    });
    // process.exitCode = 2 is this call's only.
    expect(await agent.run({ args: ["5", "x"] })).toMatchObject({
      status: 2,
      stderr: "not numbers: x\n",
    });
    expect((await agent.run({ args: ["5", "10"] })).status).toBe(0);
    agent.stop();
  });

  it("calls greeting.greet as a handler", async () => {
    const agent = await loaded("node", {
      style: "handler",
      handler: "greeting.greet",
      moduleFile: "greeting.js",
      code: example("greeting.js"),
    });
    const reply = await agent.run({ event: { name: "Ada", lang: "fr" } });
    expect(reply).toMatchObject({ status: 0, error: null });
    expect(reply.result).toEqual({ message: "Bonjour, Ada!", invocationId: "inv-1" });
    agent.stop();
  });

  it("runs a script with a fresh module, require.main and argv, awaiting its async work", async () => {
    const code = [
      "module.exports.seen = (module.exports.seen ?? 0) + 1;",
      "const path = require('node:path');",
      "console.log(require.main === module, path.basename(process.argv[1]), process.argv.slice(2));",
      "console.log(module.exports.seen, typeof __filename, path.basename(__dirname).startsWith('cloudless-'));",
      "Promise.resolve().then(() => console.log('microtask'));",
      "require('node:fs').readFile(__filename, () =>",
      "  setImmediate(() => setTimeout(() => console.log('io, immediate, timer'), 30)));",
      "setTimeout(() => console.log('unref: not waited for'), 60_000).unref();",
    ].join("\n");
    const agent = await loaded("node", {
      style: "script",
      handler: "prog.main",
      moduleFile: "prog.js",
      code,
    });
    for (let i = 0; i < 2; i++) {
      const reply = await agent.run({ args: ["a", "b"] });
      expect(reply.status).toBe(0);
      expect(reply.stdout).toBe(
        "true prog.js [ 'a', 'b' ]\n1 string true\nmicrotask\nio, immediate, timer\n",
      );
      expect(reply.durationMs).toBeLessThan(10_000);
    }
    agent.stop();
  });

  it("ends a script at an uncaught error in a timer with status 1", async () => {
    const code =
      "setTimeout(() => { throw new Error('timer boom'); }, 10);\nconsole.log('started');\n";
    const agent = await loaded("node", {
      style: "script",
      handler: "t.main",
      moduleFile: "t.js",
      code,
    });
    const reply = await agent.run();
    expect(reply).toMatchObject({ status: 1, stdout: "started\n", error: "Error: timer boom" });
    expect(reply.stderr).toMatch(/t\.js:1/);
    expect((await agent.run()).status).toBe(1);
    agent.stop();
  });

  it("ends a script at an unhandled rejection with status 1", async () => {
    const code = "Promise.reject(new RangeError('nobody caught me'));\nconsole.log('started');\n";
    const agent = await loaded("node", {
      style: "script",
      handler: "r.main",
      moduleFile: "r.cjs",
      code,
    });
    const reply = await agent.run();
    expect(reply).toMatchObject({
      status: 1,
      stdout: "started\n",
      error: "RangeError: nobody caught me",
    });
    expect(reply.stderr).toMatch(/r\.cjs:1/);
    agent.stop();
  });

  it("loads an ESM .mjs handler once, with top-level await", async () => {
    const code = [
      "let loads = 0;",
      "const prefix = await Promise.resolve('Hi');",
      "loads++;",
      "export async function greet(event, context) {",
      "  return { text: prefix + ' ' + event.name, loads, id: context.invocationId };",
      "}",
    ].join("\n");
    const agent = await loaded("node", {
      style: "handler",
      handler: "esm.greet",
      moduleFile: "esm.mjs",
      code,
    });
    for (const id of ["inv-1", "inv-2"]) {
      const reply = await agent.run({ event: { name: "Ada" } });
      expect(reply.result).toEqual({ text: "Hi Ada", loads: 1, id });
    }
    agent.stop();
  });

  it("locates a syntax error in an ESM module", async () => {
    const agent = await startAgent("node");
    const code = "export const greet = () => ;\n";
    const reply = await agent.init({
      style: "handler",
      handler: "esm.greet",
      moduleFile: "esm.mjs",
      code,
    });
    expect(reply.code).toBe(422);
    expect(reply.body.error).toBe("SyntaxError: Unexpected token ';'");
    expect(reply.body.stderr).toMatch(/esm\.mjs:1\nexport const greet = \(\) => ;\n\s+\^/);
    agent.stop();
  });

  it("runs an ESM .mjs script with top-level await", async () => {
    const code = [
      "console.log(process.argv.slice(2).join('+'));",
      "await new Promise((resolve) => setTimeout(resolve, 20));",
      "console.log('after');",
    ].join("\n");
    const agent = await loaded("node", {
      style: "script",
      handler: "esm.main",
      moduleFile: "esm.mjs",
      code,
    });
    expect((await agent.run({ args: ["1", "2"] })).stdout).toBe("1+2\nafter\n");
    expect((await agent.run({ args: ["3"] })).stdout).toBe("3\nafter\n");
    agent.stop();
  });

  it("turns process.exit inside a handler into the call's status", async () => {
    const code = "exports.run = (event) => { if (event.quit) process.exit(4); return 'ok'; };\n";
    const agent = await loaded("node", {
      style: "handler",
      handler: "q.run",
      moduleFile: "q.cjs",
      code,
    });
    expect(await agent.run({ event: { quit: true } })).toMatchObject({ status: 4, result: null });
    expect(await agent.run({ event: {} })).toMatchObject({ status: 0, result: "ok" });
    agent.stop();
  });
});
