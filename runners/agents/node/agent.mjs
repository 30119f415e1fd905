// Cloudless instance agent for Node (protocol: docs/agent-protocol.md).
//
// Standard library only, so a runtime image needs nothing but node. Serves
// HTTP/1.1 keep-alive on a unix socket (--socket PATH) or TCP (--port N, on
// 0.0.0.0), loads one function once (/init) and runs it per call (/run).
//
// Rules chosen here:
// - Every call runs inside an AsyncLocalStorage context, so anything the
//   call started (timers, promises, I/O callbacks) carries it. Output and
//   uncaught errors are credited by that context: the active call's own, or
//   work started while loading the module (shared); leftovers of a finished
//   call are dropped. fs.writeSync(1, ...) bypasses the capture.
// - A script's call ends like `node file.js` would: when the program and a
//   promise it returned at top level (CJS `return`, or ESM top-level await)
//   are done and no ref'd async resource it created (timers, immediates,
//   ticks, sockets, fs requests) is left, tracked with async_hooks while the
//   script runs; or at process.exit(), or at its first uncaught error.
//   A setInterval never cleared keeps the call open until the host's deadline.
// - A handler's call ends when its returned value (awaited) settles, or at
//   process.exit() / an uncaught error of its own.
// - process.exit(n) never ends the agent: it records n & 0xFF for the call
//   that invoked it and throws to unwind that call's code.
// - A host that restores instances from one saved VM (Nanos) sends a `seed`
//   with /init, mixed into this instance's randomness, and its clock
//   (`hostTimeMs`) with /init and /run: see "Instances restored from a
//   snapshot" in docs/agent-protocol.md.
// - .js/.cjs are CommonJS, .mjs is ESM. An ESM script is re-imported per call
//   under a fresh URL (no vm modules without a flag), so each run keeps one
//   small module record for the life of the instance.
import { AsyncLocalStorage, createHook } from "node:async_hooks";
import { spawnSync } from "node:child_process";
import crypto from "node:crypto";
import fs from "node:fs";
import http from "node:http";
import Module, { createRequire, syncBuiltinESMExports } from "node:module";
import os from "node:os";
import path from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { inspect } from "node:util";
import vm from "node:vm";

const AGENT_FILE = fileURLToPath(import.meta.url);
const realExit = process.exit.bind(process);
const DEFAULT_LIMIT = 1024 * 1024;
const SCRIPT_PARAMS = ["exports", "require", "module", "__filename", "__dirname"];
const als = new AsyncLocalStorage();
const fn = { phase: "generic" }; // generic -> loading -> ready | failed
let active = null; // the Call whose output is being captured, if any
let running = false;
let runs = 0;
let clockOffsetMs = 0; // host clock minus ours, when the host sent its time
const realDateNow = Date.now;
const nowMs = () => realDateNow() + clockOffsetMs;

/**
 * Takes the host's clock as the reference. A VM restored from a snapshot
 * resumes with the clock it was saved with, hours or days behind, and node
 * cannot set the system clock: Date.now(), new Date() and Date() are shifted
 * by the offset instead (other clocks, e.g. file times, are not).
 */
function syncClock(hostMs) {
  if (typeof hostMs !== "number" || !Number.isFinite(hostMs)) return;
  const offset = hostMs - realDateNow();
  if (Math.abs(offset) <= 20 && clockOffsetMs === 0) return;
  clockOffsetMs = offset;
  if (globalThis.Date.now === nowMs) return;
  const RealDate = globalThis.Date;
  RealDate.now = nowMs;
  // A proxy, not a subclass: dates node itself makes (fs.Stats) stay `instanceof Date`.
  globalThis.Date = new Proxy(RealDate, {
    construct: (target, args, newTarget) =>
      Reflect.construct(target, args.length === 0 ? [nowMs()] : args, newTarget),
    apply: () => new RealDate(nowMs()).toString(),
  });
}

/**
 * Makes this instance's randomness its own. VMs restored from one snapshot
 * resume the same OpenSSL and V8 random state, so without this two instances
 * would draw the same bytes, UUIDs and Math.random() values. The crypto
 * functions' output is XORed with an AES-256-CTR keystream under a key
 * derived (HMAC-SHA256) from the host's per-instance seed, and Math.random
 * becomes an sfc32 generator seeded from that mix.
 */
