import fs from "node:fs/promises";
import path from "node:path";
import { LABELS } from "../labels";
import type { RuntimeName } from "../types";

/** What each VM's folder records (state.json): the labels, and how to find its qemu process. */
export interface VmState {
  [LABELS.managed]: "true";
  [LABELS.owner]: string;
  [LABELS.instanceId]: string;
  [LABELS.runtime]: RuntimeName;
  [LABELS.imageHash]: string;
  pid: number;
  /** qemu's `-name`, which /proc/<pid>/cmdline must contain before the pid is killed. */
  name: string;
  port: number;
  startedAt: string;
}

export const STATE_FILE = "state.json";

export async function writeVmState(dir: string, state: VmState) {
  const tmp = path.join(dir, `${STATE_FILE}.tmp`);
  await fs.writeFile(tmp, `${JSON.stringify(state, null, 2)}\n`);
  await fs.rename(tmp, path.join(dir, STATE_FILE));
}

/**
 * Kills the VMs a previous process left (it crashed or was killed) and
 * removes their folders. A pid is only killed when /proc/<pid>/cmdline is
 * still that VM's qemu (its `-name` marker): after a reboot or a long time
 * the number may belong to something else.
 */
export async function reapLeftovers(
  instancesDir: string,
  options: { procRoot?: string; kill?: (pid: number) => void } = {},
): Promise<{ killed: number[]; removed: string[] }> {
  const procRoot = options.procRoot ?? "/proc";
  const kill = options.kill ?? ((pid: number) => process.kill(pid, "SIGKILL"));
  const killed: number[] = [];
  const removed: string[] = [];
  const entries = await fs.readdir(instancesDir, { withFileTypes: true }).catch(() => []);
  for (const entry of entries) {
    if (!entry.isDirectory()) continue;
    const dir = path.join(instancesDir, entry.name);
    const state = await readState(dir);
    if (state && (await isOurQemu(procRoot, state))) {
      try {
        kill(state.pid);
        killed.push(state.pid);
      } catch {
        // gone between the check and the kill
      }
    }
    await fs.rm(dir, { recursive: true, force: true });
    removed.push(entry.name);
  }
  return { killed, removed };
}

async function readState(dir: string): Promise<VmState | null> {
  try {
    const state = JSON.parse(await fs.readFile(path.join(dir, STATE_FILE), "utf8")) as VmState;
    if (state[LABELS.managed] !== "true" || !Number.isInteger(state.pid) || !state.name)
      return null;
    return state;
  } catch {
    return null;
  }
}

async function isOurQemu(procRoot: string, state: VmState): Promise<boolean> {
  const cmdline = await fs
    .readFile(path.join(procRoot, String(state.pid), "cmdline"))
    .catch(() => null);
  if (!cmdline) return false;
  const args = cmdline.toString("utf8").split("\0");
  const at = args.indexOf("-name");
  return at >= 0 && args[at + 1] === state.name;
}
