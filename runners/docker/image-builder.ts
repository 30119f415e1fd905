import { spawn } from "node:child_process";
import fs from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import type Docker from "dockerode";
import { collectRuntimeFiles, type RuntimeFiles } from "../images/runtime-files";
import { LABELS } from "../labels";
import type { RuntimeName } from "../types";

export interface RuntimeImage {
  runtime: RuntimeName;
  tag: string;
  version: string;
  /** Interpreter path inside the image. */
  interpreter: string;
}

/**
 * Builds a runtime image offline: a root filesystem of the host's interpreter,
 * its libraries and the agent (runners/images/runtime-files.ts), streamed as a
 * tar into `docker import`. Tagged by content hash, so an image is built once
 * and rebuilt only when the interpreter, a library or the agent changes.
 */
export class DockerImageBuilder {
  constructor(
    private readonly docker: Docker,
    private readonly interpreters: Record<RuntimeName, string>,
  ) {}

  async ensure(runtime: RuntimeName, progress: (line: string) => void): Promise<RuntimeImage> {
    const files = await collectRuntimeFiles(runtime, this.interpreters[runtime]);
    const tag = `cloudless-${runtime}:${files.hash.slice(0, 16)}`;
    const image = { runtime, tag, version: files.version, interpreter: files.interpreter };
    const exists = await this.docker
      .getImage(tag)
      .inspect()
      .then(() => true)
      .catch(() => false);
    if (exists) return image;
    progress(
      `Building the ${runtime} ${files.version} runtime image (${files.files.length} files)…`,
    );
    const started = Date.now();
    await this.importRootfs(files, tag);
    progress(`Built ${tag} in ${((Date.now() - started) / 1000).toFixed(1)} s`);
    await this.removeOlderImages(runtime, tag);
    return image;
  }

  /** Earlier builds of this runtime are dead weight once a new one exists (in use ones are kept). */
  private async removeOlderImages(runtime: RuntimeName, current: string) {
    const images = await this.docker.listImages({
      filters: { label: [`${LABELS.managed}=true`, `${LABELS.runtime}=${runtime}`] },
    });
    for (const image of images) {
      if ((image.RepoTags ?? []).includes(current)) continue;
      await this.docker
        .getImage(image.Id)
        .remove()
        .catch(() => {});
    }
  }

  /** A folder of symlinks to the host files, archived with tar -h (follow links): nothing is copied. */
  private async importRootfs(files: RuntimeFiles, tag: string) {
    const stage = await fs.mkdtemp(path.join(os.tmpdir(), "cloudless-rootfs-"));
    try {
      for (const f of files.files) {
        const target = path.join(stage, f.guest);
        await fs.mkdir(path.dirname(target), { recursive: true });
        await fs.symlink(f.host, target);
      }
      for (const dir of ["tmp", "run/cloudless", "etc", "dev", "proc", "sys"]) {
        await fs.mkdir(path.join(stage, dir), { recursive: true });
      }
      await fs.chmod(path.join(stage, "tmp"), 0o1777);
      await fs.writeFile(
        path.join(stage, "etc/passwd"),
        "root:x:0:0:root:/root:/sbin/nologin\nnobody:x:65534:65534:nobody:/nonexistent:/sbin/nologin\n",
      );
      await fs.writeFile(path.join(stage, "etc/group"), "root:x:0:\nnogroup:x:65534:\n");
      const tar = spawn(
        "tar",
        ["-C", stage, "-h", "--numeric-owner", "--owner=0", "--group=0", "-cf", "-", "."],
        {
          stdio: ["ignore", "pipe", "pipe"],
        },
      );
      const tarClosed = new Promise<number>((resolve) => tar.on("close", resolve));
      let tarError = "";
      tar.stderr.on("data", (c) => {
        tarError += c;
      });
      const [repo, version] = tag.split(":");
      const output = await this.docker.importImage(tar.stdout, {
        repo,
        tag: version,
        changes: [
          `LABEL ${LABELS.managed}=true`,
          `LABEL ${LABELS.imageHash}=${files.hash}`,
          `LABEL ${LABELS.runtime}=${files.runtime}`,
          "ENV PATH=/usr/local/bin:/usr/bin:/bin",
          "ENV PYTHONDONTWRITEBYTECODE=1",
        ],
      } as object);
      await new Promise<void>((resolve, reject) => {
        this.docker.modem.followProgress(output, (error: Error | null) =>
          error ? reject(error) : resolve(),
        );
      });
      const code = await tarClosed;
      if (code !== 0) throw new Error(`tar failed (${code}): ${tarError.trim()}`);
    } finally {
      await fs.rm(stage, { recursive: true, force: true });
    }
  }
}
