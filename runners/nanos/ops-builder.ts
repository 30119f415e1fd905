import { execFile } from "node:child_process";
import fs from "node:fs/promises";
import path from "node:path";
import { promisify } from "node:util";
import {
  ImageBuildError,
  type NanosImageBuilder,
  type NanosKernel,
  SCRATCH_MB,
} from "./image-builder";
import type { ImageContent } from "./image-content";
import { totalSize } from "./mkfs-builder";

const run = promisify(execFile);
const MiB = 1024 * 1024;

/** The subset of ops's configuration file (types.Config in nanovms/ops) that the build uses. */
export interface OpsConfig {
  Program: string;
  Args: string[];
  Env: Record<string, string>;
  /** Host files at the same path in the image, relative to the working folder ops runs in ("/"). */
  Files: string[];
  /** Host folder pattern → folder in the image: the staged files whose paths differ. */
  MapDirs: Record<string, string>;
  Kernel: string;
  Boot: string;
  NameServers: string[];
  BaseVolumeSz: string;
  DisableArgsCopy: boolean;
  /** Top-level manifest entries ops copies as they are (the kernel's static network settings). */
  ManifestPassthrough: Record<string, string>;
}

/**
 * The ops configuration for an image's content. ops adds the program and
 * the libraries ldd lists by itself; every other file is either a host file
 * at the same path (`Files`, which ops resolves against its working folder,
 * hence running it in "/"), or staged under `stageDir` at its guest path and
 * mapped in with `MapDirs` (the agent, the compiled Python stdlib, /etc
 * files, the empty /tmp). `Args` leave out argv[0]: ops puts the program
 * there itself.
 */
export function opsConfig(
  content: ImageContent,
  kernel: NanosKernel,
  stageDir: string,
  totalBytes: number,
): { config: OpsConfig; staged: Array<{ host: string; guest: string }> } {
  const files: string[] = [];
  const staged: Array<{ host: string; guest: string }> = [];
  for (const f of content.files) {
    if (f.guest === content.program && f.host === content.program) continue;
    if (f.host === f.guest) files.push(f.guest);
    else staged.push(f);
  }
  return {
    config: {
      Program: content.program,
      Args: content.args.slice(1),
      Env: content.env,
      Files: files,
      MapDirs: { [`${stageDir}/*`]: "/" },
      Kernel: kernel.kernel,
      Boot: kernel.boot,
      // qemu user networking's DNS (ops's default would be 8.8.8.8).
      NameServers: ["10.0.2.3"],
      BaseVolumeSz: `${Math.ceil(totalBytes / MiB) + SCRATCH_MB}m`,
      DisableArgsCopy: true,
      ManifestPassthrough: Object.fromEntries(
        Object.entries(content.settings).map(([k, v]) => [k, JSON.parse(v) as string]),
      ),
    },
    staged,
  };
}

/**
 * Builds with `ops build <program> -c config.json -i <name>`, where ops is
 * installed instead of a Nanos build with mkfs. ops writes the image to
 * <ops home>/images/<name>; it is moved to `output` from there.
 */
export class OpsImageBuilder implements NanosImageBuilder {
  readonly name = "ops" as const;

  constructor(
    private readonly ops: string,
    private readonly opsDir: string,
  ) {}

  get describe() {
    return `ops at ${this.ops}`;
  }

  async build(content: ImageContent, kernel: NanosKernel, output: string) {
    const work = `${output}.ops-${process.pid}`;
    const stageDir = path.join(work, "root");
    await fs.rm(work, { recursive: true, force: true });
    try {
      const { config, staged } = opsConfig(content, kernel, stageDir, await totalSize(content));
      for (const f of staged) await stageFile(f.host, path.join(stageDir, f.guest));
      for (const dir of content.dirs) await fs.mkdir(path.join(stageDir, dir), { recursive: true });
      const configFile = path.join(work, "config.json");
      await fs.writeFile(configFile, JSON.stringify(config, null, 2));
      const name = `cloudless-${content.runtime}-${content.hash.slice(0, 16)}`;
      const args = ["build", content.program, "-c", configFile, "-i", name];
      try {
        await run(this.ops, args, { cwd: "/", maxBuffer: 64 * MiB, timeout: 10 * 60_000 });
      } catch (error) {
        const e = error as { stderr?: string; stdout?: string; message: string };
        const text = `${e.stderr ?? ""}${e.stdout ?? ""}`.trim().slice(-2000) || e.message;
        throw new ImageBuildError(`ops build failed: ${text}`);
      }
      const built = path.join(this.opsDir, "images", name);
      await fs.rename(built, output).catch(async (error: NodeJS.ErrnoException) => {
        if (error.code !== "EXDEV") throw error;
        await fs.copyFile(built, output);
        await fs.rm(built, { force: true });
      });
    } finally {
      await fs.rm(work, { recursive: true, force: true });
    }
  }
}

/** A hard link where the file system allows it, else a copy: ops follows no symlinks from a mapped folder. */
async function stageFile(host: string, target: string) {
  await fs.mkdir(path.dirname(target), { recursive: true });
  await fs.link(host, target).catch(() => fs.copyFile(host, target));
}
