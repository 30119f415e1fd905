import { type ChildProcess, spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { existsSync } from "node:fs";
import net from "node:net";
import path from "node:path";
import { createInterface } from "node:readline";
import type { EngineName } from "../runners/types";

export const REPO_ROOT = path.resolve(import.meta.dirname, "..");

/** Children still running, so an exit of any kind can at least signal them. */
const children = new Set<ChildProcess>();
process.on("exit", () => {
  for (const child of children) child.kill("SIGTERM");
});

/** A port nobody listens on right now (the OS picks it; released before use). */
export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.unref();
    server.on("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const { port } = server.address() as net.AddressInfo;
      server.close(() => resolve(port));
    });
  });
}

/**
 * Spawns `node --import tsx <script>` in its own process group (detached), so
 * a Ctrl-C in the terminal reaches only the benchmark, which then stops its
 * children in order. tsx as a loader (not the tsx CLI) keeps the pid ours.
 */
function spawnTs(
  script: string,
  args: string[],
  env: NodeJS.ProcessEnv,
  nodeFlags: string[] = [],
): ChildProcess {
  const child = spawn(process.execPath, [...nodeFlags, "--import", "tsx", script, ...args], {
    cwd: REPO_ROOT,
    env,
    detached: true,
    stdio: ["pipe", "pipe", "pipe"],
  });
  children.add(child);
  child.on("exit", () => children.delete(child));
  return child;
}

export interface Exit {
  /** False when it had to be killed after the grace period. */
  clean: boolean;
  code: number | null;
  signal: string | null;
  /** From SIGTERM to exit. */
  ms: number;
}

/** Sends SIGTERM and waits; SIGKILL after `graceMs`. */
async function terminate(child: ChildProcess, graceMs: number): Promise<Exit> {
  const started = performance.now();
  const exited = new Promise<Exit>((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) {
      resolve({ clean: true, code: child.exitCode, signal: child.signalCode, ms: 0 });
    }
    child.once("exit", (code, signal) =>
      resolve({ clean: true, code, signal, ms: Math.round(performance.now() - started) }),
    );
  });
  child.kill("SIGTERM");
  let timer: NodeJS.Timeout | undefined;
  const timedOut = new Promise<"timeout">((resolve) => {
    timer = setTimeout(() => resolve("timeout"), graceMs);
  });
  const outcome = await Promise.race([exited, timedOut]);
  clearTimeout(timer);
  if (outcome !== "timeout") return outcome;
  child.kill("SIGKILL");
  return { ...(await exited), clean: false };
}

/** The last lines a child printed, shown when it fails. */
class LogTail {
  private readonly lines: string[] = [];
  constructor(private readonly max = 200) {}
  push(line: string) {
    this.lines.push(line);
    if (this.lines.length > this.max) this.lines.shift();
  }
  text(last = 40) {
    return this.lines.slice(-last).join("\n");
  }
}

function watchLines(child: ChildProcess, onLine: (line: string) => void) {
  for (const stream of [child.stdout, child.stderr]) {
    if (stream) createInterface({ input: stream }).on("line", onLine);
  }
}

export interface Database {
  url: string;
  stop(): Promise<void>;
}

/** Embedded PostgreSQL (server/db/embedded.ts) in `dir`, in a detached helper process. */
export async function startDatabase(dir: string): Promise<Database> {
  const port = await freePort();
  const child = spawnTs("benchmark/database-process.ts", [dir, String(port)], process.env);
  const tail = new LogTail();
  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(
      () => reject(new Error(`PostgreSQL did not start in 60 s:\n${tail.text()}`)),
      60_000,
    );
    watchLines(child, (line) => {
      tail.push(line);
      if (line.startsWith("{")) {
        clearTimeout(timer);
        resolve((JSON.parse(line) as { url: string }).url);
      }
    });
    child.once("exit", (code) => {
      clearTimeout(timer);
      reject(new Error(`PostgreSQL exited (${code}) before it was ready:\n${tail.text()}`));
    });
  });
  return {
    url,
    stop: async () => {
      await terminate(child, 15_000);
    },
  };
}

