import { createHash } from "node:crypto";
import {
  DeleteObjectsCommand,
  GetObjectCommand,
  HeadObjectCommand,
  ListObjectsV2Command,
  NoSuchKey,
  NotFound,
  PutObjectCommand,
  S3Client,
} from "@aws-sdk/client-s3";

export interface S3Settings {
  bucket: string;
  region: string;
  endpoint?: string;
  accessKeyId?: string;
  secretAccessKey?: string;
  forcePathStyle: boolean;
}

export class StorageError extends Error {}

/** The S3 server could not be reached at all (no HTTP answer): an outage, not a refusal. */
export class StorageUnreachableError extends StorageError {}

/**
 * Function code in S3: one object per (user, function, content hash). Every
 * write is read back and checked (size and sha256), because some S3-compatible
 * servers store streamed bodies wrongly when the SDK adds checksums
 * (STACK.md); checksums are therefore only sent when an operation requires them.
 */
export class CodeStore {
  readonly client: S3Client;

  constructor(readonly settings: S3Settings) {
    // The SDK warns once per process that releases after January 2027 need Node 22;
    // the version we pin works on Node 20, and the warning would only alarm users.
    process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= "true";
    this.client = new S3Client({
      region: settings.region,
      endpoint: settings.endpoint,
      forcePathStyle: settings.forcePathStyle,
      credentials:
        settings.accessKeyId && settings.secretAccessKey
          ? { accessKeyId: settings.accessKeyId, secretAccessKey: settings.secretAccessKey }
          : undefined,
      requestChecksumCalculation: "WHEN_REQUIRED",
      responseChecksumValidation: "WHEN_REQUIRED",
      // An unreachable server must fail an upload or a cold start quickly, not hang it.
      requestHandler: { connectionTimeout: 3000, requestTimeout: 30_000 },
    });
  }

  /** Awaits a command; no HTTP answer at all (refused, reset, timed out) becomes StorageUnreachableError. */
  private async reach<T>(request: Promise<T>): Promise<T> {
    try {
      return await request;
    } catch (error) {
      const answered = (error as { $metadata?: { httpStatusCode?: number } }).$metadata
        ?.httpStatusCode;
      if (answered) throw error;
      throw new StorageUnreachableError(
        `Object storage is unreachable (${(error as Error).message || (error as Error).name}); try again shortly.`,
        { cause: error },
      );
    }
  }

  static keyFor(userId: string, functionId: string, sha256: string, extension: string): string {
    return `users/${userId}/functions/${functionId}/${sha256}.${extension}`;
  }

  static prefixFor(userId: string, functionId: string): string {
    return `users/${userId}/functions/${functionId}/`;
  }

  /** Stores `code` under `key` unless an identical object is already there; verifies what was stored. */
  async put(key: string, code: Uint8Array, sha256: string): Promise<{ created: boolean }> {
    if (await this.hasObject(key, code.byteLength)) return { created: false };
    await this.reach(
      this.client.send(
        new PutObjectCommand({
          Bucket: this.settings.bucket,
          Key: key,
          Body: code,
          ContentLength: code.byteLength,
          ContentType: "text/plain; charset=utf-8",
          Metadata: { sha256 },
        }),
      ),
    );
    const stored = await this.get(key);
    const storedHash = createHash("sha256").update(stored).digest("hex");
    if (stored.byteLength !== code.byteLength || storedHash !== sha256) {
      await this.deleteKeys([key]).catch(() => {});
      throw new StorageError(
        `Object storage kept ${stored.byteLength} bytes (sha256 ${storedHash.slice(0, 12)}…) for ${code.byteLength} sent (${sha256.slice(0, 12)}…); the upload was discarded`,
      );
    }
    return { created: true };
  }

  async get(key: string): Promise<Uint8Array> {
    try {
      const result = await this.reach(
        this.client.send(new GetObjectCommand({ Bucket: this.settings.bucket, Key: key })),
      );
      if (!result.Body) throw new StorageError(`Object ${key} has no body`);
      return await result.Body.transformToByteArray();
    } catch (error) {
      if (error instanceof NoSuchKey)
        throw new StorageError(`Object ${key} is missing from storage`);
      throw error;
    }
  }

  async hasObject(key: string, size?: number): Promise<boolean> {
    try {
      const head = await this.reach(
        this.client.send(new HeadObjectCommand({ Bucket: this.settings.bucket, Key: key })),
      );
      return size === undefined || head.ContentLength === size;
    } catch (error) {
      if (error instanceof NotFound || (error as { name?: string }).name === "NotFound")
        return false;
      throw error;
    }
  }

  /** Deletes every object under a prefix (a whole function). */
  async deletePrefix(prefix: string): Promise<number> {
    let deleted = 0;
    let token: string | undefined;
    do {
      const page = await this.reach(
        this.client.send(
          new ListObjectsV2Command({
            Bucket: this.settings.bucket,
            Prefix: prefix,
            ContinuationToken: token,
          }),
        ),
      );
      const keys = (page.Contents ?? []).map((o) => o.Key).filter((k): k is string => Boolean(k));
      await this.deleteKeys(keys);
      deleted += keys.length;
      token = page.IsTruncated ? page.NextContinuationToken : undefined;
    } while (token);
    return deleted;
  }

  async deleteKeys(keys: string[]): Promise<void> {
    if (keys.length === 0) return;
    const result = await this.reach(
      this.client.send(
        new DeleteObjectsCommand({
          Bucket: this.settings.bucket,
          Delete: { Objects: keys.map((Key) => ({ Key })), Quiet: true },
        }),
      ),
    );
    if (result.Errors && result.Errors.length > 0) {
      throw new StorageError(
        `Could not delete ${result.Errors.length} object(s): ${result.Errors[0]?.Message}`,
      );
    }
  }

  destroy() {
    this.client.destroy();
  }
}
