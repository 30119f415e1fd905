import { execFile } from "node:child_process";
import { createHash } from "node:crypto";
import fs from "node:fs/promises";
import path from "node:path";
import { promisify } from "node:util";
import {
  AGENT_GUEST_PATH,
  collectRuntimeFiles,
  type RuntimeFile,
  sha256File,
} from "../images/runtime-files";
import type { RuntimeName } from "../types";
import { withFileLock } from "./file-lock";

const run = promisify(execFile);

/** The guest port the agent listens on (forwarded to a loopback port per VM). */
export const AGENT_PORT = 8080;

/** Bump when the Nanos image layout changes, so every image is rebuilt. */
export const NANOS_LAYOUT_VERSION = "2";

/** Everything that goes into one runtime's bootable image, independent of the builder. */
export interface ImageContent {
  runtime: RuntimeName;
  /** e.g. "3.11.2". */
  version: string;
  files: RuntimeFile[];
  dirs: string[];
  program: string;
  args: string[];
  env: Record<string, string>;
  /** Top-level manifest settings for the kernel (unquoted in the manifest, so strings carry their quotes). */
  settings: Record<string, string>;
  /** Content hash of the files, kernel, boot image and layout: the image's cache key. */
  hash: string;
}

// Small files every image gets. resolv.conf points at qemu user networking's
// DNS, for functions that ask for the network; passwd and group so that
// user lookups (getpass, os.path.expanduser) answer as they do in Docker.
const STATIC_FILES: Record<string, string> = {
  "/etc/passwd":
    "root:x:0:0:root:/:/sbin/nologin\nnobody:x:65534:65534:nobody:/nonexistent:/sbin/nologin\n",
  "/etc/group": "root:x:0:\nnogroup:x:65534:\n",
  "/etc/resolv.conf": "nameserver 10.0.2.3\n",
};

/**
 * A static address on qemu user networking's subnet, with its gateway.
 * Nanos would ask DHCP otherwise, and a VM restored from a saved state (or
 * one that answers its first call before its lease) has no route beyond
 * 10.0.2.0/24; network-enabled functions need one from the first call.
 */
const NETWORK_SETTINGS: Record<string, string> = {
  ipaddr: '"10.0.2.15"',
  netmask: '"255.255.255.0"',
  gateway: '"10.0.2.2"',
};

/**
 * The interpreter, its libraries and stdlib and the agent (the same set the
 * Docker images hold, runners/images/runtime-files.ts), plus a private copy
 * of the Python stdlib compiled with unchecked-hash bytecode: mkfs keeps no
 * mtimes, so Debian's timestamp-checked .pyc files would count as stale and
 * every boot would recompile the stdlib (5-12 s instead of 1-2 s).
 */
export async function collectImageContent(
  runtime: RuntimeName,
  interpreterPath: string,
  cacheDir: string,
  kernel: { kernel: string; boot: string },
  progress: (line: string) => void = () => {},
): Promise<ImageContent> {
  const collected = await collectRuntimeFiles(runtime, interpreterPath);
  let files = collected.files;
  if (runtime === "python") {
    files = await withCompiledStdlib(
      collected.interpreter,
      files,
      collected.hash,
      cacheDir,
      progress,
    );
  }
  const staticDir = path.join(cacheDir, "static");
  await fs.mkdir(staticDir, { recursive: true });
  for (const [guest, text] of Object.entries(STATIC_FILES)) {
    const host = path.join(staticDir, path.basename(guest));
    const current = await fs.readFile(host, "utf8").catch(() => null);
    if (current !== text) await writeAtomically(host, text);
    files.push({ host, guest });
  }
  files.sort((a, b) => a.guest.localeCompare(b.guest));
  const interpreterName = runtime === "python" ? "python3" : "node";
  const args = [interpreterName, AGENT_GUEST_PATH[runtime], "--port", String(AGENT_PORT)];
  const env: Record<string, string> = {
    PATH: "/usr/local/bin:/usr/bin:/bin",
    HOME: "/",
    TMPDIR: "/tmp",
    ...(runtime === "python" ? { PYTHONDONTWRITEBYTECODE: "1" } : {}),
  };
  const hash = createHash("sha256")
    .update(`nanos ${NANOS_LAYOUT_VERSION}\n${collected.hash}\n`)
    .update(JSON.stringify({ args, env, static: STATIC_FILES, settings: NETWORK_SETTINGS }))
    .update(await sha256File(kernel.kernel))
    .update(await sha256File(kernel.boot))
    .digest("hex");
  return {
    runtime,
    version: collected.version,
    files,
    dirs: ["/tmp"],
    program: collected.interpreter,
    args,
    env,
    settings: NETWORK_SETTINGS,
    hash,
  };
}

