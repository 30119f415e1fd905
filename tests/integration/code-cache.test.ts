import { createHash } from "node:crypto";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { CodeCache } from "../../server/functions/code-cache";
import { CodeStore } from "../../server/storage/code-store";
import { type EmbeddedS3, startEmbeddedS3 } from "../../server/storage/embedded-s3";

// The host's code cache against a real S3-protocol server (s3rver): what many
// cold starts of one version at once do (the cluster benchmark found two of
// them renaming the same temporary file, and one call answered 500).

const BUCKET = "cloudless-code";
let s3: EmbeddedS3;
let store: CodeStore;
const dirs: string[] = [];

function tempDir(prefix: string) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), prefix));
  dirs.push(dir);
  return dir;
}

async function upload(text: string) {
  const bytes = new TextEncoder().encode(text);
  const sha256 = createHash("sha256").update(bytes).digest("hex");
  const key = `user/fn/${sha256}`;
  await store.put(key, bytes, sha256);
  return { sha256, key };
}

beforeAll(async () => {
  s3 = await startEmbeddedS3({ dir: tempDir("cloudless-test-s3-"), bucket: BUCKET });
  store = new CodeStore({
    bucket: BUCKET,
    region: "us-east-1",
    endpoint: s3.endpoint,
    accessKeyId: s3.accessKeyId,
    secretAccessKey: s3.secretAccessKey,
    forcePathStyle: true,
  });
});
afterAll(async () => {
  await s3?.stop();
  for (const dir of dirs) fs.rmSync(dir, { recursive: true, force: true });
});

describe("code cache", () => {
  it("serves 32 simultaneous cold starts of one version from one download", async () => {
    const code = `def handler(event):\n    return ${JSON.stringify("x".repeat(50_000))}\n`;
    const { sha256, key } = await upload(code);
    const dir = tempDir("cloudless-code-cache-");
    const cache = new CodeCache(store, dir);
    const downloads = vi.spyOn(store, "get");
    const results = await Promise.allSettled(
      Array.from({ length: 32 }, () => cache.get(sha256, key)),
    );
    expect(results.filter((r) => r.status === "rejected")).toEqual([]);
    expect(new Set(results.map((r) => (r as PromiseFulfilledResult<string>).value))).toEqual(
      new Set([code]),
    );
    expect(downloads).toHaveBeenCalledTimes(1);
    downloads.mockRestore();
    // One file, named by its hash; no temporary file left behind.
    expect(fs.readdirSync(dir)).toEqual([sha256]);
    expect(fs.readFileSync(path.join(dir, sha256), "utf8")).toBe(code);
  });

  it("lets two caches fill one folder at once (as two processes on one DATA_DIR would)", async () => {
    const code = "exports.handler = async () => ({ ok: true });\n";
    const { sha256, key } = await upload(code);
    const dir = tempDir("cloudless-code-cache-");
    const caches = [new CodeCache(store, dir), new CodeCache(store, dir)];
    const results = await Promise.allSettled(
      Array.from({ length: 16 }, (_, i) => caches[i % 2]!.get(sha256, key)),
    );
    expect(results.filter((r) => r.status === "rejected")).toEqual([]);
    expect(fs.readdirSync(dir)).toEqual([sha256]);
  });

  it("replaces a damaged file in the folder with the stored code", async () => {
    const code = "def handler(event):\n    return 1\n";
    const { sha256, key } = await upload(code);
    const dir = tempDir("cloudless-code-cache-");
    fs.writeFileSync(path.join(dir, sha256), "tampered");
    expect(await new CodeCache(store, dir).get(sha256, key)).toBe(code);
    expect(fs.readFileSync(path.join(dir, sha256), "utf8")).toBe(code);
  });
});
