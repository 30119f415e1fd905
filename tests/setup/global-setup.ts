import { execFileSync } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import PgBoss from "pg-boss";
import type { TestProject } from "vitest/node";
import { BOSS_SCHEMA, createQueues } from "../../server/async/queue";
import { startEmbeddedDatabase } from "../../server/db/embedded";
import { applyMigrations } from "../../server/db/migrate";
import { adminQuery, TEMPLATE_DATABASE } from "../helpers/database";

/**
 * Once per run: a PostgreSQL server (embedded in a temporary folder unless
 * DATABASE_URL names one), a template database with every migration applied
 * (each test file clones it, so files are isolated and fast), and a fresh
 * Remix build for the tests that serve pages.
 */
export default async function setup(project: TestProject) {
  let serverUrl = process.env.TEST_DATABASE_URL ?? process.env.DATABASE_URL;
  let stop: (() => Promise<void>) | undefined;
  if (!serverUrl) {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "cloudless-test-pg-"));
    fs.chmodSync(dir, 0o755);
    const port = 55000 + Math.floor(Math.random() * 5000);
    const db = await startEmbeddedDatabase({
      dir: path.join(dir, "data"),
      port,
      persistent: false,
    });
    serverUrl = db.url;
    stop = async () => {
      await db.stop();
      fs.rmSync(dir, { recursive: true, force: true });
    };
  }
  await adminQuery(serverUrl, `DROP DATABASE IF EXISTS ${TEMPLATE_DATABASE} WITH (FORCE)`);
  await adminQuery(serverUrl, `CREATE DATABASE ${TEMPLATE_DATABASE}`);
  const templateUrl = new URL(serverUrl);
  templateUrl.pathname = `/${TEMPLATE_DATABASE}`;
  await applyMigrations(templateUrl.toString());
  // pg-boss creates its schema at its first start; do it once here so each cloned database has it.
  const boss = new PgBoss({
    connectionString: templateUrl.toString(),
    schema: BOSS_SCHEMA,
    supervise: false,
    schedule: false,
  });
  await boss.start();
  await createQueues(boss);
  await boss.stop({ graceful: false, close: true, wait: true });
  project.provide("databaseServerUrl", serverUrl);

  if (!process.env.SKIP_REMIX_BUILD) {
    execFileSync("npx", ["remix", "build"], { stdio: "ignore" });
  }
  return async () => {
    await stop?.();
  };
}

declare module "vitest" {
  export interface ProvidedContext {
    databaseServerUrl: string;
  }
}
