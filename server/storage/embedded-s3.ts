import fs from "node:fs/promises";
import type { AddressInfo } from "node:net";
import S3rver from "s3rver";

export interface EmbeddedS3 {
  endpoint: string;
  accessKeyId: string;
  secretAccessKey: string;
  stop(): Promise<void>;
}

/**
 * The default object store when no S3 is configured: s3rver, a real
 * S3-protocol server, in this process, keeping objects under DATA_DIR/s3. The
 * code talks to it exactly as to AWS S3, so there is only one storage path.
 * It listens on a random loopback port (nothing else needs to reach it).
 */
export async function startEmbeddedS3(options: {
  dir: string;
  bucket: string;
  /** 0 (the default) picks a free one. */
  port?: number;
}): Promise<EmbeddedS3> {
  await fs.mkdir(options.dir, { recursive: true });
  const server = new S3rver({
    address: "127.0.0.1",
    port: options.port ?? 0,
    directory: options.dir,
    silent: true,
    configureBuckets: [{ name: options.bucket, configs: [] }],
  });
  // run() resolves to the listening socket's address.
  const { port } = (await server.run()) as unknown as AddressInfo;
  return {
    endpoint: `http://127.0.0.1:${port}`,
    // s3rver's fixed development credentials.
    accessKeyId: "S3RVER",
    secretAccessKey: "S3RVER",
    stop: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
