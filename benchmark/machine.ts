import { execFile } from "node:child_process";
import { readFile } from "node:fs/promises";
import os from "node:os";
import type { RunnerConfig } from "../runners/config";

/** The machine a run was measured on: figures mean little without it. */
export interface MachineInfo {
  cpuModel: string;
  cores: number;
  memoryGiB: number;
  /** `uname -r`. */
  kernel: string;
  /** PRETTY_NAME from /etc/os-release, else `uname -s`. */
  os: string;
  node: string;
  /** Versions of the tools the engines use; null when not installed. */
  python: string | null;
  docker: string | null;
  qemu: string | null;
  /** 1, 5 and 15 minute load averages before the first engine and after the last. */
  loadBefore: number[];
  loadAfter?: number[];
}

/** First line a command prints (stdout, else stderr), or null when it does not run. */
function firstLine(file: string, args: string[]): Promise<string | null> {
  return new Promise((resolve) => {
    execFile(file, args, { timeout: 10_000 }, (error, stdout, stderr) => {
      const line = `${stdout}${stderr}`.trim().split("\n")[0]?.trim();
      resolve(error || !line ? null : line);
    });
  });
}

async function osName(): Promise<string> {
  const release = await readFile("/etc/os-release", "utf8").catch(() => "");
  return /^PRETTY_NAME="?([^"\n]*)"?$/m.exec(release)?.[1] ?? os.type();
}

/** The interpreters and tools the server's engines use (its config), not whatever is first on PATH. */
export async function machineInfo(config: RunnerConfig): Promise<MachineInfo> {
  const [python, docker, qemu, osPretty] = await Promise.all([
    firstLine(config.interpreters.python, ["--version"]),
    // The engine's version, not the CLI's: that is what runs the containers.
    firstLine("docker", ["version", "--format", "{{.Server.Version}}"]),
    firstLine(config.nanos.qemu, ["--version"]),
    osName(),
  ]);
  const cpus = os.cpus();
  return {
    cpuModel: cpus[0]?.model.trim() || "unknown",
    cores: cpus.length,
    memoryGiB: Math.round((os.totalmem() / 1024 ** 3) * 10) / 10,
    kernel: os.release(),
    os: osPretty,
    node: process.version,
    python: python?.replace(/^Python\s+/i, "") ?? null,
    docker,
    qemu: qemu?.replace(/^QEMU emulator version\s+/i, "") ?? null,
    loadBefore: roundLoad(os.loadavg()),
  };
}

export function roundLoad(load: number[]): number[] {
  return load.map((l) => Math.round(l * 100) / 100);
}
