import { execFile } from "node:child_process";
import type { Config } from "../config/config";
import type { RuntimeName } from "./schemas";

const cache = new Map<string, Promise<string | null>>();

/**
 * The version of an interpreter, e.g. "3.11.2", or null when it does not run.
 * Asked once per process: the binary does not change under a running server.
 */
export function interpreterVersion(bin: string): Promise<string | null> {
  let version = cache.get(bin);
  if (!version) {
    version = new Promise((resolve) => {
      const env = { PATH: process.env.PATH ?? "" } as unknown as NodeJS.ProcessEnv;
      execFile(bin, ["--version"], { timeout: 5_000, env }, (error, stdout, stderr) => {
        resolve(error ? null : (/(\d+\.\d+\.\d+)/.exec(`${stdout}${stderr}`)?.[1] ?? null));
      });
    });
    cache.set(bin, version);
  }
  return version;
}

/**
 * The version each runtime is pinned to: the runtime images are built from the
 * host's interpreters, the same ones that check uploads. A runtime pointed at
 * a custom image (RUNTIME_IMAGE_*) runs whatever that image holds: null.
 */
export async function runtimeVersions(config: Config): Promise<Record<RuntimeName, string | null>> {
  const custom = config.runners.customImages;
  const [python, node] = await Promise.all([
    custom.python ? null : interpreterVersion(config.functions.pythonBin),
    custom.node ? null : interpreterVersion(config.functions.nodeBin),
  ]);
  return { python, node };
}
