import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { INSTALL_HINT, locateNanos, type NanosToolSettings, QEMU_HINT } from "./availability";

// Fake toolchains in temporary folders: the checks read files and run the
// mkfs candidates, so small stand-ins are enough.

const ROOT = fs.mkdtempSync(path.join(os.tmpdir(), "cloudless-nanos-avail-"));
afterAll(() => fs.rmSync(ROOT, { recursive: true, force: true }));
let n = 0;

function script(file: string, body: string) {
  fs.mkdirSync(path.dirname(file), { recursive: true });
  fs.writeFileSync(file, `#!/bin/sh\n${body}\n`, { mode: 0o755 });
  return file;
}

/** An ELF header whose section headers end at byte 128. */
function kernelBytes(machine = 0x3e, size = 128) {
  const b = Buffer.alloc(size);
  b.writeUInt32BE(0x7f454c46, 0);
  b[4] = 2; // 64-bit
  b.writeUInt16LE(machine, 18);
  b.writeBigUInt64LE(64n, 0x28); // e_shoff
  b.writeUInt16LE(64, 0x3a); // e_shentsize
  b.writeUInt16LE(1, 0x3c); // e_shnum
  return b;
}

function bootBytes(signed = true) {
  const b = Buffer.alloc(1024);
  if (signed) b.set([0x55, 0xaa], 510);
  return b;
}

const NANOS_MKFS = 'echo "Usage:"; echo "mkfs [options] image-file < manifest-file"; exit 1';
const UTIL_LINUX_MKFS =
  'echo "Usage: mkfs [options] [-t <type>] [fs-options] <device> [<size>]"; exit 1';

/** A folder with bin/ (qemu, maybe a util-linux mkfs), nanos/ (kernel, boot, mkfs) and a home with .ops. */
function toolchain(
  parts: { kernel?: Buffer; boot?: Buffer; mkfs?: boolean; pathMkfs?: string } = {},
) {
  const dir = path.join(ROOT, `t${++n}`);
  const bin = path.join(dir, "bin");
  script(path.join(bin, "qemu-system-x86_64"), "exit 0");
  if (parts.pathMkfs) script(path.join(bin, "mkfs"), parts.pathMkfs);
  const nanos = path.join(dir, "nanos");
  fs.mkdirSync(nanos, { recursive: true });
  fs.writeFileSync(path.join(nanos, "kernel.img"), parts.kernel ?? kernelBytes());
  fs.writeFileSync(path.join(nanos, "boot.img"), parts.boot ?? bootBytes());
  if (parts.mkfs !== false) script(path.join(nanos, "mkfs"), NANOS_MKFS);
  const settings: NanosToolSettings = {
    qemu: "qemu-system-x86_64",
    kernel: path.join(nanos, "kernel.img"),
    opsDir: path.join(dir, "home", ".ops"),
  };
  return { dir, bin, nanos, settings };
}