function reseed(seedHex) {
  const seed = Buffer.from(seedHex, "hex");
  const derive = (label) => crypto.createHmac("sha256", seed).update(label).digest();
  const keystream = crypto.createCipheriv(
    "aes-256-ctr",
    derive("cloudless key"),
    derive("cloudless iv").subarray(0, 16),
  );
  const mix = (view, offset = 0, length = view.byteLength - offset) => {
    const bytes = new Uint8Array(view.buffer ?? view, (view.byteOffset ?? 0) + offset, length);
    const pad = keystream.update(Buffer.alloc(length));
    for (let i = 0; i < length; i++) bytes[i] ^= pad[i];
    return view;
  };
  const real = { ...crypto };
  const byteRange = (buf, offset = 0, size) => {
    const unit = buf.BYTES_PER_ELEMENT ?? 1;
    const start = offset * unit;
    return [start, size === undefined ? buf.byteLength - start : size * unit];
  };
  crypto.randomBytes = function randomBytes(size, callback) {
    if (typeof callback !== "function") return mix(real.randomBytes(size));
    return real.randomBytes(size, (error, buf) => callback(error, error ? buf : mix(buf)));
  };
  crypto.randomFillSync = function randomFillSync(buf, offset, size) {
    real.randomFillSync(buf, offset, size);
    return mix(buf, ...byteRange(buf, offset, size));
  };
  crypto.randomFill = function randomFill(buf, offset, size, callback) {
    const cb = [offset, size, callback].find((a) => typeof a === "function");
    const [o, s] = [offset, size].map((a) => (typeof a === "function" ? undefined : a));
    return real.randomFill(buf, o, s, (error, filled) =>
      cb(error, error ? filled : mix(filled, ...byteRange(filled, o, s))),
    );
  };
  // crypto.getRandomValues is a fixed getter that calls the web crypto
  // object's method: replacing the method there covers both.
  const web = globalThis.crypto;
  const webGetRandomValues = web.getRandomValues.bind(web);
  const getRandomValues = (array) => mix(webGetRandomValues(array));
  const randomUUID = () => {
    const b = crypto.randomBytes(16);
    b[6] = (b[6] & 0x0f) | 0x40;
    b[8] = (b[8] & 0x3f) | 0x80;
    const hex = b.toString("hex");
    return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
  };
  crypto.randomUUID = randomUUID;
  crypto.randomInt = function randomInt(min, max, callback) {
    if (max === undefined || typeof max === "function") [min, max, callback] = [0, min, max];
    real.randomInt(min, max); // its argument checks and errors
    const range = max - min;
    const limit = 2 ** 48 - (2 ** 48 % range);
    let x;
    do x = crypto.randomBytes(6).readUIntBE(0, 6);
    while (x >= limit);
    if (typeof callback !== "function") return min + (x % range);
    process.nextTick(callback, null, min + (x % range));
  };
  for (const [name, value] of Object.entries({ getRandomValues, randomUUID })) {
    Object.defineProperty(web, name, { value, writable: true, configurable: true });
  }
  syncBuiltinESMExports(); // `import { randomBytes } from "node:crypto"` sees the wrappers
  const [a, b, c, d] = new Uint32Array(crypto.randomBytes(16).buffer);
  Math.random = sfc32(a, b, c, d);
}

/** sfc32: a small fast generator; two draws make a double with 53 random bits. */
function sfc32(a, b, c, d) {
  const next = () => {
    const t = (((a + b) | 0) + d) | 0;
    d = (d + 1) | 0;
    a = b ^ (b >>> 9);
    b = (c + (c << 3)) | 0;
    c = (c << 21) | (c >>> 11);
    c = (c + t) | 0;
    return t >>> 0;
  };
  for (let i = 0; i < 12; i++) next();
  return function random() {
    return ((next() >>> 5) * 67108864 + (next() >>> 6)) / 9007199254740992;
  };
}

/** One stream of one call: kept up to `limit` UTF-8 bytes, the rest counted. */
class Capture {
  constructor(limit) {
    this.limit = limit;
    this.size = 0;
    this.dropped = 0;
    this.parts = [];
  }

