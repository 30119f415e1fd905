import { type ChildProcess, spawn, spawnSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import fs from "node:fs";
import path from "node:path";
import { renderNginxConfig } from "../server/cluster/nginx-config";
import { startEmbeddedDatabase } from "../server/db/embedded";
import { startEmbeddedS3 } from "../server/storage/embedded-s3";
import { type PrivateDockerd, startPrivateDockerd } from "./lib/private-dockerd";

/**
 * `npm run cluster`: several Cloudless nodes on this machine, as they would
 * run on several: one PostgreSQL and one S3-compatible store shared by all,
 * each node with a Docker engine of its own (a private dockerd: own data
 * root, exec root, pid file and socket), and nginx in front (config from
 * server/cluster/nginx-config.ts). Prints the balancer's URL; Ctrl-C or
 * SIGTERM stops everything it started, and only that.
 *
 * Settings (environment): CLUSTER_NODES (2), CLUSTER_PORT (8080, nginx),
 * CLUSTER_NODE_PORT (3101: nodes on 3101, 3102, …), CLUSTER_PG_PORT (54339),
 * CLUSTER_DIR (.data/cluster: database, code, each node's DATA_DIR),
 * CLUSTER_DOCKER_DIR (/var/lib/cloudless-cluster: the dockerds' images
 * and containers; short, since containerd's socket paths are limited).
 */
const REPO = path.resolve(import.meta.dirname, "..");
const nodeCount = Number(process.env.CLUSTER_NODES ?? 2);
const listenPort = Number(process.env.CLUSTER_PORT ?? 8080);
const firstNodePort = Number(process.env.CLUSTER_NODE_PORT ?? 3101);
const pgPort = Number(process.env.CLUSTER_PG_PORT ?? 54339);
const dir = path.resolve(process.env.CLUSTER_DIR ?? path.join(REPO, ".data/cluster"));
const dockerDir = process.env.CLUSTER_DOCKER_DIR ?? "/var/lib/cloudless-cluster";
const url = `http://localhost:${listenPort}`;

const log = (line: string) => console.log(`[cluster] ${line}`);
const stops: Array<{ name: string; stop: () => Promise<unknown> }> = [];
let stopping = false;

async function stopAll(code: number) {
  if (stopping) return;
  stopping = true;
  for (const { name, stop } of stops.reverse()) {
    log(`stopping ${name}`);
    await stop().catch((error: Error) => log(`  ${name}: ${error.message}`));
  }
  process.exit(code);
}
process.on("SIGINT", () => void stopAll(0));
process.on("SIGTERM", () => void stopAll(0));

function waitForExit(child: ChildProcess, timeoutMs: number) {
  return new Promise<void>((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) return resolve();
    const timer = setTimeout(() => {
      child.kill("SIGKILL");
    }, timeoutMs);
    child.once("exit", () => {
      clearTimeout(timer);
      resolve();
    });
  });
}

/** A node: `server/main.ts` as `npm start` runs it, with the cluster's shared settings. */
function startNode(index: number, env: Record<string, string>) {
  const port = firstNodePort + index;
  const name = `node-${index + 1}`;
  const out = fs.openSync(path.join(dir, `${name}.log`), "a");
  const child = spawn(process.execPath, ["--import", "tsx", "server/main.ts"], {
    cwd: REPO,
    env: {
      ...process.env,
      ...env,
      NODE_ENV: "production",
      HOST: "127.0.0.1",
      PORT: String(port),
      DATA_DIR: path.join(dir, name),
      NODE_ID: name,
      NODE_ADDRESS: `127.0.0.1:${port}`,
      // Each node's VMs get ports of their own on this shared host.
      NANOS_PORTS: `${20000 + index * 1000}-${20000 + index * 1000 + 999}`,
    },
    stdio: ["ignore", out, out],
  });
  fs.closeSync(out);
  stops.push({
    name,
    stop: async () => {
      child.kill("SIGTERM");
      await waitForExit(child, 60_000);
    },
  });
  child.once("exit", (code, signal) => {
    if (!stopping) log(`${name} exited (${code ?? signal}); see ${path.join(dir, `${name}.log`)}`);
  });
  return { name, port, child };
}

