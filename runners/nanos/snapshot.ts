import { randomBytes } from "node:crypto";
import fs from "node:fs/promises";
import path from "node:path";
import { tryFileLock } from "./file-lock";
import { type QemuProcess, shellQuote } from "./qemu";

/**
 * Saved states of generic VMs (agent ready, no code), one per image, memory
 * size and machine: a restore keeps the saved guest's RAM size, and a state
 * only loads into the same qemu with the same devices, hence `machine` (the
 * accelerator and qemu's identity) in the name. Made lazily: the first VM
 * booted for a size is saved right after its agent answers, then resumed
 * and used like any other, so a snapshot costs a pause of a few hundred
 * milliseconds rather than a boot of its own.
 */
export class SnapshotStore {
  private readonly failed = new Set<string>();

  constructor(
    private readonly dir: string,
    private readonly machine: string,
  ) {}

  file(imageHash: string, memoryMb: number): string {
    return path.join(this.dir, `${imageHash.slice(0, 16)}-${memoryMb}m-${this.machine}.vmstate`);
  }

  /** The saved state for this image and size, if one was made. */
  async lookup(imageHash: string, memoryMb: number): Promise<string | null> {
    const file = this.file(imageHash, memoryMb);
    return (await fs.stat(file).catch(() => null))?.isFile() ? file : null;
  }

  /**
   * Saves a freshly booted generic VM: `stop`, then `migrate` to a file
   * through `cat` (the file appears, by rename, only once complete), then
   * `cont`. false when a state exists or another process is saving one.
   */
  async save(vm: QemuProcess, imageHash: string, memoryMb: number): Promise<boolean> {
    const file = this.file(imageHash, memoryMb);
    if (this.failed.has(file) || (await this.lookup(imageHash, memoryMb))) return false;
    await fs.mkdir(this.dir, { recursive: true });
    const saved = await tryFileLock(`${file}.lock`, async () => {
      if (await this.lookup(imageHash, memoryMb)) return false;
      const tmp = `${file}.tmp-${randomBytes(4).toString("hex")}`;
      const target = `cat > ${shellQuote(tmp)} && mv ${shellQuote(tmp)} ${shellQuote(file)}`;
      await vm.monitorCommand("stop");
      try {
        // -d: plain `migrate` holds the monitor on a one-second progress timer.
        await vm.monitorCommand(`migrate -d "exec:${target}"`);
        const deadline = Date.now() + 60_000;
        for (;;) {
          const info = await vm.monitorCommand("info migrate");
          if (/Migration status: completed/.test(info)) break;
          if (/Migration status: (failed|cancelled)/.test(info) || Date.now() > deadline) {
            throw new Error(`Saving the VM failed: ${info.split("\n").slice(0, 3).join(" ")}`);
          }
          await sleep(10);
        }
        // qemu is done writing; the shell renames once cat has flushed.
        while (!(await this.lookup(imageHash, memoryMb))) {
          if (Date.now() > deadline) throw new Error("The saved VM state never appeared");
          await sleep(5);
        }
        return true;
      } catch (error) {
        // One try per process: a machine that cannot save keeps booting instead.
        this.failed.add(file);
        await fs.rm(tmp, { force: true });
        throw error;
      } finally {
        await vm.monitorCommand("cont");
      }
    });
    return saved === true;
  }

  /** A state that failed to restore is removed; the next boot saves a new one. */
  async discard(file: string) {
    await fs.rm(file, { force: true });
  }

  /**
   * Half-written states (`*.vmstate.tmp-*`) that a killed process left: a
   * save in progress holds the state's lock, so only those whose lock is free
   * are removed. Returns how many.
   */
  async removeAbandoned(): Promise<number> {
    const names = await fs.readdir(this.dir).catch(() => [] as string[]);
    let removed = 0;
    for (const name of names) {
      const match = /^(.+\.vmstate)\.tmp-[0-9a-f]+$/.exec(name);
      if (!match) continue;
      const done = await tryFileLock(path.join(this.dir, `${match[1]}.lock`), async () => {
        await fs.rm(path.join(this.dir, name), { force: true });
        return true;
      });
      if (done) removed += 1;
    }
    return removed;
  }

  /** States of images other than these (rebuilt since) are dead weight. */
  async removeAllBut(imageHashes: string[]) {
    const keep = imageHashes.map((h) => h.slice(0, 16));
    const names = await fs.readdir(this.dir).catch(() => [] as string[]);
    for (const name of names) {
      if (!name.endsWith(".vmstate") || keep.some((k) => name.startsWith(`${k}-`))) continue;
      await fs.rm(path.join(this.dir, name), { force: true });
    }
  }
}

function sleep(ms: number) {
  return new Promise((r) => setTimeout(r, ms));
}
