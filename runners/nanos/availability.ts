import { execFile } from "node:child_process";
import fs from "node:fs/promises";
import path from "node:path";

/** Where the Nanos engine's tools come from (RunnerConfig["nanos"], resolved by server/config). */
export interface NanosToolSettings {
  kernel?: string;
  boot?: string;
  mkfs?: string;
  ops?: string;
  /** qemu-system-x86_64, by name (searched on PATH) or path. */
  qemu: string;
  /** ops's home folder (~/.ops): releases in <version>/, the binary in bin/ops. */
  opsDir: string;
  /** A Nanos build's folder (kernel.img, boot.img, mkfs): NANOS_DIR, or ../shared/nanos beside the project. */
  buildDir?: string;
}

export type ImageTool = { kind: "mkfs"; path: string } | { kind: "ops"; path: string };

export interface NanosTools {
  qemu: string;
  kernel: string;
  boot: string;
  builder: ImageTool;
  /** Where the kernel came from, for the status line. */
  origin: string;
}

export type Located = { ok: true; tools: NanosTools } | { ok: false; reason: string };

export const INSTALL_HINT =
  "Install ops (curl https://ops.city/get.sh -sSfL | sh, then `ops update` puts the kernel in ~/.ops/<version>/), or point NANOS_KERNEL, NANOS_BOOT and NANOS_MKFS at a Nanos build (or NANOS_DIR at a folder holding its kernel.img, boot.img and mkfs).";
export const QEMU_HINT = "Install it with `apt-get install qemu-system-x86`, or set NANOS_QEMU.";

/**
 * Finds what the Nanos engine needs, or says exactly what is missing and how
 * to get it: qemu; a kernel and boot image (NANOS_KERNEL / NANOS_BOOT, else
 * the newest ops release in ~/.ops/<version>/, the boot image next to the
 * kernel); and an image builder (NANOS_MKFS, a `mkfs` next to the kernel or
 * on PATH that is Nanos's own, else the ops binary). Files are checked, not
 * just found: a kernel that is not a whole x86-64 ELF file, or a boot image
 * without a boot signature, is reported here rather than as a failed boot.
 */
export async function locateNanos(
  settings: NanosToolSettings,
  searchPath: string = process.env.PATH ?? "",
): Promise<Located> {
  const qemu = await findExecutable(settings.qemu, searchPath);
  if (!qemu) {
    return { ok: false, reason: `qemu not found (${settings.qemu}). ${QEMU_HINT}` };
  }

  let kernel: string;
  let origin: string;
  if (settings.kernel) {
    if (!(await isFile(settings.kernel))) {
      return {
        ok: false,
        reason: `NANOS_KERNEL ${settings.kernel} does not exist. ${INSTALL_HINT}`,
      };
    }
    kernel = settings.kernel;
    origin = `kernel ${kernel}`;
  } else {
    const release = await newestOpsRelease(settings.opsDir);
    const built = settings.buildDir && path.join(settings.buildDir, "kernel.img");
    if (release) {
      kernel = path.join(release.dir, "kernel.img");
      origin = `ops release ${release.version} in ${release.dir}`;
    } else if (built && (await isFile(built))) {
      kernel = built;
      origin = `Nanos build in ${settings.buildDir}`;
    } else {
      const dir = settings.buildDir ? `, and NANOS_DIR ${settings.buildDir} has no kernel.img` : "";
      return {
        ok: false,
        reason: `No Nanos kernel found (NANOS_KERNEL is unset, ${settings.opsDir} holds no release${dir}). ${INSTALL_HINT}`,
      };
    }
  }
  const kernelProblem = await checkKernel(kernel);
  if (kernelProblem) return { ok: false, reason: `${kernelProblem} ${INSTALL_HINT}` };

  const boot = settings.boot ?? path.join(path.dirname(kernel), "boot.img");
  if (!(await isFile(boot))) {
    const from = settings.boot ? "NANOS_BOOT" : "the boot image next to the kernel";
    return { ok: false, reason: `${from} ${boot} does not exist. ${INSTALL_HINT}` };
  }
  const bootProblem = await checkBootImage(boot);
  if (bootProblem) return { ok: false, reason: `${bootProblem} ${INSTALL_HINT}` };

  const builder = await findBuilder(settings, kernel, searchPath);
  if ("reason" in builder) return { ok: false, reason: builder.reason };
  return { ok: true, tools: { qemu, kernel, boot, builder, origin } };
}