/**
 * Swaps the stdlib's files for a copy under the cache folder, compiled with
 * `compileall --invalidation-mode unchecked-hash` (with the guest path
 * recorded, so tracebacks name /usr/lib/python3.x/...). The copy is made once
 * per runtime hash.
 */
async function withCompiledStdlib(
  interpreter: string,
  files: RuntimeFile[],
  runtimeHash: string,
  cacheDir: string,
  progress: (line: string) => void,
): Promise<RuntimeFile[]> {
  const { stdout } = await run(interpreter, [
    "-I",
    "-c",
    "import sysconfig; print(sysconfig.get_paths()['stdlib'])",
  ]);
  const stdlib = stdout.trim();
  const prefix = `${stdlib}/`;
  const target = path.join(cacheDir, "pystdlib", runtimeHash.slice(0, 16));
  const done = path.join(target, ".complete");
  const inStdlib = (f: RuntimeFile) => f.guest.startsWith(prefix);
  if (!(await exists(done))) {
    await withFileLock(`${target}.lock`, async () => {
      if (await exists(done)) return; // another process made it while this one waited
      progress("Compiling a private copy of the Python stdlib (unchecked-hash bytecode)…");
      await fs.rm(target, { recursive: true, force: true }); // a copy a crash left half-made
      for (const f of files) {
        if (!inStdlib(f) || f.guest.includes("/__pycache__/")) continue;
        const to = path.join(target, f.guest.slice(prefix.length));
        await fs.mkdir(path.dirname(to), { recursive: true });
        await fs.copyFile(f.host, to);
      }
      await run(
        interpreter,
        ["-I", "-m", "compileall", "-q", "-j", "0", "--invalidation-mode", "unchecked-hash"].concat(
          ["-d", stdlib, target],
        ),
        { maxBuffer: 16 * 1024 * 1024 },
      ).catch((error: { stdout?: string; stderr?: string; message: string }) => {
        // A few stdlib files may not compile for this interpreter; compileall
        // still compiles the rest and exits 1, printing which.
        if (!error.stdout && !error.stderr) throw new Error(`compileall failed: ${error.message}`);
      });
      await fs.writeFile(done, "");
      // Copies made for an earlier interpreter or agent are dead weight now.
      for (const name of await fs.readdir(path.dirname(target))) {
        const other = path.join(path.dirname(target), name);
        if (other !== target && !name.endsWith(".lock"))
          await fs.rm(other, { recursive: true, force: true });
      }
    });
  }
  const compiled = (await fs.readdir(target, { recursive: true, withFileTypes: true }))
    .filter((e) => e.isFile() && e.name !== ".complete")
    .map((e) => {
      const host = path.join(e.parentPath, e.name);
      return { host, guest: path.join(stdlib, path.relative(target, host)) };
    });
  return [...files.filter((f) => !inStdlib(f)), ...compiled];
}

async function exists(file: string) {
  return fs.access(file).then(
    () => true,
    () => false,
  );
}

export async function writeAtomically(file: string, data: string | Buffer) {
  const tmp = `${file}.tmp-${process.pid}-${Math.random().toString(36).slice(2)}`;
  await fs.writeFile(tmp, data);
  await fs.rename(tmp, file);
}
