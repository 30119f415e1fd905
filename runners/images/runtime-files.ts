import { execFile } from "node:child_process";
import { createHash } from "node:crypto";
import { createReadStream } from "node:fs";
import fs from "node:fs/promises";
import path from "node:path";
import { promisify } from "node:util";
import type { RuntimeName } from "../types";

const run = promisify(execFile);

/** Bump when the way images are assembled changes, so every image is rebuilt. */
export const BUILDER_VERSION = "1";

export const AGENT_FILES: Record<RuntimeName, string> = {
  python: path.resolve(import.meta.dirname, "../agents/python/agent.py"),
  node: path.resolve(import.meta.dirname, "../agents/node/agent.mjs"),
};

/** Where the agent lives inside every image, and the command that starts it. */
export const AGENT_GUEST_PATH: Record<RuntimeName, string> = {
  python: "/agent/agent.py",
  node: "/agent/agent.mjs",
};

export interface RuntimeFile {
  /** Absolute path on the host. */
  host: string;
  /** Absolute path in the image. */
  guest: string;
}

export interface RuntimeFiles {
  runtime: RuntimeName;
  /** Interpreter path in the image (same as on the host). */
  interpreter: string;
  /** e.g. "3.11.2" or "20.20.2". */
  version: string;
  files: RuntimeFile[];
  /** Content hash of everything that goes in: builder, interpreter, libraries, agent. */
  hash: string;
}

// Parts of the standard library no function needs at run time.
const PYTHON_SKIP = new Set([
  "test",
  "idlelib",
  "tkinter",
  "turtledemo",
  "ensurepip",
  "lib2to3",
  "pydoc_data",
  "site-packages",
  "dist-packages",
  "config-3.11-x86_64-linux-gnu",
]);

/**
 * The files of a runtime image, taken from the host: the interpreter, the
 * shared libraries it and its extension modules link (from ldd), the
 * standard library with its precompiled bytecode (Python), and the agent.
 */
export async function collectRuntimeFiles(
  runtime: RuntimeName,
  interpreterPath: string,
): Promise<RuntimeFiles> {
  const interpreter = await fs.realpath(interpreterPath);
  const files: RuntimeFile[] = [{ host: interpreter, guest: interpreter }];
  const binaries = [interpreter];
  let version: string;
  if (runtime === "python") {
    const { stdout } = await run(interpreter, [
      "-I",
      "-c",
      "import sys, sysconfig; print(sys.version.split()[0]); print(sysconfig.get_paths()['stdlib'])",
    ]);
    const [v, stdlib] = stdout.trim().split("\n");
    version = v!;
    const stdlibFiles = await walk(stdlib!, (rel) => !PYTHON_SKIP.has(rel.split(path.sep)[0]!));
    for (const file of stdlibFiles) {
      files.push({ host: file, guest: file });
      if (file.endsWith(".so")) binaries.push(file);
    }
    // The image's python3 is reached through the usual name too.
    files.push({ host: interpreter, guest: "/usr/bin/python3" });
  } else {
    const { stdout } = await run(interpreter, ["--version"]);
    version = stdout.trim().replace(/^v/, "");
    files.push({ host: interpreter, guest: "/usr/bin/node" });
  }
  for (const lib of await sharedLibraries(binaries)) files.push({ host: lib, guest: lib });
  files.push({ host: AGENT_FILES[runtime], guest: AGENT_GUEST_PATH[runtime] });
  const unique = dedupe(files);
  return { runtime, interpreter, version, files: unique, hash: await hashFiles(runtime, unique) };
}

/** Every library the binaries load, with symlinks resolved (the loader included). */
async function sharedLibraries(binaries: string[]): Promise<string[]> {
  const libs = new Set<string>();
  for (let i = 0; i < binaries.length; i += 50) {
    const batch = binaries.slice(i, i + 50);
    const { stdout } = await run("ldd", batch, { maxBuffer: 8 * 1024 * 1024 }).catch(
      (e: { stdout?: string }) => ({ stdout: e.stdout ?? "" }),
    );
    for (const line of stdout.split("\n")) {
      const match = line.match(/=>\s+(\/\S+)/) ?? line.match(/^\s+(\/\S+)\s+\(/);
      if (match) libs.add(match[1]!);
    }
  }
  const out: string[] = [];
  for (const lib of libs) {
    out.push(lib);
    const real = await fs.realpath(lib);
    if (real !== lib) out.push(real);
  }
  return out;
}

async function walk(dir: string, keep: (relative: string) => boolean): Promise<string[]> {
  const entries = await fs.readdir(dir, { recursive: true, withFileTypes: true });
  return entries
    .filter((e) => e.isFile())
    .map((e) => path.join(e.parentPath, e.name))
    .filter((p) => keep(path.relative(dir, p)));
}

function dedupe(files: RuntimeFile[]): RuntimeFile[] {
  const byGuest = new Map<string, RuntimeFile>();
  for (const f of files) byGuest.set(f.guest, f);
  return [...byGuest.values()].sort((a, b) => a.guest.localeCompare(b.guest));
}

/**
 * The interpreter and agent are hashed by content; the rest by path, size and
 * modification time (a package upgrade changes those), which keeps the check
 * fast enough to run at every start.
 */
async function hashFiles(runtime: RuntimeName, files: RuntimeFile[]): Promise<string> {
  const hash = createHash("sha256").update(`${BUILDER_VERSION}\n${runtime}\n`);
  const agentGuest = AGENT_GUEST_PATH[runtime];
  for (const f of files) {
    // The agent is hashed by content below: its checkout path and mtime must not
    // matter, or two checkouts of one version would keep rebuilding each other's image.
    if (f.guest === agentGuest) continue;
    const stat = await fs.stat(f.host);
    hash.update(`${f.guest}\0${f.host}\0${stat.size}\0${stat.mtimeMs}\n`);
  }
  const agent = files.find((f) => f.guest === agentGuest);
  if (agent) hash.update(await sha256File(agent.host));
  return hash.digest("hex");
}

export function sha256File(file: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const hash = createHash("sha256");
    createReadStream(file)
      .on("data", (c) => hash.update(c))
      .on("error", reject)
      .on("end", () => resolve(hash.digest("hex")));
  });
}