  write(text) {
    const n = Buffer.byteLength(text);
    if (this.dropped === 0 && this.size + n <= this.limit) {
      this.parts.push(text);
      this.size += n;
      return;
    }
    let room = this.limit - this.size;
    if (this.dropped === 0 && room > 0) {
      const bytes = Buffer.from(text);
      while (room > 0 && (bytes[room] & 0xc0) === 0x80) room--; // whole characters only
      this.parts.push(bytes.subarray(0, room).toString());
      this.size += room;
    } else room = 0;
    this.dropped += n - room; // once cut, stay cut: the text remains a prefix
  }

  text() {
    const out = this.parts.join("");
    if (this.dropped === 0) return out;
    return `${out}${out === "" || out.endsWith("\n") ? "" : "\n"}…[truncated ${this.dropped} bytes]`;
  }
}

/** The unit output is credited to: one /run, or the /init load. */
class Call {
  constructor(limit, loading = false) {
    this.loading = loading;
    this.out = new Capture(limit);
    this.err = new Capture(limit);
    this.done = false;
    this.exitCode = undefined;
    this.failure = undefined;
    this.pending = new Map(); // async resources a script created, by id
    this.lingerable = new Map(); // timers, child processes and workers the call created, by id
    this.wake = null;
    this.ended = new Promise((resolve) => {
      this.end = resolve;
    });
  }
}

/** The active call, if the code running now works for it. */
function owner() {
  const call = active;
  const store = als.getStore();
  if (call === null || call.done) return null;
  return store === undefined || store === call || store.loading ? call : null;
}

function capturedWrite(stream) {
  return function write(chunk, encoding, callback) {
    if (typeof encoding === "function") [callback, encoding] = [encoding, undefined];
    const call = owner();
    if (call !== null) {
      const text =
        typeof chunk === "string"
          ? encoding && !/^utf-?8$/i.test(encoding)
            ? Buffer.from(chunk, encoding).toString()
            : chunk
          : Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength).toString();
      (stream === 1 ? call.out : call.err).write(text);
    }
    if (typeof callback === "function") process.nextTick(callback);
    return true;
  };
}

class ExitSignal extends Error {}

function status(code) {
  const n = Number(code ?? 0);
  return Number.isInteger(n) ? n & 0xff : 1;
}

// process.exit must unwind the caller's code, never end the agent.
process.exit = function exit(code) {
  const call = owner();
  if (call !== null && call.exitCode === undefined) {
    call.exitCode = status(code ?? process.exitCode);
    call.end();
  }
  throw new ExitSignal(`process.exit(${code ?? ""})`);
};

