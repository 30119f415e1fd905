import { type ChildProcess, spawn } from "node:child_process";
import net from "node:net";
import { VM_NETWORK_GID } from "../network-guard";

export type Accel = "kvm" | "tcg";

export interface QemuSpec {
  /** The qemu-system-x86_64 binary. */
  qemu: string;
  /** `-name`: also the marker a later process looks for in /proc/<pid>/cmdline before killing. */
  name: string;
  accel: Accel;
  memoryMb: number;
  image: string;
  /**
   * `overlay`: writes go to a throw-away overlay (`snapshot=on`), so VMs share
   * one image and each gets a writable /tmp; `writable`: the image itself
   * (the one boot that settles a new image).
   */
  disk: "overlay" | "writable";
  consoleLog: string;
  monitorSocket: string;
  /** Loopback port forwarded to the agent's port in the guest. */
  hostPort: number;
  guestPort: number;
  /**
   * Without it the guest can reach nothing but its forwarded port
   * (`restrict=on`). With it, qemu runs with VM_NETWORK_GID, the group the
   * host's firewall rules for network-enabled VMs match (network-guard.ts).
   */
  network: boolean;
  /** A saved VM state to restore instead of booting. */
  incoming?: string;
}

/**
 * The command line of one VM. Built from the measured recipe in the Nanos
 * notes: q35, virtio-scsi disk, virtio-net with user networking and one
 * hostfwd rule, serial console to a file, HMP monitor on a unix socket.
 * `isa-debug-exit` makes qemu exit with (code << 1) | 1 when the guest's
 * program exits, so a crash shows its exit code.
 */
export function qemuArgs(spec: QemuSpec): string[] {
  const drive = [`file=${spec.image}`, "format=raw", "if=none", "id=hd0"];
  if (spec.disk === "overlay") drive.push("snapshot=on");
  const netdev = [
    "user",
    "id=n0",
    `restrict=${spec.network ? "off" : "on"}`,
    // IPv4 only: the firewall rules that keep the guest off the host's own services are IPv4 rules.
    "ipv6=off",
    `hostfwd=tcp:127.0.0.1:${spec.hostPort}-:${spec.guestPort}`,
  ];
  const args = [
    "-name",
    spec.name,
    "-machine",
    "q35",
    "-accel",
    spec.accel,
    "-cpu",
    spec.accel === "kvm" ? "host" : "max",
    "-m",
    String(spec.memoryMb),
    "-nodefaults",
    "-display",
    "none",
    "-no-reboot",
    "-serial",
    `file:${spec.consoleLog}`,
    "-monitor",
    `unix:${spec.monitorSocket},server,nowait`,
    "-device",
    "virtio-scsi-pci,id=scsi0",
    "-device",
    "scsi-hd,bus=scsi0.0,drive=hd0",
    "-drive",
    drive.join(","),
    // romfile= skips the iPXE option ROM: nothing here boots from the network.
    "-device",
    "virtio-net-pci,netdev=n0,romfile=",
    "-netdev",
    netdev.join(","),
    "-device",
    "isa-debug-exit",
  ];
  if (spec.incoming) args.push("-incoming", `exec:cat ${shellQuote(spec.incoming)}`);
  return args;
}

/** qemu runs `exec:` migration targets through /bin/sh -c. */
export function shellQuote(value: string): string {
  if (value.includes("'")) throw new Error(`Cannot quote a path with a single quote: ${value}`);
  return `'${value}'`;
}

/** qemu could not listen on the forwarded port: another process holds it. */
export class PortTakenError extends Error {}

const HOSTFWD_FAILED = /Could not set up host forwarding rule/i;

/** One running qemu process: its exit, the end of its stderr, and its monitor. */
export class QemuProcess {
  readonly child: ChildProcess;
  private stderrTail = "";
  exit: { code: number | null; signal: NodeJS.Signals | null } | null = null;
  readonly exited: Promise<void>;
  private monitor?: Monitor;

