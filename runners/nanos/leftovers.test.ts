import { type ChildProcess, spawn } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { LABELS } from "../labels";
import { reapLeftovers, type VmState, writeVmState } from "./leftovers";

const ROOT = fs.mkdtempSync(path.join(os.tmpdir(), "cloudless-nanos-reap-"));
const children: ChildProcess[] = [];
afterAll(() => {
  for (const child of children) child.kill("SIGKILL");
  fs.rmSync(ROOT, { recursive: true, force: true });
});

/** A long-lived process whose command line carries `-name <name>`, like a VM's qemu. */
function fakeQemu(name: string): ChildProcess {
  const child = spawn(process.execPath, ["-e", "setInterval(() => {}, 1e6)", "--", "-name", name], {
    stdio: "ignore",
  });
  children.push(child);
  return child;
}

function exited(child: ChildProcess) {
  return new Promise<void>((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) resolve();
    else child.once("exit", () => resolve());
  });
}

async function leaveVm(dir: string, id: string, pid: number, name: string) {
  const folder = path.join(dir, id);
  fs.mkdirSync(folder, { recursive: true });
  fs.writeFileSync(path.join(folder, "console.log"), "booted\n");
  const state: VmState = {
    [LABELS.managed]: "true",
    [LABELS.owner]: "owner-1",
    [LABELS.instanceId]: id,
    [LABELS.runtime]: "python",
    [LABELS.imageHash]: "abc",
    pid,
    name,
    port: 20001,
    startedAt: new Date().toISOString(),
  };
  await writeVmState(folder, state);
}

describe("reapLeftovers", () => {
  it("kills a left VM whose pid is still its qemu, and removes every folder", async () => {
    const dir = path.join(ROOT, "instances", "nanos");
    const vm = fakeQemu("cloudless-owner-1-aaa");
    await leaveVm(dir, "aaa", vm.pid!, "cloudless-owner-1-aaa");
    // A pid reused by an unrelated process: its command line lacks the marker.
    const stranger = fakeQemu("something-else");
    await leaveVm(dir, "bbb", stranger.pid!, "cloudless-owner-1-bbb");
    // A VM that is already gone, and a folder without a readable state file.
    await leaveVm(dir, "ccc", 2 ** 22 + 12345, "cloudless-owner-1-ccc");
    fs.mkdirSync(path.join(dir, "ddd"));
    fs.writeFileSync(path.join(dir, "ddd", "state.json"), "{ not json");

    const result = await reapLeftovers(dir);
    expect(result.killed).toEqual([vm.pid]);
    expect(result.removed.sort()).toEqual(["aaa", "bbb", "ccc", "ddd"]);
    await exited(vm);
    expect(vm.signalCode).toBe("SIGKILL");
    expect(stranger.exitCode).toBeNull();
    expect(stranger.signalCode).toBeNull();
    expect(fs.readdirSync(dir)).toEqual([]);
  });

  it("is a no-op for a folder that does not exist yet", async () => {
    expect(await reapLeftovers(path.join(ROOT, "never-made"))).toEqual({ killed: [], removed: [] });
  });
});