describe("locateNanos", () => {
  it("takes the kernel from NANOS_KERNEL, the boot image and mkfs next to it, qemu from PATH", async () => {
    const t = toolchain();
    expect(await locateNanos(t.settings, t.bin)).toEqual({
      ok: true,
      tools: {
        qemu: path.join(t.bin, "qemu-system-x86_64"),
        kernel: path.join(t.nanos, "kernel.img"),
        boot: path.join(t.nanos, "boot.img"),
        builder: { kind: "mkfs", path: path.join(t.nanos, "mkfs") },
        origin: `kernel ${path.join(t.nanos, "kernel.img")}`,
      },
    });
  });

  it("says qemu is missing and how to install it", async () => {
    const t = toolchain();
    const missing = await locateNanos({ ...t.settings, qemu: "/nonexistent/qemu" }, t.bin);
    expect(missing).toEqual({
      ok: false,
      reason: `qemu not found (/nonexistent/qemu). ${QEMU_HINT}`,
    });
    expect(QEMU_HINT).toContain("apt-get install qemu-system-x86");
    const notOnPath = await locateNanos(t.settings, path.join(t.dir, "empty"));
    expect(notOnPath.ok).toBe(false);
  });

  it("says a missing kernel file is missing, and how to get one", async () => {
    const t = toolchain();
    const result = await locateNanos({ ...t.settings, kernel: "/nonexistent/kernel.img" }, t.bin);
    expect(result).toEqual({
      ok: false,
      reason: `NANOS_KERNEL /nonexistent/kernel.img does not exist. ${INSTALL_HINT}`,
    });
    expect(INSTALL_HINT).toMatch(/ops\.city.*ops update.*NANOS_KERNEL/);
  });

  it.each([
    ["not an ELF file", Buffer.from("this is not a kernel".repeat(10))],
    ["not an x86-64 kernel", kernelBytes(0xb7)],
    ["truncated", kernelBytes(0x3e, 100)],
  ])("refuses a kernel that is %s", async (problem, bytes) => {
    const t = toolchain({ kernel: bytes });
    const result = await locateNanos(t.settings, t.bin);
    expect(result.ok).toBe(false);
    expect(!result.ok && result.reason).toContain(problem);
    expect(!result.ok && result.reason).toContain(path.join(t.nanos, "kernel.img"));
  });

  it("refuses a boot image without a boot signature, and a missing one", async () => {
    const t = toolchain({ boot: bootBytes(false) });
    const unsigned = await locateNanos(t.settings, t.bin);
    expect(!unsigned.ok && unsigned.reason).toContain("has no boot signature");
    fs.rmSync(path.join(t.nanos, "boot.img"));
    const missing = await locateNanos(t.settings, t.bin);
    expect(!missing.ok && missing.reason).toMatch(
      /boot image next to the kernel .* does not exist/,
    );
  });

  it("finds the newest ops release, and builds with ops when it ships no mkfs", async () => {
    const t = toolchain();
    const ops = t.settings.opsDir;
    for (const version of ["0.1.9", "0.1.10"]) {
      fs.mkdirSync(path.join(ops, version), { recursive: true });
      fs.writeFileSync(path.join(ops, version, "kernel.img"), kernelBytes());
      fs.writeFileSync(path.join(ops, version, "boot.img"), bootBytes());
    }
    script(path.join(ops, "bin", "ops"), "exit 0");
    const settings = { ...t.settings, kernel: undefined };
    const newest = await locateNanos(settings, t.bin);
    expect(newest).toMatchObject({
      ok: true,
      tools: {
        kernel: path.join(ops, "0.1.10", "kernel.img"),
        boot: path.join(ops, "0.1.10", "boot.img"),
        builder: { kind: "ops", path: path.join(ops, "bin", "ops") },
        origin: `ops release 0.1.10 in ${path.join(ops, "0.1.10")}`,
      },
    });
    // latest.txt names the release ops itself uses.
    fs.writeFileSync(path.join(ops, "latest.txt"), "0.1.9\n");
    expect(await locateNanos(settings, t.bin)).toMatchObject({
      ok: true,
      tools: { kernel: path.join(ops, "0.1.9", "kernel.img") },
    });
    // An older release that still ships mkfs: that is used.
    script(path.join(ops, "0.1.9", "mkfs"), NANOS_MKFS);
    expect(await locateNanos(settings, t.bin)).toMatchObject({
      ok: true,
      tools: { builder: { kind: "mkfs", path: path.join(ops, "0.1.9", "mkfs") } },
    });
  });

  it("says nothing was found when there is neither NANOS_KERNEL nor an ops release", async () => {
    const t = toolchain();
    const result = await locateNanos({ ...t.settings, kernel: undefined }, t.bin);
    expect(result).toEqual({
      ok: false,
      reason: `No Nanos kernel found (NANOS_KERNEL is unset, ${t.settings.opsDir} holds no release). ${INSTALL_HINT}`,
    });
  });

  it("falls back to a Nanos build folder (NANOS_DIR) when NANOS_KERNEL and ops give nothing", async () => {
    const t = toolchain();
    const settings = { ...t.settings, kernel: undefined, buildDir: t.nanos };
    expect(await locateNanos(settings, t.bin)).toEqual({
      ok: true,
      tools: {
        qemu: path.join(t.bin, "qemu-system-x86_64"),
        kernel: path.join(t.nanos, "kernel.img"),
        boot: path.join(t.nanos, "boot.img"),
        builder: { kind: "mkfs", path: path.join(t.nanos, "mkfs") },
        origin: `Nanos build in ${t.nanos}`,
      },
    });
    // An ops release, when there is one, comes first.
    const ops = t.settings.opsDir;
    fs.mkdirSync(path.join(ops, "0.1.9"), { recursive: true });
    fs.writeFileSync(path.join(ops, "0.1.9", "kernel.img"), kernelBytes());
    fs.writeFileSync(path.join(ops, "0.1.9", "boot.img"), bootBytes());
    script(path.join(ops, "0.1.9", "mkfs"), NANOS_MKFS);
    expect(await locateNanos(settings, t.bin)).toMatchObject({
      ok: true,
      tools: { kernel: path.join(ops, "0.1.9", "kernel.img") },
    });
    // A folder without a kernel is named in the reason.
    const empty = path.join(t.dir, "empty");
    fs.mkdirSync(empty);
    const result = await locateNanos(
      { ...settings, opsDir: "/nonexistent/.ops", buildDir: empty },
      t.bin,
    );
    expect(!result.ok && result.reason).toContain(`NANOS_DIR ${empty} has no kernel.img`);
  });

  it("never takes util-linux's mkfs for Nanos's", async () => {
    const t = toolchain({ mkfs: false, pathMkfs: UTIL_LINUX_MKFS });
    const result = await locateNanos(t.settings, t.bin);
    expect(!result.ok && result.reason).toMatch(
      /^No image builder: Nanos's mkfs is not next to the kernel/,
    );
    const forced = await locateNanos({ ...t.settings, mkfs: path.join(t.bin, "mkfs") }, t.bin);
    expect(!forced.ok && forced.reason).toContain("is not Nanos's mkfs");
    // Nanos's own mkfs on PATH is fine.
    const onPath = toolchain({ mkfs: false, pathMkfs: NANOS_MKFS });
    expect(await locateNanos(onPath.settings, onPath.bin)).toMatchObject({
      ok: true,
      tools: { builder: { kind: "mkfs", path: path.join(onPath.bin, "mkfs") } },
    });
  });
});