  constructor(
    readonly spec: QemuSpec,
    readonly startedAt = performance.now(),
  ) {
    this.child = spawn(spec.qemu, qemuArgs(spec), {
      stdio: ["ignore", "ignore", "pipe"],
      ...(spec.network ? { gid: VM_NETWORK_GID } : {}),
    });
    this.child.stderr?.on("data", (c: Buffer) => {
      this.stderrTail = (this.stderrTail + c.toString()).slice(-4000);
    });
    this.exited = new Promise((resolve) => {
      this.child.once("error", (error) => {
        this.stderrTail += error.message;
        this.exit ??= { code: null, signal: null };
        resolve();
      });
      this.child.once("exit", (code, signal) => {
        this.exit = { code, signal };
        resolve();
      });
    });
  }

  get pid() {
    return this.child.pid;
  }

  get running() {
    return this.exit === null;
  }

  get stderr() {
    return this.stderrTail.trim();
  }

  /** Whether qemu exited because the forwarded port was taken. */
  get portTaken() {
    return !this.running && HOSTFWD_FAILED.test(this.stderrTail);
  }

  /** The guest program's exit code, when qemu exited through isa-debug-exit; 137 when killed. */
  get guestExitCode(): number | undefined {
    if (!this.exit) return undefined;
    if (this.exit.signal === "SIGKILL") return 137;
    const code = this.exit.code;
    if (code !== null && code % 2 === 1) return (code - 1) / 2;
    return code ?? undefined;
  }

  async monitorCommand(command: string, timeoutMs = 5000): Promise<string> {
    this.monitor ??= new Monitor(this.spec.monitorSocket);
    return this.monitor.command(command, timeoutMs);
  }

  /** Kills qemu at once (the guest has nothing to save) and waits for it to go. */
  async kill() {
    this.monitor?.close();
    if (this.running) this.child.kill("SIGKILL");
    await this.exited;
  }
}

/**
 * qemu's human monitor (HMP) over its unix socket: one command at a time,
 * each answer read up to the next `(qemu) ` prompt.
 */
export class Monitor {
  private socket?: net.Socket;
  private buffer = "";
  private queue: Promise<unknown> = Promise.resolve();
  private waiter?: () => void;

  constructor(private readonly path: string) {}

  command(command: string, timeoutMs = 5000): Promise<string> {
    const result = this.queue.then(() => this.send(command, timeoutMs));
    this.queue = result.catch(() => {});
    return result;
  }

  private async connect(deadline: number) {
    for (;;) {
      try {
        const socket = await new Promise<net.Socket>((resolve, reject) => {
          const s = net.createConnection(this.path);
          s.once("connect", () => resolve(s));
          s.once("error", reject);
        });
        socket.setEncoding("utf8");
        socket.on("data", (chunk: string) => {
          this.buffer += chunk;
          this.waiter?.();
        });
        socket.on("error", () => {});
        socket.on("close", () => {
          this.socket = undefined;
          this.waiter?.();
        });
        this.socket = socket;
        await this.untilPrompt(deadline);
        return;
      } catch (error) {
        // qemu creates the socket a moment after it starts.
        if (Date.now() > deadline) throw error;
        await new Promise((r) => setTimeout(r, 10));
      }
    }
  }

  private async untilPrompt(deadline: number): Promise<string> {
    while (!this.buffer.endsWith("(qemu) ")) {
      if (!this.socket) throw new Error("qemu monitor closed");
      const left = deadline - Date.now();
      if (left <= 0) throw new Error("qemu monitor did not answer in time");
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, left);
        this.waiter = () => {
          clearTimeout(timer);
          resolve();
        };
      });
      this.waiter = undefined;
    }
    const text = this.buffer;
    this.buffer = "";
    return text;
  }

  private async send(command: string, timeoutMs: number): Promise<string> {
    const deadline = Date.now() + timeoutMs;
    if (!this.socket) await this.connect(deadline);
    this.socket!.write(`${command}\n`);
    const raw = await this.untilPrompt(deadline);
    // The monitor echoes the command with terminal escapes; keep the answer lines.
    return raw
      .replace(/\r/g, "")
      .split("\n")
      .filter((l) => l && !l.startsWith("(qemu)") && !l.includes("\x1b") && l !== command)
      .join("\n");
  }

  close() {
    this.socket?.destroy();
    this.socket = undefined;
  }
}