export interface ServerOptions {
  engine: EngineName;
  dataDir: string;
  databaseUrl: string;
  /** POOL_GENERIC_PER_RUNTIME: 0 makes every first call of a version a cold boot. */
  genericPerRuntime: number;
  /** More environment for the server (e.g. NANOS_CACHE_DIR), applied last. */
  env?: Record<string, string>;
  /** Extra node flags for the server, e.g. --cpu-prof. */
  nodeFlags?: string[];
  /** Every server line, for --verbose. */
  onLine?: (line: string) => void;
  /** Lines worth showing while it starts (image builds, engine status). */
  progress: (line: string) => void;
}

export interface Server {
  url: string;
  pid: number;
  /** Lines the server logged that look like failures, to show in the report. */
  problems: string[];
  /** SIGTERM (the server removes its containers, writes its last records); SIGKILL after 60 s. */
  stop(): Promise<Exit>;
}

/**
 * Starts `server/main.ts` as a child process, so the load generator never
 * shares the server's event loop, configured for the benchmark: its own data
 * folder and database, one engine, generous host limits. Resolves once the
 * server listens and the engine reported itself available.
 */
export async function startServer(options: ServerOptions): Promise<Server> {
  if (!existsSync(path.join(REPO_ROOT, "build/index.js"))) {
    throw new Error(
      "build/index.js is missing: run `npm run build` first (the server imports the Remix build)",
    );
  }
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    NODE_ENV: "production",
    // Required in production; random because nothing here outlives the run.
    SESSION_SECRET: randomBytes(32).toString("base64url"),
    BASE_URL: url,
    HOST: "127.0.0.1",
    PORT: String(port),
    DATA_DIR: options.dataDir,
    DATABASE_URL: options.databaseUrl,
    ENGINES: options.engine,
    POOL_GENERIC_PER_RUNTIME: String(options.genericPerRuntime),
    // Generous: the benchmark should measure the engine, not the budget's evictions.
    HOST_MAX_INSTANCES: "512",
    HOST_MAX_MEMORY_MB: String(64 * 1024),
    POOL_IDLE_TTL_SECONDS: "3600",
    POOL_QUEUE_TIMEOUT_MS: "30000",
    ...options.env,
  };
  const child = spawnTs("server/main.ts", [], env, options.nodeFlags);
  const tail = new LogTail();
  const problems: string[] = [];
  let engineProblem: string | undefined;
  let stopping = false;
  let listening: () => void = () => {};
  const listened = new Promise<void>((resolve) => {
    listening = resolve;
  });
  watchLines(child, (line) => {
    tail.push(line);
    options.onLine?.(line);
    if (/\b(fail|failed|error|refused|unavailable)\b/i.test(line)) problems.push(line);
    const status = new RegExp(`^\\[${options.engine}\\] (available|unavailable)`).exec(line);
    if (status?.[1] === "unavailable") engineProblem = line;
    if (!options.onLine && (status || /Building|Built|Removing/.test(line))) options.progress(line);
    if (line.startsWith("Cloudless is running at")) listening();
  });
  await new Promise<void>((resolve, reject) => {
    // A first start may build the runtime images: allow for it.
    const timer = setTimeout(
      () => reject(new Error(`The server did not start in 5 min:\n${tail.text()}`)),
      300_000,
    );
    let up = false;
    void listened.then(() => {
      up = true;
      clearTimeout(timer);
      resolve();
    });
    child.once("exit", (code, signal) => {
      clearTimeout(timer);
      if (stopping) return;
      const message = `The server exited (${code ?? signal}) unexpectedly:\n${tail.text()}`;
      // Before it listened this start fails with the message; after, the calls in progress fail.
      if (up) options.progress(message);
      else reject(new Error(message));
    });
  });
  if (engineProblem) {
    stopping = true;
    await terminate(child, 60_000);
    throw new Error(`The ${options.engine} engine is unavailable in the server: ${engineProblem}`);
  }
  return {
    url,
    pid: child.pid ?? 0,
    problems,
    stop: async () => {
      stopping = true;
      return terminate(child, 60_000);
    },
  };
}