function describe(error) {
  const text = error instanceof Error && error.stack ? error.stack : `Uncaught ${inspect(error)}`;
  // The user needs their own frames, not the agent's or vm's.
  const ours = (line) =>
    /^\s+at /.test(line) &&
    (line.includes(AGENT_FILE) || /\(?node:(internal\/)?(vm|async_hooks)\b/.test(line));
  return `${text
    .split("\n")
    .filter((line) => !ours(line))
    .join("\n")}\n`;
}

function oneLine(error) {
  if (error instanceof Error) return `${error.name}: ${error.message}`.split("\n")[0];
  return `Uncaught ${inspect(error)}`.split("\n")[0];
}

/** An error of `call`'s code: like node, print it and end with status 1. */
function fail(call, error) {
  if (error instanceof ExitSignal || call.done) return;
  if (call.failure === undefined && call.exitCode === undefined) {
    call.failure = error;
    call.err.write(describe(error));
  }
  call.end();
}

function onStray(error) {
  const call = owner(); // a finished call's errors are dropped
  if (call !== null) fail(call, error);
}
process.on("uncaughtException", onStray);
process.on("unhandledRejection", onStray);

// What keeps a running script's call open, as it would keep `node file.js`
// alive: handles it created (timers, immediates, sockets, servers, child
// processes; while ref'd and open) and its pending one-shot requests (fs,
// dns, connect, write, crypto). Destroy hooks come late (an unref'd native
// immediate), so completion is read in `after`, which also wakes the wait.
// A handler's call does not wait for them, but what would outlive the
// answer (a timer still set, a child process or worker still running) marks
// the instance as dirty: it is destroyed after answering (see LINGERING).
const ONE_SHOT = /REQ|CONNECTWRAP|SHUTDOWNWRAP|WRITEWRAP|SENDWRAP|QUERYWRAP/;
const LINGERING = /^(Timeout|Immediate|PROCESSWRAP|WORKER)$/;
let tracked = null;
const tracker = createHook({
  init(id, type, _trigger, resource) {
    if (tracked === null || als.getStore() !== tracked) return;
    if (typeof resource.hasRef === "function" || ONE_SHOT.test(type)) {
      tracked.pending.set(id, resource);
    }
    if (LINGERING.test(type)) tracked.lingerable.set(id, resource);
  },
  after(id) {
    if (tracked === null) return;
    if (typeof tracked.pending.get(id)?.hasRef !== "function") tracked.pending.delete(id);
    tracked.wake?.();
  },
  destroy(id) {
    tracked?.pending.delete(id);
    tracked?.lingerable.delete(id);
  },
});

function alive(resource) {
  if (resource._destroyed === true) return false; // a fired or cleared timer/immediate
  return typeof resource.hasRef === "function" ? resource.hasRef() : true;
}

async function settled(call, returned) {
  try {
    await returned;
  } catch (error) {
    return fail(call, error);
  }
  for (;;) {
    await new Promise((resolve) => setImmediate(resolve)); // ticks and microtasks drain first
    if (![...call.pending.values()].some(alive)) return;
    await new Promise((resolve) => {
      call.wake = resolve;
    });
    call.wake = null;
  }
}

/** import() of the user's ESM; V8 gives its syntax errors no location. */
async function importUser(url) {
  try {
    return await import(url);
  } catch (error) {
    if (error instanceof SyntaxError) {
      // `node --check` prints file:line and the caret (failure path only; it
      // cannot run where processes cannot be spawned, e.g. Nanos).
      const check = spawnSync(process.execPath, ["--check", fn.file], { encoding: "utf8" });
      if (check.status === 1 && check.stderr) error.stack = check.stderr.split("\n    at ")[0];
    }
    throw error;
  }
}

function runScript(args) {
  process.argv = [process.execPath, fn.file, ...args];
  if (fn.esm) return importUser(`${fn.url}?run=${++runs}`); // fresh module per run
  const module = new Module(fn.file, null); // fresh module object per run
  module.filename = fn.file;
  module.paths = Module._nodeModulePaths(fn.folder);
  const require = createRequire(fn.file);
  require.main = module;
  return fn.program.call(module.exports, module.exports, require, module, fn.file, fn.folder);
}

function context(body) {
  const deadlineMs = body.deadlineMs;
  return {
    invocationId: body.invocationId,
    functionId: fn.functionId,
    version: fn.version,
    deadlineMs,
    remainingMs: () => (typeof deadlineMs === "number" ? Math.max(0, deadlineMs - nowMs()) : null),
  };
}

async function run(body) {
  if (fn.phase !== "ready") return [409, { error: "not initialised" }];
  const args = body.args ?? [];
  if (!Array.isArray(args)) return [400, { error: "args must be a list" }];
  if (running) return [409, { error: "busy" }];
  syncClock(body.hostTimeMs);
  running = true;
  const call = new Call(fn.limit);
  active = call;
  process.exitCode = undefined; // a leftover from an earlier call is not ours
  const argv = process.argv;
  const started = performance.now();
  let result = null;
  try {
    tracked = call;
    tracker.enable();
    const returned = als.run(call, () => {
      try {
        if (fn.style === "script") return runScript(args.map(String));
        return fn.handler(body.event ?? {}, context(body));
      } catch (error) {
        fail(call, error);
      }
    });
    const work =
      fn.style === "script"
        ? settled(call, returned)
        : Promise.resolve(returned).then(
            (value) => {
              result = value;
            },
            (error) => fail(call, error),
          );
    await Promise.race([work, call.ended]);
  } finally {
    tracker.disable();
    tracked = null;
    call.done = true; // from here on, stray writes are dropped
    active = null;
    running = false;
    process.argv = argv;
  }
  const durationMs = Math.round((performance.now() - started) * 1000) / 1000;
  const code = call.exitCode ?? (call.failure !== undefined ? 1 : status(process.exitCode));
  process.exitCode = undefined;
  const stdout = call.out.text();
  const returned = call.failure === undefined && call.exitCode === undefined;
  // Timers left set and children left running, ref'd or not: they would run on into the next call.
  // (A fired or cleared timer is _destroyed; a process or worker handle is removed when it closes.)
  const lingering = [...call.lingerable.values()].some((r) => r._destroyed !== true);
  const [value, resultCut] =
    fn.style === "script" ? [stdout, false] : cap(returned ? result : null);
  return [
    200,
    {
      status: code,
      result: value,
      stdout,
      stderr: call.err.text(),
      durationMs,
      error: call.failure === undefined ? null : oneLine(call.failure),
      truncated: { stdout: call.out.dropped > 0, stderr: call.err.dropped > 0, result: resultCut },
      lingering,
    },
  ];
}

/**
 * A returned value whose JSON is over the output limit becomes the start of
 * that JSON text with the truncation marker, like output.
 */
function cap(result) {
  if (
    result === null ||
    result === undefined ||
    (typeof result !== "object" && typeof result !== "string")
  )
    return [result, false];
  let text;
  try {
    text = Buffer.from(JSON.stringify(result) ?? "");
  } catch {
    return [result, false]; // cycles, BigInt: the encoder turns it into its string form
  }
  if (text.length <= fn.limit) return [result, false];
  const head = text
    .subarray(0, fn.limit)
    .toString()
    .replace(/\uFFFD$/, "");
  return [`${head}\n…[truncated ${text.length - Buffer.byteLength(head)} bytes]`, true];
}

async function load(call, body) {
  const { style, handler, code } = body;
  const ext = path.extname(fn.moduleFile);
  if (![".js", ".cjs", ".mjs"].includes(ext))
    throw new Error(`unsupported module file ${fn.moduleFile}`);
  fn.folder = fs.mkdtempSync(path.join(os.tmpdir(), "cloudless-"));
  fn.file = path.join(fn.folder, fn.moduleFile);
  fn.url = pathToFileURL(fn.file).href;
  fn.esm = ext === ".mjs";
  // .js must be CommonJS whatever package.json may sit above the folder.
  fs.writeFileSync(path.join(fn.folder, "package.json"), '{"type":"commonjs"}\n');
  fs.writeFileSync(fn.file, code);
  process.chdir(fn.folder); // like `cd folder && node file.js`
  if (style === "script") {
    if (fn.esm) return; // compiled on each run; syntax errors surface there
    fn.program = vm.compileFunction(code.replace(/^#!/, "//"), SCRIPT_PARAMS, {
      filename: fn.file,
      importModuleDynamically: vm.constants?.USE_MAIN_CONTEXT_DEFAULT_LOADER,
    });
    return;
  }
  const exported = fn.esm ? await importUser(fn.url) : createRequire(fn.file)(fn.file);
  const names = handler.slice(handler.indexOf(".") + 1).split(".");
  const find = (root) => names.reduce((value, name) => value?.[name], root);
  const target = find(exported) ?? find(exported?.default);
  if (typeof target !== "function") {
    throw new Error(`${fn.moduleFile} exports no function ${names.join(".")}`);
  }
  fn.handler = target;
  if (call.failure !== undefined) throw call.failure;
}

async function init(body) {
  const { style, handler = "", code, env = {}, moduleFile } = body;
  const limit = body.outputLimitBytes ?? DEFAULT_LIMIT;
  if (fn.phase !== "generic") return [409, { error: "already initialised" }];
  if (!["script", "handler"].includes(style) || typeof code !== "string") {
    return [400, { error: "style must be script or handler, code a string" }];
  }
  if (typeof handler !== "string" || typeof env !== "object" || env === null) {
    return [400, { error: "handler must be a string, env an object" }];
  }
  if (style === "handler" && !handler.includes(".")) {
    return [400, { error: "handler must be <module>.<function>" }];
  }
  if (!(moduleFile === undefined || typeof moduleFile === "string") || !Number.isInteger(limit)) {
    return [400, { error: "moduleFile must be a string, outputLimitBytes a count" }];
  }
  const { seed } = body;
  if (seed !== undefined && !(typeof seed === "string" && /^([0-9a-f]{2}){16,}$/i.test(seed))) {
    return [400, { error: "seed must be a hex string of 16 bytes or more" }];
  }
  syncClock(body.hostTimeMs);
  if (seed !== undefined) reseed(seed);
  fn.phase = "loading";
  const started = performance.now();
  Object.assign(fn, { style, limit, functionId: body.functionId, version: body.version });
  fn.moduleFile = path.basename(moduleFile || `${handler.split(".")[0]}.js`);
  for (const [key, value] of Object.entries(env)) process.env[key] = String(value);
  const call = new Call(limit, true);
  active = call;
  try {
    await als.run(call, () => load(call, body));
  } catch (error) {
    fn.phase = "failed";
    if (call.failure === undefined && !(error instanceof ExitSignal))
      call.err.write(describe(error));
    const reason =
      call.exitCode !== undefined
        ? `process.exit(${call.exitCode}) while loading`
        : oneLine(call.failure ?? error);
    return [422, { error: reason, stderr: call.err.text() }];
  } finally {
    active = null;
  }
  fn.phase = "ready";
  return [200, { ok: true, initMs: Math.round((performance.now() - started) * 1000) / 1000 }];
}

function health() {
  const state = fn.phase === "loading" ? "generic" : fn.phase;
  const interpreter = process.versions.node;
  return [200, { ok: true, state, runtime: "node", interpreter, pid: process.pid }];
}

function encode(payload) {
  const { result } = payload;
  if (typeof result === "function" || typeof result === "symbol") {
    payload.result = inspect(result); // JSON would drop it silently
  } else if ("result" in payload && result === undefined) payload.result = null;
  try {
    return JSON.stringify(payload, (_key, value) =>
      typeof value === "bigint" ? `${value}` : value,
    );
  } catch {
    payload.result = inspect(result); // e.g. a cycle
    return JSON.stringify(payload);
  }
}

const POST_ROUTES = { "/init": init, "/run": run };

function reply(res, code, payload) {
  const body = encode(payload);
  res.writeHead(code, {
    "Content-Type": "application/json",
    "Content-Length": Buffer.byteLength(body),
  });
  res.end(body);
}

function onRequest(req, res) {
  const chunks = [];
  req.on("data", (chunk) => chunks.push(chunk));
  req.on("end", async () => {
    const route = req.method === "POST" ? POST_ROUTES[req.url] : undefined;
    if (req.method === "GET" && req.url === "/health") return reply(res, ...health());
    if (route === undefined) return reply(res, 404, { error: "not found" });
    let body;
    try {
      body = JSON.parse(Buffer.concat(chunks).toString());
    } catch (error) {
      return reply(res, 400, { error: `malformed JSON: ${error.message}` });
    }
    if (typeof body !== "object" || body === null || Array.isArray(body)) {
      return reply(res, 400, { error: "body must be a JSON object" });
    }
    try {
      reply(res, ...(await route(body)));
    } catch (error) {
      fs.writeSync(2, describe(error)); // an agent bug: answer, keep serving
      reply(res, 500, { error: oneLine(error) });
    }
  });
}

function main(argv) {
  const options = {};
  for (let i = 0; i + 1 < argv.length; i += 2) options[argv[i]] = argv[i + 1];
  // The seed's primitives once, before the agent is ready: OpenSSL loads
  // algorithms lazily, and a VM saved after this (Nanos) resumes with them
  // loaded instead of loading them in every restored copy's /init.
  crypto.createHmac("sha256", "warm").update("up").digest();
  crypto.createCipheriv("aes-256-ctr", Buffer.alloc(32), Buffer.alloc(16)).update(Buffer.alloc(16));
  const server = http.createServer(onRequest);
  // Keep-alive connections idle as long as the host likes; calls may be long.
  server.keepAliveTimeout = 0;
  server.requestTimeout = 0;
  const ready = {
    ready: true,
    runtime: "node",
    interpreter: process.versions.node,
    pid: process.pid,
  };
  const announce = () => {
    if (options["--socket"]) {
      fs.chmodSync(options["--socket"], 0o666); // the host connects as another user than the container's
      ready.socket = options["--socket"];
    } else ready.port = server.address().port;
    fs.writeSync(1, `${JSON.stringify(ready)}\n`);
    process.stdout.write = capturedWrite(1);
    process.stderr.write = capturedWrite(2);
  };
  server.on("connection", (socket) => socket.setNoDelay(true));
  server.on("error", (error) => {
    fs.writeSync(2, `${error.stack}\n`);
    realExit(1);
  });
  if (options["--socket"]) {
    fs.rmSync(options["--socket"], { force: true });
    server.listen(options["--socket"], announce);
  } else if (options["--port"]) {
    server.listen(Number(options["--port"]), "0.0.0.0", announce);
  } else {
    fs.writeSync(2, "usage: agent.mjs --socket PATH | --port N\n");
    realExit(2);
  }
}

main(process.argv.slice(2));