async function waitForHealth(port: number, child: ChildProcess, name: string) {
  const deadline = Date.now() + 10 * 60_000; // a first start builds the runtime images
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`${name} exited; see ${dir}/${name}.log`);
    const ok = await fetch(`http://127.0.0.1:${port}/health`).then(
      (r) => r.ok,
      () => false,
    );
    if (ok) return;
    await new Promise((r) => setTimeout(r, 500));
  }
  throw new Error(`${name} did not become healthy in 10 min; see ${dir}/${name}.log`);
}

async function main() {
  fs.mkdirSync(dir, { recursive: true });
  // The embedded PostgreSQL runs as user postgres when we are root: it must reach its folder.
  fs.chmodSync(dir, 0o755);
  const secretFile = path.join(dir, "session-secret");
  if (!fs.existsSync(secretFile))
    fs.writeFileSync(secretFile, randomBytes(32).toString("base64url"));
  const sessionSecret = fs.readFileSync(secretFile, "utf8").trim();

  log(`PostgreSQL on 127.0.0.1:${pgPort} (${dir}/pg)`);
  const database = await startEmbeddedDatabase({ dir: path.join(dir, "pg"), port: pgPort });
  stops.push({ name: "PostgreSQL", stop: () => database.stop() });
  const s3 = await startEmbeddedS3({ dir: path.join(dir, "s3"), bucket: "cloudless-code" });
  stops.push({ name: "S3", stop: () => s3.stop() });
  log(`S3-compatible store at ${s3.endpoint}`);

  const dockerds: PrivateDockerd[] = [];
  for (let i = 0; i < nodeCount; i++) {
    const name = `node-${i + 1}`;
    const dockerd = await startPrivateDockerd({ name, root: path.join(dockerDir, name) });
    stops.push({ name: `${name}'s dockerd`, stop: () => dockerd.stop() });
    dockerds.push(dockerd);
    log(`${name}'s Docker engine: ${dockerd.socketHost}`);
  }

  const shared = {
    DATABASE_URL: database.url,
    S3_ENDPOINT: s3.endpoint,
    AWS_ACCESS_KEY_ID: s3.accessKeyId,
    AWS_SECRET_ACCESS_KEY: s3.secretAccessKey,
    SESSION_SECRET: sessionSecret,
    BASE_URL: url,
    TRUST_PROXY: "1",
  };
  const nodes = dockerds.map((dockerd, i) =>
    startNode(i, { ...shared, DOCKER_HOST: dockerd.socketHost }),
  );
  log(`starting ${nodes.length} nodes (a first start builds each engine's runtime images)…`);
  await Promise.all(nodes.map((n) => waitForHealth(n.port, n.child, n.name)));
  for (const n of nodes) log(`${n.name} on 127.0.0.1:${n.port} (log: ${dir}/${n.name}.log)`);

  const runDir = path.join(dir, "nginx");
  fs.mkdirSync(runDir, { recursive: true });
  const confFile = path.join(dir, "nginx.conf");
  fs.writeFileSync(
    confFile,
    renderNginxConfig({
      nodes: nodes.map((n) => `127.0.0.1:${n.port}`),
      listen: String(listenPort),
      runDir,
      maxBodyBytes: 4 * 1024 * 1024,
    }),
  );
  const test = spawnSync("nginx", ["-t", "-c", confFile], { encoding: "utf8" });
  if (test.status !== 0) throw new Error(`nginx refused ${confFile}:\n${test.stderr}`);
  const nginx = spawn("nginx", ["-c", confFile, "-g", "daemon off;"], { stdio: "inherit" });
  stops.push({
    name: "nginx",
    stop: async () => {
      nginx.kill("SIGQUIT");
      await waitForExit(nginx, 10_000);
    },
  });
  log(`nginx (${confFile}) in front of ${nodes.length} nodes`);
  log("");
  log(`Cloudless cluster: ${url}   (Ctrl-C stops it all)`);
  log(`CLI and SDK: CLOUDLESS_URL=${url}; admin commands: DATABASE_URL=${database.url}`);
}

main().catch((error) => {
  console.error(`[cluster] ${(error as Error).message}`);
  void stopAll(1);
});