async function findBuilder(
  settings: NanosToolSettings,
  kernel: string,
  searchPath: string,
): Promise<ImageTool | { reason: string }> {
  if (settings.mkfs) {
    if (!(await isExecutable(settings.mkfs))) {
      return { reason: `NANOS_MKFS ${settings.mkfs} is not an executable file. ${INSTALL_HINT}` };
    }
    if (!(await isNanosMkfs(settings.mkfs))) {
      return {
        reason: `NANOS_MKFS ${settings.mkfs} is not Nanos's mkfs (its usage does not mention a manifest). ${INSTALL_HINT}`,
      };
    }
    return { kind: "mkfs", path: settings.mkfs };
  }
  // Next to the kernel (a Nanos build, or an ops release that still ships it),
  // then PATH: util-linux has a `mkfs` too, so only Nanos's own counts.
  const beside = path.join(path.dirname(kernel), "mkfs");
  for (const candidate of [beside, await findExecutable("mkfs", searchPath)]) {
    if (candidate && (await isExecutable(candidate)) && (await isNanosMkfs(candidate))) {
      return { kind: "mkfs", path: candidate };
    }
  }
  const ops =
    settings.ops ??
    ((await isExecutable(path.join(settings.opsDir, "bin", "ops")))
      ? path.join(settings.opsDir, "bin", "ops")
      : await findExecutable("ops", searchPath));
  if (ops && (await isExecutable(ops))) return { kind: "ops", path: ops };
  if (settings.ops)
    return { reason: `NANOS_OPS ${settings.ops} is not an executable file. ${INSTALL_HINT}` };
  return {
    reason: `No image builder: Nanos's mkfs is not next to the kernel, on PATH or in NANOS_MKFS, and ops is not installed. ${INSTALL_HINT}`,
  };
}

/** The release ops uses: the version in latest.txt, else the highest x.y.z folder with a kernel. */
export async function newestOpsRelease(
  opsDir: string,
): Promise<{ version: string; dir: string } | null> {
  const latest = (
    await fs.readFile(path.join(opsDir, "latest.txt"), "utf8").catch(() => "")
  ).trim();
  const entries = await fs.readdir(opsDir).catch(() => [] as string[]);
  const versions = entries
    .filter((name) => /^\d+(\.\d+)*$/.test(name))
    .sort(compareVersions)
    .reverse();
  for (const version of [latest, ...versions, "nightly"].filter(Boolean)) {
    const dir = path.join(opsDir, version);
    if (await isFile(path.join(dir, "kernel.img"))) return { version, dir };
  }
  return null;
}

function compareVersions(a: string, b: string) {
  const pa = a.split(".").map(Number);
  const pb = b.split(".").map(Number);
  for (let i = 0; i < Math.max(pa.length, pb.length); i++) {
    const d = (pa[i] ?? 0) - (pb[i] ?? 0);
    if (d !== 0) return d;
  }
  return 0;
}

/** A Nanos x86-64 kernel is an ELF executable; its section headers end the file, so a cut file is caught too. */
export async function checkKernel(kernel: string): Promise<string | null> {
  const head = await readHead(kernel, 64);
  const size = (await fs.stat(kernel)).size;
  if (head.length < 64 || head.readUInt32BE(0) !== 0x7f454c46) {
    return `The Nanos kernel ${kernel} is not an ELF file (corrupt or not a kernel).`;
  }
  if (head[4] !== 2 || head.readUInt16LE(18) !== 0x3e) {
    return `The Nanos kernel ${kernel} is not an x86-64 kernel.`;
  }
  const sectionsEnd =
    Number(head.readBigUInt64LE(0x28)) + head.readUInt16LE(0x3a) * head.readUInt16LE(0x3c);
  if (sectionsEnd > size) {
    return `The Nanos kernel ${kernel} is truncated (${size} bytes, its headers need ${sectionsEnd}).`;
  }
  return null;
}

/** The boot image is a boot sector (and stage 2): 0x55AA ends its first 512 bytes. */
export async function checkBootImage(boot: string): Promise<string | null> {
  const head = await readHead(boot, 512);
  if (head.length < 512 || head[510] !== 0x55 || head[511] !== 0xaa) {
    return `The Nanos boot image ${boot} has no boot signature (corrupt or not a boot image).`;
  }
  return null;
}

async function readHead(file: string, bytes: number): Promise<Buffer> {
  const handle = await fs.open(file, "r");
  try {
    const buffer = Buffer.alloc(bytes);
    const { bytesRead } = await handle.read(buffer, 0, bytes, 0);
    return buffer.subarray(0, bytesRead);
  } finally {
    await handle.close();
  }
}

/** Nanos's mkfs prints a usage that mentions its manifest; util-linux's does not. */
function isNanosMkfs(file: string): Promise<boolean> {
  return new Promise((resolve) => {
    execFile(file, [], { timeout: 5000 }, (_error, stdout, stderr) =>
      resolve(/manifest/i.test(`${stdout}${stderr}`)),
    );
  });
}

export async function findExecutable(name: string, searchPath: string): Promise<string | null> {
  if (name.includes("/")) return (await isExecutable(name)) ? path.resolve(name) : null;
  for (const dir of searchPath.split(":").filter(Boolean)) {
    const candidate = path.join(dir, name);
    if (await isExecutable(candidate)) return candidate;
  }
  return null;
}

async function isFile(file: string) {
  return (await fs.stat(file).catch(() => null))?.isFile() ?? false;
}

async function isExecutable(file: string) {
  if (!(await isFile(file))) return false;
  return fs.access(file, fs.constants.X_OK).then(
    () => true,
    () => false,
  );
}
