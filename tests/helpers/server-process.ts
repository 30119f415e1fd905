import { type ChildProcess, spawn } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { loadConfig } from "../../server/config/config";
import { freePort } from "./ports";

/** A real `server/main.ts` process (as `npm start` runs it), for restarts, SIGKILL and multi-process tests. */
export interface ServerProcess {
  url: string;
  dataDir: string;
  /** The owner label of its instances (for cleanup of what a killed process left). */
  ownerId: string;
  output(): string;
  kill(signal: NodeJS.Signals): Promise<void>;
}

export async function startServerProcess(
  env: Record<string, string>,
  /** port: a fixed one (a node restarted where the balancer expects it); default a free one. */
  options: { dataDir?: string; timeoutMs?: number; port?: number } = {},
): Promise<ServerProcess> {
  const dataDir = options.dataDir ?? fs.mkdtempSync(path.join(os.tmpdir(), "cloudless-test-proc-"));
  const port = options.port || (await freePort());
  const fullEnv: Record<string, string> = {
    PATH: process.env.PATH ?? "",
    HOME: process.env.HOME ?? "/root",
    NODE_ENV: "test",
    HOST: "127.0.0.1",
    PORT: String(port),
    DATA_DIR: dataDir,
    ...env,
  };
  // Before the spawn: it also writes the session secret the process then reads.
  const ownerId = loadConfig(fullEnv).runners.ownerId;
  const child: ChildProcess = spawn(process.execPath, ["--import", "tsx", "server/main.ts"], {
    env: fullEnv as NodeJS.ProcessEnv,
    stdio: ["ignore", "pipe", "pipe"],
  });
  let output = "";
  child.stdout!.on("data", (d) => {
    output += d;
  });
  child.stderr!.on("data", (d) => {
    output += d;
  });
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(
      () => reject(new Error(`Server did not start in time:\n${output}`)),
      options.timeoutMs ?? 90_000,
    );
    const check = () => {
      if (output.includes("Cloudless is running")) {
        clearTimeout(timer);
        resolve();
      }
    };
    child.stdout!.on("data", check);
    child.once("exit", (code) => {
      clearTimeout(timer);
      reject(new Error(`Server exited (${code}) before it started:\n${output}`));
    });
  });
  return {
    url: `http://127.0.0.1:${port}`,
    dataDir,
    ownerId,
    output: () => output,
    async kill(signal) {
      if (child.exitCode === null && child.signalCode === null) child.kill(signal);
      await exited;
    },
  };
}
