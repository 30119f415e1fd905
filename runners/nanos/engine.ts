import { createHash, randomBytes } from "node:crypto";
import { constants as fsConstants } from "node:fs";
import fs from "node:fs/promises";
import path from "node:path";
import type { RunnerConfig } from "../config";
import { transition } from "../instance-state";
import { LABELS } from "../labels";
import { guardVmNetwork, type NetworkGuardStatus, networkRefusal } from "../network-guard";
import {
  type Engine,
  type EngineStatus,
  EngineUnavailableError,
  type InstanceSpec,
  RUNTIMES,
  type RuntimeName,
} from "../types";
import { chooseAccel, kvmDeviceUsable } from "./accel";
import { locateNanos, type NanosTools, QEMU_HINT } from "./availability";
import { withFileLock } from "./file-lock";
import { ImageBuildError, type NanosImageBuilder } from "./image-builder";
import { AGENT_PORT, collectImageContent } from "./image-content";
import { consoleTail, NanosInstance } from "./instance";
import { reapLeftovers, writeVmState } from "./leftovers";
import { vmMemoryMb } from "./memory";
import { MkfsImageBuilder } from "./mkfs-builder";
import { OpsImageBuilder } from "./ops-builder";
import { PortAllocator } from "./ports";
import type { Accel, QemuProcess } from "./qemu";
import { SnapshotStore } from "./snapshot";
import { startVm, VmStartError } from "./vm";

interface RuntimeImage {
  path: string;
  hash: string;
  version: string;
}

/** A restore that takes longer than this is abandoned for a boot (it normally takes well under 1 s). */
const RESTORE_TIMEOUT_MS = 15_000;
/** The memory of the VMs that settle a new image and probe KVM. */
const SERVICE_VM_MB = 256;

/**
 * Functions in Nanos unikernels under qemu: one VM per instance, booted
 * from a per-runtime image (kernel, interpreter, libraries, stdlib, agent)
 * built once and cached by content hash, or restored from a saved generic
 * VM of the same image and memory size. The agent listens on TCP in the
 * guest, forwarded by qemu's user networking to a loopback port; without
 * `network` the guest can reach nothing else.
 */
export class NanosEngine implements Engine {
  readonly name = "nanos" as const;
  private state: EngineStatus = { available: false, reason: "Nanos engine not started yet" };
  private networkGuard: NetworkGuardStatus = { ok: false, reason: "not set up yet" };
  private tools?: NanosTools;
  private accel: Accel = "tcg";
  private readonly images = new Map<RuntimeName, RuntimeImage>();
  private readonly ports: PortAllocator;
  private snapshots?: SnapshotStore;
  private readonly instancesDir: string;
  private readonly live = new Set<NanosInstance>();
  private log: (line: string) => void = () => {};

  constructor(
    private readonly config: RunnerConfig,
    /** Tests replace the check that a port is free, to make qemu meet a taken one. */
    options: { isPortFree?: (port: number) => Promise<boolean> } = {},
  ) {
    this.instancesDir = path.join(config.dataDir, "instances", "nanos");
    this.ports = new PortAllocator(config.nanos.ports, options.isPortFree);
  }

  status(): EngineStatus {
    return this.state;
  }

  async start(progress: (line: string) => void = () => {}) {
    this.log = progress;
    const { killed } = await reapLeftovers(this.instancesDir);
    if (killed.length > 0) progress(`Stopped ${killed.length} VM(s) left by a previous run`);
    const located = await locateNanos(this.config.nanos);
    if (!located.ok) {
      this.state = { available: false, reason: located.reason };
      return;
    }
    const tools = located.tools;
    this.tools = tools;
    const builder: NanosImageBuilder =
      tools.builder.kind === "mkfs"
        ? new MkfsImageBuilder(tools.builder.path)
        : new OpsImageBuilder(tools.builder.path, this.config.nanos.opsDir);
    try {
      for (const runtime of RUNTIMES) {
        this.images.set(runtime, await this.ensureImage(runtime, builder, progress));
      }
    } catch (error) {
      this.state = {
        available: false,
        reason: `Could not build the Nanos runtime images: ${(error as Error).message}`,
      };
      return;
    }
    const choice = await chooseAccel(this.config.nanos.accel, {
      kvmDevice: () => kvmDeviceUsable(),
      probeBoot: () => this.probeKvm(),
    });
    if ("unavailable" in choice) {
      this.state = { available: false, reason: choice.unavailable };
      return;
    }
    this.accel = choice.accel;
    if (this.config.nanos.snapshots) {
      const machine = await machineSignature(tools.qemu, this.accel);
      this.snapshots = new SnapshotStore(
        path.join(this.config.nanos.cacheDir, "snapshots"),
        machine,
      );
      await this.snapshots.removeAllBut([...this.images.values()].map((i) => i.hash));
      await this.snapshots.removeAbandoned();
    }
    this.networkGuard = await guardVmNetwork(this.config.iptables);
    if (!this.networkGuard.ok) progress(networkRefusal(this.networkGuard.reason));
    const versions = [...this.images].map(([r, i]) => `${r} ${i.version}`).join(", ");
    this.state = {
      available: true,
      detail: `${tools.origin}; ${choice.detail}; images by ${builder.describe} (${versions})${this.snapshots ? "; snapshot restores" : ""}`,
    };
  }

