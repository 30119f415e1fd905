import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { LABELS } from "../../runners/labels";
import { locateNanos } from "../../runners/nanos/availability";
import type { VmState } from "../../runners/nanos/leftovers";
import type { RuntimeName } from "../../runners/types";
import { sharedNanosDir } from "../../server/config/config";
import type { TestApp } from "./app";
import { type CallOptions, call, callOk, type Deployed, waitFor } from "./docker";
import type { TestUser } from "./functions";

// Helpers for the tests that run functions in real Nanos VMs under qemu.

/**
 * Images, the compiled Python stdlib and saved VMs, shared by every test
 * file and run: they are content-addressed (a changed agent or kernel makes
 * new ones) and guarded by lock files, so only the first file of the first
 * run pays for the builds.
 */
export const NANOS_TEST_CACHE = path.join(os.tmpdir(), "cloudless-nanos-test-cache");

/**
 * The Nanos toolchain the VM tests use: NANOS_KERNEL / NANOS_BOOT /
 * NANOS_MKFS (or NANOS_OPS, NANOS_QEMU) from the environment, else an ops
 * install in ~/.ops, else a Nanos build in NANOS_DIR (default: ../shared/nanos
 * beside the project, as the engine itself looks). `skip` says why the tests
 * cannot run here. With CI=true and a Nanos build present, a VM test that
 * cannot run is a failure, not a skip: CI must prove the engine.
 */
export async function findNanos(): Promise<{ env: Record<string, string>; skip?: string }> {
  const pass = [
    "NANOS_KERNEL",
    "NANOS_BOOT",
    "NANOS_MKFS",
    "NANOS_OPS",
    "NANOS_QEMU",
    "OPS_HOME",
    "NANOS_DIR",
  ];
  const env: Record<string, string> = {};
  for (const name of pass) if (process.env[name]) env[name] = process.env[name]!;
  const buildDir = env.NANOS_DIR ? path.resolve(env.NANOS_DIR) : sharedNanosDir();
  const located = await locateNanos({
    kernel: env.NANOS_KERNEL,
    boot: env.NANOS_BOOT,
    mkfs: env.NANOS_MKFS,
    ops: env.NANOS_OPS,
    qemu: env.NANOS_QEMU ?? "qemu-system-x86_64",
    opsDir: path.join(env.OPS_HOME ?? os.homedir(), ".ops"),
    buildDir,
  });
  if (located.ok) return { env };
  if (process.env.CI === "true" && buildDir) {
    throw new Error(
      `CI=true and a Nanos build is in ${buildDir}, but the Nanos VM tests cannot run: ${located.reason}`,
    );
  }
  return { env, skip: located.reason };
}

/** Prints the one line a skipped file owes its reader. */
export function reportSkip(file: string, reason: string | undefined) {
  if (reason) console.log(`Nanos VM tests in ${file} skipped: ${reason}`);
}

/** Per test: a few boots under TCG on two busy cores can take tens of seconds. */
export const VM_TEST_TIMEOUT_MS = 120_000;

/** The engine settings every Nanos test app shares; a file adds its own on top. */
export const NANOS_ENV = {
  ENGINES: "nanos",
  // Small VMs, and the size functions get by default in these tests, so the
  // generic stock (fixed-size VMs) serves them.
  POOL_GENERIC_MEMORY_MB: "64",
  // Boots take 1-7 s under TCG on two busy cores.
  BOOT_TIMEOUT_MS: "60000",
  NANOS_CACHE_DIR: NANOS_TEST_CACHE,
};

/** One call to the `/nanos` route. */
export function callNanos(
  app: TestApp,
  caller: Pick<TestUser, "key">,
  fn: Pick<Deployed, "userId" | "handler">,
  options: CallOptions = {},
) {
  return call(app, caller, fn, { engine: "nanos", ...options });
}

export function callNanosOk(
  app: TestApp,
  caller: Pick<TestUser, "key">,
  fn: Pick<Deployed, "userId" | "handler">,
  options: CallOptions = {},
) {
  return callOk(app, caller, fn, { engine: "nanos", ...options });
}

export interface Vm {
  id: string;
  pid: number;
  runtime: RuntimeName;
  port: number;
  dir: string;
}

/** This app's VMs, from their state files (DATA_DIR/instances/nanos/<id>/state.json). */
export function vmsOf(app: TestApp): Vm[] {
  const dir = path.join(app.services.config.runners.dataDir, "instances", "nanos");
  const vms: Vm[] = [];
  for (const id of fs.existsSync(dir) ? fs.readdirSync(dir) : []) {
    try {
      const state = JSON.parse(
        fs.readFileSync(path.join(dir, id, "state.json"), "utf8"),
      ) as VmState;
      vms.push({
        id: state[LABELS.instanceId],
        pid: state.pid,
        runtime: state[LABELS.runtime],
        port: state.port,
        dir: path.join(dir, id),
      });
    } catch {
      // a VM being set up (no state yet) or removed
    }
  }
  return vms;
}

/**
 * Whether a process still runs. A killed VM whose parent died (a crashed
 * server's) is re-parented to pid 1, and where pid 1 does not reap orphans it
 * stays a zombie: dead, but still answering kill(pid, 0).
 */
export function isAlive(pid: number) {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, "utf8");
    return stat.slice(stat.lastIndexOf(")") + 2)[0] !== "Z";
  } catch {
    return false;
  }
}

/** Waits for a VM's qemu to be gone and its folder removed. */
export function vmGone(vm: Vm) {
  return waitFor(`VM ${vm.id} (pid ${vm.pid}) to be removed`, () => {
    return !isAlive(vm.pid) && !fs.existsSync(vm.dir);
  });
}

/** The VM that appeared while `action` ran (the one a first call provisioned). */
export async function newVm<T>(app: TestApp, action: () => Promise<T>): Promise<[T, Vm]> {
  const before = new Set(vmsOf(app).map((v) => v.id));
  const result = await action();
  const added = vmsOf(app).filter((v) => !before.has(v.id));
  if (added.length !== 1) throw new Error(`Expected one new VM, found ${added.length}`);
  return [result, added[0]!];
}

/** Waits until the Nanos generic stock of a runtime holds `count` VMs. */
export function waitForNanosStock(app: TestApp, runtime: RuntimeName, count = 1) {
  return waitFor(
    `${count} generic ${runtime} VM(s)`,
    () => {
      const row = app.services.runners
        .stats()
        .instances.find((r) => r.engine === "nanos" && r.runtime === runtime);
      return (row?.generic ?? 0) >= count;
    },
    60_000,
  );
}

/** Kills what is left of these VMs (a test that failed half-way): only pids that are still their qemu. */
export function killVms(vms: Vm[]) {
  for (const vm of vms) {
    let cmdline = "";
    try {
      cmdline = fs.readFileSync(`/proc/${vm.pid}/cmdline`, "utf8");
    } catch {
      continue; // gone
    }
    if (cmdline.includes(vm.id)) process.kill(vm.pid, "SIGKILL");
  }
}
