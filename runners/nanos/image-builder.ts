import type { ImageContent } from "./image-content";

/** The Nanos pieces an image is made of. */
export interface NanosKernel {
  kernel: string;
  boot: string;
}

/**
 * Makes a bootable Nanos disk image (boot sector, kernel and a TFS file
 * system holding the content) at `output`. Two implementations: Nanos's own
 * `mkfs` (mkfs-builder.ts) and `ops` (ops-builder.ts).
 */
export interface NanosImageBuilder {
  readonly name: "mkfs" | "ops";
  /** What the builder runs, for messages ("mkfs at /opt/nanos/mkfs"). */
  readonly describe: string;
  build(content: ImageContent, kernel: NanosKernel, output: string): Promise<void>;
}

/** Free space left in every image for what functions write (/tmp), in MiB. */
export const SCRATCH_MB = 64;

export class ImageBuildError extends Error {}
