import path from "node:path";
import { pathToFileURL } from "node:url";
import type { ServerBuild } from "@remix-run/node";
import { loadConfig } from "./config/config";
import { ConfigError } from "./config/env";
import { createHttpServer } from "./http/server";
import { startServices } from "./services";

/** Entry point: config → services → HTTP. Shuts down cleanly on SIGINT/SIGTERM. */
async function main() {
  const config = loadConfig();
  const services = await startServices(config);
  const build = (await import(pathToFileURL(path.resolve("build/index.js")).href)) as ServerBuild;
  const server = createHttpServer(services, build);
  server.listen(config.port, config.host, () => {
    const shown = config.baseUrl ?? `http://localhost:${config.port}`;
    console.log(`Cloudless is running at ${shown}`);
    if (services.mailer.kind === "outbox") {
      console.log(`Email is not configured: messages appear at ${shown}/dev/outbox`);
    }
  });

  let stopping = false;
  const stop = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    console.log(`${signal}: shutting down`);
    // Draining: /health answers 503 and new calls are refused (a balancer passes
    // them on); calls in progress finish, then instances go and records are written.
    await services.drain();
    server.close();
    server.closeIdleConnections();
    await services.close();
    process.exit(0);
  };
  process.on("SIGINT", () => void stop("SIGINT"));
  process.on("SIGTERM", () => void stop("SIGTERM"));
}

main().catch((error) => {
  console.error(error instanceof ConfigError ? error.message : error);
  process.exit(1);
});
