import fs from "node:fs";
import type { AddressInfo } from "node:net";
import os from "node:os";
import path from "node:path";
import { pathToFileURL } from "node:url";
import type { ServerBuild } from "@remix-run/node";
import { loadConfig } from "../../server/config/config";
import { createHttpServer } from "../../server/http/server";
import { type Services, startServices } from "../../server/services";
import { createTestDatabase } from "./database";

export interface TestApp {
  url: string;
  services: Services;
  close(): Promise<void>;
}

/**
 * The real server (HTTP, tRPC, Remix pages) on a random port, with its own
 * database. `env` overrides configuration, as environment variables would.
 */
export async function startTestApp(env: Record<string, string> = {}): Promise<TestApp> {
  const database = await createTestDatabase();
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), "cloudless-test-data-"));
  const config = loadConfig({
    NODE_ENV: "test",
    // No engines unless a test asks (ENGINES: "docker"): most tests do not run functions.
    ENGINES: "",
    DATA_DIR: dataDir,
    DATABASE_URL: database.url,
    PORT: "0",
    HOST: "127.0.0.1",
    ...env,
  });
  const services = await startServices(
    config,
    process.env.TEST_APP_LOG ? (line) => console.error(line) : () => {},
  );
  const build = (await import(pathToFileURL(path.resolve("build/index.js")).href)) as ServerBuild;
  const server = createHttpServer(services, build);
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    services,
    async close() {
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
      await services.close();
      await database.drop();
      fs.rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

/** Services only (no HTTP), for procedure-level tests through createCaller. */
export async function startTestServices(env: Record<string, string> = {}) {
  const database = await createTestDatabase();
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), "cloudless-test-data-"));
  const config = loadConfig({
    NODE_ENV: "test",
    // No engines unless a test asks (ENGINES: "docker"): most tests do not run functions.
    ENGINES: "",
    DATA_DIR: dataDir,
    DATABASE_URL: database.url,
    ...env,
  });
  const services = await startServices(
    config,
    process.env.TEST_APP_LOG ? (line) => console.error(line) : () => {},
  );
  return {
    services,
    async close() {
      await services.close();
      await database.drop();
      fs.rmSync(dataDir, { recursive: true, force: true });
    },
  };
}
