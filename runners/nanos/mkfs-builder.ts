import { spawn } from "node:child_process";
import fs from "node:fs/promises";
import {
  ImageBuildError,
  type NanosImageBuilder,
  type NanosKernel,
  SCRATCH_MB,
} from "./image-builder";
import type { ImageContent } from "./image-content";
import { renderManifest } from "./manifest";

const MiB = 1024 * 1024;

/**
 * Builds with Nanos's `mkfs`: the manifest goes to its stdin. mkfs prints
 * the parsed manifest on stdout (discarded), and on a host file it cannot
 * open it stops half-way and leaves a truncated image that fails at boot
 * ("unable to open filesystem"), so files are checked first and its exit
 * code always.
 */
export class MkfsImageBuilder implements NanosImageBuilder {
  readonly name = "mkfs" as const;

  constructor(private readonly mkfs: string) {}

  get describe() {
    return `mkfs at ${this.mkfs}`;
  }

  async build(content: ImageContent, kernel: NanosKernel, output: string) {
    const bytes = await totalSize(content);
    const manifest = renderManifest({ ...content, extra: content.settings });
    const sizeMb = Math.ceil(bytes / MiB) + SCRATCH_MB;
    const args = ["-b", kernel.boot, "-k", kernel.kernel, "-s", `${sizeMb}M`, output];
    const { code, stderr } = await runWithInput(this.mkfs, args, manifest);
    if (code !== 0) {
      await fs.rm(output, { force: true });
      throw new ImageBuildError(
        `mkfs exited with ${code}: ${stderr.trim().slice(-2000) || "no message"}`,
      );
    }
    const stat = await fs.stat(output).catch(() => null);
    if (!stat || stat.size < bytes) {
      await fs.rm(output, { force: true });
      throw new ImageBuildError(`mkfs made no complete image at ${output}`);
    }
  }
}

/** Sums the files' sizes, failing clearly on the first one missing. */
export async function totalSize(content: ImageContent): Promise<number> {
  let bytes = 0;
  for (const f of content.files) {
    const stat = await fs.stat(f.host).catch(() => null);
    if (!stat?.isFile()) {
      throw new ImageBuildError(`Missing host file ${f.host} (for ${f.guest} in the image)`);
    }
    bytes += stat.size;
  }
  return bytes;
}

function runWithInput(
  command: string,
  args: string[],
  input: string,
): Promise<{ code: number | null; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { stdio: ["pipe", "ignore", "pipe"] });
    let stderr = "";
    child.stderr.on("data", (c: Buffer) => {
      stderr = (stderr + c.toString()).slice(-8192);
    });
    child.on("error", reject);
    // mkfs may exit before reading everything (a bad manifest): not our error to raise.
    child.stdin.on("error", () => {});
    child.on("close", (code) => resolve({ code, stderr }));
    child.stdin.end(input);
  });
}