  /** The runtime's image, built when its content hash has no image yet. */
  private async ensureImage(
    runtime: RuntimeName,
    builder: NanosImageBuilder,
    progress: (line: string) => void,
  ): Promise<RuntimeImage> {
    const tools = this.tools!;
    const { cacheDir } = this.config.nanos;
    const content = await collectImageContent(
      runtime,
      this.config.interpreters[runtime],
      cacheDir,
      tools,
      progress,
    );
    const imagesDir = path.join(cacheDir, "images");
    const file = path.join(imagesDir, `${runtime}-${content.hash.slice(0, 16)}.img`);
    const image = { path: file, hash: content.hash, version: content.version };
    if (await exists(file)) return image;
    await withFileLock(`${file}.lock`, async () => {
      if (await exists(file)) return; // built by another process meanwhile
      progress(
        `Building the ${runtime} ${content.version} Nanos image (${content.files.length} files)…`,
      );
      const started = Date.now();
      const tmp = `${file}.tmp-${process.pid}`;
      try {
        await builder.build(content, tools, tmp);
        await this.settle(tmp, runtime);
        await fs.rename(tmp, file);
      } finally {
        await fs.rm(tmp, { force: true });
      }
      progress(`Built ${path.basename(file)} in ${((Date.now() - started) / 1000).toFixed(1)} s`);
    });
    for (const name of await fs.readdir(imagesDir)) {
      // Earlier builds of this runtime; running VMs keep their open file.
      if (name.startsWith(`${runtime}-`) && name.endsWith(".img") && name !== path.basename(file)) {
        await fs.rm(path.join(imagesDir, name), { force: true });
      }
    }
    return image;
  }

  /**
   * Boots a new image once with its disk writable. Nanos writes to the file
   * system at the first boot of an image (it records /proc); done here, the
   * VMs that later share the image through throw-away overlays start from a
   * settled disk, and a saved VM state never refers to writes its restored
   * copies lack. It also proves the image boots: a bad kernel fails here.
   */
  private async settle(image: string, runtime: RuntimeName) {
    const dir = path.join(this.instancesDir, `settle-${runtime}-${randomBytes(3).toString("hex")}`);
    await fs.mkdir(dir, { recursive: true });
    try {
      const { vm } = await this.startService(dir, image, "tcg", "writable");
      await vm.monitorCommand("quit").catch(() => {});
      await Promise.race([vm.exited, sleep(5000)]);
      await vm.kill();
    } catch (error) {
      const log = await consoleTail(path.join(dir, "console.log"), 1500);
      throw new ImageBuildError(
        `the new ${runtime} image did not boot (${(error as Error).message})${log ? `; console:\n${log}` : ""}`,
      );
    } finally {
      await fs.rm(dir, { recursive: true, force: true });
    }
  }

  /** Whether the Python image boots under KVM (null) or what went wrong. */
  private async probeKvm(): Promise<string | null> {
    const image = this.images.get("python")!;
    const dir = path.join(this.instancesDir, `kvm-probe-${randomBytes(3).toString("hex")}`);
    await fs.mkdir(dir, { recursive: true });
    try {
      const { vm } = await this.startService(dir, image.path, "kvm", "overlay");
      await vm.kill();
      return null;
    } catch (error) {
      return (error as Error).message.split("\n")[0]!;
    } finally {
      await fs.rm(dir, { recursive: true, force: true });
    }
  }

  private async startService(
    dir: string,
    image: string,
    accel: Accel,
    disk: "writable" | "overlay",
  ) {
    const vm = await startVm(this.ports, {
      qemu: this.tools!.qemu,
      name: `cloudless-${this.config.ownerId.slice(0, 8)}-${path.basename(dir)}`,
      accel,
      memoryMb: SERVICE_VM_MB,
      image,
      disk,
      consoleLog: path.join(dir, "console.log"),
      monitorSocket: path.join(dir, "monitor.sock"),
      guestPort: AGENT_PORT,
      network: false,
      timeoutMs: Math.max(this.config.bootTimeoutMs, 60_000),
    });
    this.ports.release(vm.port);
    return vm;
  }

