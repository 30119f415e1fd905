import fs from "node:fs/promises";
import http from "node:http";
import os from "node:os";
import path from "node:path";
import { LABELS } from "../../runners/labels";
import { NanosAgentClient } from "../../runners/nanos/agent-client";
import { AGENT_PORT } from "../../runners/nanos/image-content";
import { reapLeftovers, STATE_FILE, type VmState } from "../../runners/nanos/leftovers";
import { PortAllocator } from "../../runners/nanos/ports";
import { startVm } from "../../runners/nanos/vm";
import type { RuntimeName } from "../../runners/types";
import type { EngineBench, EngineContext, InstanceView } from "./index";

interface VmView extends InstanceView {
  pid: number;
  port: number;
  imageHash: string;
}

/** Clock ticks per second of /proc/<pid>/stat times (USER_HZ, 100 on Linux). */
const TICKS = 100;

/**
 * The Nanos engine seen from outside the server: its VMs from their state
 * files (DATA_DIR/instances/nanos/<id>/state.json), the agents' /health on
 * their forwarded loopback ports, a VM's memory and CPU as its qemu
 * process's on the host (/proc), and, as the naive baseline, a VM booted
 * from the runtime image for each call. The server's NANOS_* settings come
 * from the environment the benchmark passes on to it.
 */
export class NanosBench implements EngineBench {
  readonly name = "nanos" as const;
  private readonly ports = new PortAllocator({ min: 30000, max: 30999 });

  constructor(private readonly context: EngineContext) {}

  private get instancesDir() {
    return path.join(this.context.dataDir, "instances", "nanos");
  }

  async instances(runtime: RuntimeName): Promise<VmView[]> {
    const names = await fs.readdir(this.instancesDir).catch(() => [] as string[]);
    const views: VmView[] = [];
    for (const name of names) {
      const state = await fs
        .readFile(path.join(this.instancesDir, name, STATE_FILE), "utf8")
        .then((text) => JSON.parse(text) as VmState)
        .catch(() => null);
      if (!state || state[LABELS.runtime] !== runtime || !(await running(state.pid))) continue;
      views.push({
        id: state[LABELS.instanceId],
        runtime,
        pid: state.pid,
        port: state.port,
        imageHash: state[LABELS.imageHash],
        state: await agentState(state.port),
      });
    }
    return views;
  }

  async cpuMs(runtime: RuntimeName): Promise<Map<string, number>> {
    const vms = await this.instances(runtime);
    const entries = await Promise.all(
      vms.map(async (vm) => {
        const stat = await fs.readFile(`/proc/${vm.pid}/stat`, "utf8").catch(() => "");
        const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
        // utime and stime: fields 14 and 15 of the line, 12 and 13 after the name.
        const ticks = Number(fields[11] ?? 0) + Number(fields[12] ?? 0);
        return [vm.id, (ticks * 1000) / TICKS] as const;
      }),
    );
    return new Map(entries);
  }

  /** The qemu process's resident memory: what the VM costs the host. */
  async memoryMiB(instance: InstanceView): Promise<number> {
    const status = await fs.readFile(`/proc/${(instance as VmView).pid}/status`, "utf8");
    return Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? 0) / 1024;
  }

  private async image(runtime: RuntimeName): Promise<string> {
    const [vm] = await this.instances(runtime);
    if (!vm) throw new Error(`No running ${runtime} VM to take the runtime image from`);
    const cache = process.env.NANOS_CACHE_DIR ?? path.join(this.context.dataDir, "nanos");
    return path.join(cache, "images", `${runtime}-${vm.imageHash.slice(0, 16)}.img`);
  }

  async naiveCommand(runtime: RuntimeName): Promise<string> {
    return `qemu-system-x86_64 -m 128 … ${path.basename(await this.image(runtime))} (boot, /init the one-liner as a script, /run, kill)`;
  }

  /** Boots a VM from the runtime image (no saved state), runs the code once as a script, kills it. */
  async naiveRun(runtime: RuntimeName, code: string, expected: string): Promise<number> {
    const image = await this.image(runtime);
    const dir = await fs.mkdtemp(path.join(os.tmpdir(), "cloudless-bench-nanos-"));
    const started = performance.now();
    const { vm, port } = await startVm(this.ports, {
      qemu: process.env.NANOS_QEMU ?? "qemu-system-x86_64",
      name: `cloudless-${this.context.ownerId.slice(0, 8)}-baseline`,
      accel: process.env.NANOS_ACCEL === "kvm" ? "kvm" : "tcg",
      memoryMb: 128,
      image,
      disk: "overlay",
      consoleLog: path.join(dir, "console.log"),
      monitorSocket: path.join(dir, "monitor.sock"),
      guestPort: AGENT_PORT,
      network: false,
      timeoutMs: 60_000,
    });
    const agent = new NanosAgentClient({ host: "127.0.0.1", port });
    try {
      const moduleFile = runtime === "python" ? "naive.py" : "naive.js";
      await agent.request("POST", "/init", {
        style: "script",
        handler: "naive.main",
        moduleFile,
        code,
      });
      const run = await agent.request<{ stdout: string }>("POST", "/run", { args: [] });
      const ms = performance.now() - started;
      if (run.body.stdout.trim() !== expected) {
        throw new Error(
          `The baseline printed ${JSON.stringify(run.body.stdout)}, expected ${expected}`,
        );
      }
      return ms;
    } finally {
      agent.close();
      await vm.kill();
      this.ports.release(port);
      await fs.rm(dir, { recursive: true, force: true });
    }
  }

  async removeLeftovers(): Promise<number> {
    return (await reapLeftovers(this.instancesDir)).killed.length;
  }
}

async function running(pid: number): Promise<boolean> {
  const stat = await fs.readFile(`/proc/${pid}/stat`, "utf8").catch(() => null);
  return stat !== null && stat.slice(stat.lastIndexOf(")") + 2)[0] !== "Z";
}

/** The agent's /health on a connection of its own, so it never queues behind the server's. */
function agentState(port: number): Promise<InstanceView["state"]> {
  return new Promise((resolve) => {
    const req = http.get(
      { host: "127.0.0.1", port, path: "/health", agent: false, timeout: 1000 },
      (res) => {
        const chunks: Buffer[] = [];
        res.on("data", (c: Buffer) => chunks.push(c));
        res.on("end", () => {
          try {
            const { state } = JSON.parse(Buffer.concat(chunks).toString("utf8")) as {
              state?: string;
            };
            resolve(
              state === "generic" || state === "ready" || state === "failed"
                ? state
                : "unreachable",
            );
          } catch {
            resolve("unreachable");
          }
        });
        res.on("error", () => resolve("unreachable"));
      },
    );
    req.on("timeout", () => req.destroy());
    req.on("error", () => resolve("unreachable"));
  });
}
