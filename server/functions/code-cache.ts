import { createHash, randomUUID } from "node:crypto";
import fs from "node:fs/promises";
import path from "node:path";
import { type CodeStore, StorageUnreachableError } from "../storage/code-store";

/**
 * The code is neither on this host nor reachable in object storage right now
 * (S3 down): a cold start cannot run it, and the route answers 503.
 */
export class CodeUnavailableError extends Error {
  override name = "CodeUnavailableError";
}

/**
 * Function code on the host, by content hash: memory first, then a folder
 * under DATA_DIR, then S3 (verified against the hash). A prewarmed or cold
 * start never waits on S3 once a version has been seen. Concurrent cold
 * starts of one version share one read (and one download).
 */
export class CodeCache {
  private readonly memory = new Map<string, string>();
  private memoryBytes = 0;
  private readonly loading = new Map<string, Promise<string>>();

  constructor(
    private readonly store: CodeStore,
    private readonly dir: string,
    private readonly maxMemoryBytes = 64 * 1024 * 1024,
  ) {}

  async get(sha256: string, s3Key: string): Promise<string> {
    const hit = this.memory.get(sha256);
    if (hit !== undefined) {
      // Map order is insertion order: re-insert to mark as recently used.
      this.memory.delete(sha256);
      this.memory.set(sha256, hit);
      return hit;
    }
    let load = this.loading.get(sha256);
    if (!load) {
      load = this.load(sha256, s3Key).finally(() => this.loading.delete(sha256));
      this.loading.set(sha256, load);
    }
    return load;
  }

  private async load(sha256: string, s3Key: string): Promise<string> {
    const file = path.join(this.dir, sha256);
    let bytes: Uint8Array | undefined = await fs.readFile(file).catch(() => undefined);
    if (!bytes || hashOf(bytes) !== sha256) {
      try {
        bytes = await this.store.get(s3Key);
      } catch (error) {
        if (!(error instanceof StorageUnreachableError)) throw error;
        throw new CodeUnavailableError(
          `This version's code is not cached on the host and ${error.message}`,
          { cause: error },
        );
      }
      if (hashOf(bytes) !== sha256) {
        throw new Error(`Stored code for ${s3Key} does not match its sha256`);
      }
      await fs.mkdir(this.dir, { recursive: true });
      // Unique, so that another process filling the same folder cannot rename it away.
      const temp = `${file}.${randomUUID()}.tmp`;
      await fs.writeFile(temp, bytes);
      await fs.rename(temp, file);
    }
    const text = new TextDecoder().decode(bytes);
    this.remember(sha256, text);
    return text;
  }

  private remember(sha256: string, text: string) {
    this.memory.set(sha256, text);
    this.memoryBytes += text.length;
    for (const [key, value] of this.memory) {
      if (this.memoryBytes <= this.maxMemoryBytes) break;
      this.memory.delete(key);
      this.memoryBytes -= value.length;
    }
  }
}

function hashOf(bytes: Uint8Array) {
  return createHash("sha256").update(bytes).digest("hex");
}