  async launch(spec: InstanceSpec): Promise<NanosInstance> {
    const image = this.images.get(spec.runtime);
    if (!this.state.available || !image || !this.tools) {
      throw new EngineUnavailableError(
        this.state.available ? `No ${spec.runtime} image` : this.state.reason,
      );
    }
    // qemu removed or broken since start (an upgrade in progress): a clear 503, and
    // not a failed restore, which would throw the saved VM away.
    await fs.access(this.tools.qemu, fsConstants.X_OK).catch((error: Error) => {
      throw new EngineUnavailableError(
        `qemu (${this.tools?.qemu}) is missing or not executable: ${error.message}. ${QEMU_HINT}`,
      );
    });
    if (spec.network && !this.networkGuard.ok) {
      throw new EngineUnavailableError(networkRefusal(this.networkGuard.reason));
    }
    const started = performance.now();
    const id = randomBytes(6).toString("hex");
    const dir = path.join(this.instancesDir, id);
    await fs.mkdir(dir, { recursive: true });
    const consoleLog = path.join(dir, "console.log");
    const name = `cloudless-${this.config.ownerId.slice(0, 8)}-${id}`;
    const memoryMb = vmMemoryMb(spec.memoryMb);
    const options = {
      qemu: this.tools.qemu,
      name,
      accel: this.accel,
      memoryMb,
      image: image.path,
      disk: "overlay" as const,
      consoleLog,
      monitorSocket: path.join(dir, "monitor.sock"),
      guestPort: AGENT_PORT,
      network: spec.network,
      onSpawn: (vm: QemuProcess, port: number) =>
        writeVmState(dir, {
          [LABELS.managed]: "true",
          [LABELS.owner]: this.config.ownerId,
          [LABELS.instanceId]: id,
          [LABELS.runtime]: spec.runtime,
          [LABELS.imageHash]: image.hash,
          pid: vm.pid ?? 0,
          name,
          port,
          startedAt: new Date().toISOString(),
        }),
    };
    try {
      let booted: { vm: QemuProcess; port: number } | undefined;
      let mode: "boot" | "restore" = "boot";
      const saved = await this.snapshots?.lookup(image.hash, memoryMb);
      if (saved) {
        try {
          booted = await startVm(this.ports, {
            ...options,
            incoming: saved,
            timeoutMs: Math.min(this.config.bootTimeoutMs, RESTORE_TIMEOUT_MS),
          });
          mode = "restore";
        } catch (error) {
          this.log(
            `Restoring ${spec.runtime} failed, booting instead: ${(error as Error).message}`,
          );
          if (error instanceof VmStartError) await this.snapshots?.discard(saved);
        }
      }
      if (!booted) {
        booted = await startVm(this.ports, { ...options, timeoutMs: this.config.bootTimeoutMs });
        await this.snapshots?.save(booted.vm, image.hash, memoryMb).then(
          (made) => made && this.log(`Saved a ${spec.runtime} ${memoryMb} MB VM for restores`),
          (error: Error) => this.log(`Could not save a ${spec.runtime} VM: ${error.message}`),
        );
      }
      const instance = new NanosInstance(
        id,
        spec.runtime,
        spec.memoryMb,
        spec.network,
        mode,
        booted.vm,
        booted.port,
        dir,
        consoleLog,
        this.ports,
      );
      instance.state = transition(instance.state, "booted");
      instance.bootMs = performance.now() - started;
      this.live.add(instance);
      void booted.vm.exited.then(() => this.live.delete(instance));
      return instance;
    } catch (error) {
      const log = await consoleTail(consoleLog, 2000);
      await fs.rm(dir, { recursive: true, force: true }).catch(() => {});
      throw new Error(
        `Nanos VM failed to start: ${(error as Error).message}${log ? `\n${log}` : ""}`,
      );
    }
  }

  async stop() {
    // The manager destroys what it holds; anything still running goes too.
    await Promise.all([...this.live].map((i) => i.destroy().catch(() => {})));
  }
}

/** Identifies the qemu build and accelerator a saved state can be loaded into. */
async function machineSignature(qemu: string, accel: Accel): Promise<string> {
  const stat = await fs.stat(await fs.realpath(qemu));
  return `${accel}-${createHash("sha256")
    .update(`${qemu}\0${stat.size}\0${stat.mtimeMs}\0machine-1`)
    .digest("hex")
    .slice(0, 8)}`;
}

async function exists(file: string) {
  return fs.access(file).then(
    () => true,
    () => false,
  );
}

function sleep(ms: number) {
  return new Promise((r) => setTimeout(r, ms));
}
